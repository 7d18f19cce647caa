using Realtime.Server.Contracts;
using Realtime.Server.Notifications;

namespace Realtime.Server.Templates;

/// <summary>
/// The template rules of the contract. Errors are keyed by the field at fault (camelCase), for a
/// locale's text by its path (<c>locales.de.title</c>), with the parser's message when it does not parse.
/// Category, priority and ttlSeconds follow the send rules: they are a send's defaults.
/// </summary>
internal static partial class TemplateValidator
{
    public const int MaxKeyLength = 100;
    public const int MaxLocales = 100;
    public const int MaxTitleSourceLength = 1_000;
    public const int MaxBodySourceLength = 16_000;
    public const int MaxLinkSourceLength = 4_000;

    public static bool IsValidKey(string? key) => key is { Length: > 0 and <= MaxKeyLength } && KeyPattern().IsMatch(key);

    public static (TemplateDefinition? Template, Dictionary<string, string[]> Errors) Validate(TemplateDocument document, TemplateEngine engine)
    {
        var errors = new Dictionary<string, string[]>();
        void Fail(string field, string message) => errors.TryAdd(field, [message]);

        foreach (var name in document.Unknown?.Keys ?? Enumerable.Empty<string>())
        {
            Fail(name, $"Unknown field '{name}'.");
        }

        if (document.Category is not null)
        {
            if (document.Category.Length == 0)
            {
                Fail("category", "The category must not be empty.");
            }
            SendRequestValidator.CheckText("category", document.Category, SendRequestValidator.MaxCategoryLength, Fail);
        }

        var priority = document.Priority is null ? null : NotificationPriority.Normalize(document.Priority);
        if (document.Priority is not null && priority is null)
        {
            Fail("priority", "priority must be one of low, normal, high, urgent.");
        }

        if (document.TtlSeconds is { } ttl && ttl is < 1 or > SendRequestValidator.MaxTtlSeconds)
        {
            Fail("ttlSeconds", $"ttlSeconds must be between 1 and {SendRequestValidator.MaxTtlSeconds}.");
        }

        var locales = new Dictionary<string, TemplateTexts>(StringComparer.OrdinalIgnoreCase);
        if (document.Locales is null || document.Locales.Count == 0)
        {
            Fail("locales", "At least one locale is required, e.g. { \"en\": { \"title\": \"…\" } }.");
        }
        else if (document.Locales.Count > MaxLocales)
        {
            Fail("locales", $"At most {MaxLocales} locales.");
        }
        else
        {
            foreach (var (locale, texts) in document.Locales)
            {
                var path = "locales." + Printable(locale);
                if (!LocaleChain.IsValidTag(locale))
                {
                    Fail(path, $"'{Printable(locale)}' is not a BCP 47 language tag (e.g. en, de-AT).");
                }
                else if (locales.ContainsKey(locale))
                {
                    Fail(path, $"The locale '{locale}' is given twice (tags compare case-insensitively).");
                }
                else if (texts is null)
                {
                    Fail(path, "A locale is an object with title, body and link.");
                }
                else if (ValidateTexts(path, texts, engine, Fail) is { } valid)
                {
                    locales[locale] = valid;
                }
            }
        }

        string? defaultLocale = null;
        if (string.IsNullOrEmpty(document.DefaultLocale))
        {
            Fail("defaultLocale", "defaultLocale is required: the locale for recipients whose own has no texts.");
        }
        else if (document.Locales is not { Count: > 0 } given)
        {
            // Reported on locales.
        }
        else if (!given.Keys.Contains(document.DefaultLocale, StringComparer.OrdinalIgnoreCase))
        {
            Fail("defaultLocale", $"defaultLocale must be one of the locales ({string.Join(", ", given.Keys.Take(10).Select(Printable))}).");
        }
        else
        {
            defaultLocale = document.Locales!.Keys.First(k => string.Equals(k, document.DefaultLocale, StringComparison.OrdinalIgnoreCase));
        }

        if (errors.Count > 0)
        {
            return (null, errors);
        }
        var ordered = document.Locales!.Keys.ToDictionary(k => k, k => locales[k], StringComparer.Ordinal);
        return (new TemplateDefinition(document.Category, priority, document.TtlSeconds, defaultLocale!, ordered), errors);
    }

    private static TemplateTexts? ValidateTexts(string path, TemplateLocaleDocument texts, TemplateEngine engine, Action<string, string> fail)
    {
        var valid = true;
        foreach (var name in texts.Unknown?.Keys ?? Enumerable.Empty<string>())
        {
            fail($"{path}.{name}", $"Unknown field '{name}': a locale has title, body and link.");
            valid = false;
        }
        if (string.IsNullOrEmpty(texts.Title))
        {
            fail(path + ".title", "The title is required in every locale.");
            valid = false;
        }
        valid &= CheckSource(path + ".title", texts.Title, MaxTitleSourceLength, engine, fail);
        valid &= CheckSource(path + ".body", texts.Body, MaxBodySourceLength, engine, fail);
        valid &= CheckSource(path + ".link", texts.Link, MaxLinkSourceLength, engine, fail);
        return valid ? new TemplateTexts(texts.Title!, texts.Body, texts.Link) : null;
    }

    private static bool CheckSource(string field, string? source, int maxLength, TemplateEngine engine, Action<string, string> fail)
    {
        if (string.IsNullOrEmpty(source))
        {
            return true;
        }
        var ok = true;
        SendRequestValidator.CheckText(field, source, maxLength, (f, m) => { ok = false; fail(f, m); });
        if (!ok)
        {
            return false;
        }
        var (_, error) = engine.Parse(source);
        if (error is not null)
        {
            fail(field, $"{field} is not a valid template: {error}");
            return false;
        }
        return true;
    }

    /// <summary>A locale key as it may go into a message: short, without control characters.</summary>
    private static string Printable(string value) =>
        new(value.Take(40).Select(c => char.IsControl(c) || char.IsSurrogate(c) ? '?' : c).ToArray());

    [System.Text.RegularExpressions.GeneratedRegex("^[a-z0-9._-]+$", System.Text.RegularExpressions.RegexOptions.CultureInvariant)]
    private static partial System.Text.RegularExpressions.Regex KeyPattern();
}
