namespace Realtime.Server.Templates;

/// <summary>One locale's texts, parsed; <see cref="Problem"/> when a text no longer parses (it did when saved).</summary>
internal sealed record CompiledLocale(string Locale, ParsedTemplate? Title, ParsedTemplate? Body, ParsedTemplate? Link, string? Problem)
{
    /// <summary>Variables the locale's texts cannot render without.</summary>
    public IEnumerable<string> Required =>
        new[] { Title, Body, Link }.SelectMany(t => t?.Required ?? []).Distinct(StringComparer.Ordinal);
}

/// <summary>A template at one version, parsed once: what every send of that version renders from.</summary>
internal sealed class CompiledTemplate
{
    private CompiledTemplate(StoredTemplate stored, Dictionary<string, CompiledLocale> locales)
    {
        Key = stored.Key;
        Version = stored.Version;
        Definition = stored.Definition;
        Locales = locales;
    }

    public string Key { get; }

    public int Version { get; }

    public TemplateDefinition Definition { get; }

    /// <summary>Keyed by the locale as the template spells it.</summary>
    public IReadOnlyDictionary<string, CompiledLocale> Locales { get; }

    public static CompiledTemplate Compile(StoredTemplate stored, TemplateEngine engine)
    {
        var locales = new Dictionary<string, CompiledLocale>(StringComparer.Ordinal);
        foreach (var (locale, texts) in stored.Definition.Locales)
        {
            string? problem = null;
            ParsedTemplate? Parse(string field, string? source)
            {
                if (source is null)
                {
                    return null;
                }
                var (parsed, error) = engine.Parse(source);
                problem ??= error is null ? null : $"locales.{locale}.{field} does not parse: {error}";
                return parsed;
            }
            locales[locale] = new CompiledLocale(locale, Parse("title", texts.Title), Parse("body", texts.Body), Parse("link", texts.Link), problem);
        }
        return new CompiledTemplate(stored, locales);
    }
}
