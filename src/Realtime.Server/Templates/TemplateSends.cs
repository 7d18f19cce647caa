using Fluid.Values;
using Realtime.Server.Notifications;

namespace Realtime.Server.Templates;

/// <summary>
/// The template step of a send: looks the template up once, so the whole send renders one version
/// however it is edited meanwhile, and has <see cref="TemplateSendRenderer"/> render it.
/// </summary>
internal sealed class TemplateSends(TemplateCache cache, TemplateSendRenderer renderer)
{
    /// <summary>The send ready to append (unchanged when it names no template), or the errors by field.</summary>
    public async Task<(ValidatedSend? Send, Dictionary<string, string[]> Errors)> PrepareAsync(ValidatedSend send, CancellationToken cancellationToken)
    {
        if (send.Template is not { } request)
        {
            return (send, []);
        }
        var template = await cache.GetAsync(request.Key, cancellationToken);
        if (template is null)
        {
            return (null, new Dictionary<string, string[]> { ["template"] = [$"There is no template '{request.Key}'."] });
        }
        return await renderer.RenderAsync(send, template, cancellationToken);
    }
}

/// <summary>
/// Turns a template send into notifications' texts: applies the template's category, priority and
/// TTL where the send gives none, picks each recipient's locale (<see cref="LocaleChain"/>), and
/// renders each locale in use once, checked against the limits of a direct send.
/// </summary>
internal sealed class TemplateSendRenderer(TemplateEngine engine, IRecipientLocales recipientLocales)
{
    /// <summary>The send of <paramref name="template"/> (<paramref name="send"/>'s template) with its texts, or the errors by field.</summary>
    public async Task<(ValidatedSend? Send, Dictionary<string, string[]> Errors)> RenderAsync(ValidatedSend send, CompiledTemplate template, CancellationToken cancellationToken)
    {
        var request = send.Template!;
        var errors = new Dictionary<string, string[]>();
        void Fail(string field, string message) => errors.TryAdd(field, [message]);

        var localeOf = await LocalesAsync(send.UserIds, request.Locale, template, cancellationToken);
        var inUse = localeOf.Values.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        var variables = TemplateEngine.Variables(request.Variables);
        var missing = inUse.SelectMany(l => template.Locales[l].Required)
            .Where(name => !variables.TryGetValue(name, out var value) || value.IsNil())
            .Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        if (missing.Count > 0)
        {
            Fail("variables", $"Missing variables (the template uses them without a default): {string.Join(", ", missing)}.");
            return (null, errors);
        }

        var texts = new Dictionary<string, RenderedText>(StringComparer.Ordinal);
        foreach (var locale in inUse)
        {
            if (await RenderAsync(template.Locales[locale], variables, Fail) is { } text)
            {
                texts[locale] = text;
            }
        }
        if (errors.Count > 0)
        {
            return (null, errors);
        }

        var definition = template.Definition;
        var first = texts[inUse[0]];
        return (send with
        {
            Template = request with { Version = template.Version },
            Category = request.CategoryGiven ? send.Category : definition.Category ?? send.Category,
            Priority = request.PriorityGiven ? send.Priority : definition.Priority ?? send.Priority,
            TtlSeconds = request.TtlGiven ? send.TtlSeconds : definition.TtlSeconds,
            Title = first.Title,
            Body = first.Body,
            Link = first.Link,
            TextByUser = inUse.Count == 1 ? null : localeOf.ToDictionary(p => p.Key, p => texts[p.Value], StringComparer.Ordinal),
        }, errors);
    }

    /// <summary>Each recipient's locale of <paramref name="template"/>: from the send's locale when given, else from their preference.</summary>
    private async Task<Dictionary<string, string>> LocalesAsync(IReadOnlyList<string> userIds, string? sendLocale, CompiledTemplate template, CancellationToken cancellationToken)
    {
        var available = template.Locales.Keys.ToList();
        var defaultLocale = template.Definition.DefaultLocale;
        if (sendLocale is not null)
        {
            var locale = LocaleChain.Resolve(sendLocale, available, defaultLocale);
            return userIds.ToDictionary(u => u, _ => locale, StringComparer.Ordinal);
        }
        var preferred = await recipientLocales.GetAsync(userIds.ToList(), cancellationToken);
        return userIds.ToDictionary(u => u, u => LocaleChain.Resolve(preferred.GetValueOrDefault(u), available, defaultLocale), StringComparer.Ordinal);
    }

    private async Task<RenderedText?> RenderAsync(CompiledLocale locale, IReadOnlyDictionary<string, FluidValue> variables, Action<string, string> fail)
    {
        var path = $"template.locales.{locale.Locale}";
        if (locale.Problem is not null)
        {
            fail(path, locale.Problem);
            return null;
        }
        var failed = false;
        void Fail(string field, string message)
        {
            failed = true;
            fail(field, message);
        }

        var title = await RenderFieldAsync($"{path}.title", locale.Title, SendRequestValidator.MaxTitleLength, variables, Fail);
        if (title is not null)
        {
            if (title.Length == 0)
            {
                Fail($"{path}.title", $"{path}.title renders an empty title: a notification needs one.");
            }
            SendRequestValidator.CheckText($"{path}.title", title, SendRequestValidator.MaxTitleLength, Fail);
        }
        var body = await RenderFieldAsync($"{path}.body", locale.Body, SendRequestValidator.MaxBodyLength, variables, Fail);
        if (!string.IsNullOrEmpty(body))
        {
            SendRequestValidator.CheckText($"{path}.body", body, SendRequestValidator.MaxBodyLength, Fail);
        }
        var link = await RenderFieldAsync($"{path}.link", locale.Link, SendRequestValidator.MaxLinkLength, variables, Fail);
        if (!string.IsNullOrEmpty(link))
        {
            SendRequestValidator.CheckLink($"{path}.link", link, Fail);
        }
        // A text that renders empty is no text: no body, no link.
        return failed ? null : new RenderedText(title!, NullIfEmpty(body), NullIfEmpty(link));
    }

    private async Task<string?> RenderFieldAsync(string field, ParsedTemplate? template, int maxLength, IReadOnlyDictionary<string, FluidValue> variables, Action<string, string> fail)
    {
        if (template is null)
        {
            return null;
        }
        try
        {
            return await engine.RenderAsync(template, variables, maxLength);
        }
        catch (RenderLimitException ex)
        {
            fail(field, ex.OutputTooLong ? $"{field} renders more than {maxLength} characters." : $"{field} cannot be rendered: {ex.Message}");
        }
        catch (InvalidOperationException ex) when (ex.Message.StartsWith("The maximum level of recursion", StringComparison.Ordinal))
        {
            // Fluid's words for both of its bounds.
            fail(field, $"{field} cannot be rendered: it takes more than {TemplateEngine.MaxSteps} steps or nests deeper than {TemplateEngine.MaxRecursion} levels.");
        }
        catch (Exception ex)
        {
            // The engine's own error (a filter given a value it cannot take, say): the template's or the variables' fault, never a 500.
            fail(field, $"{field} cannot be rendered: {ex.Message}");
        }
        return null;
    }

    private static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;
}
