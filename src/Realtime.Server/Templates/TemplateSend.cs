using System.Text;
using System.Text.Json;
using Realtime.Server.Notifications;

namespace Realtime.Server.Templates;

/// <summary>
/// The template part of a send (<c>template</c>, <c>variables</c>, <c>locale</c>), validated.
/// <see cref="Version"/> is the template version the send renders, set once it is looked up; the
/// idempotency hash covers key, version, variables and locale instead of the rendered texts.
/// </summary>
internal sealed record TemplateSend(
    string Key,
    string? VariablesJson,
    JsonElement? Variables,
    string? Locale,
    bool CategoryGiven,
    bool PriorityGiven,
    bool TtlGiven,
    int Version = 0)
{
    /// <summary>
    /// Checks the template fields of <paramref name="request"/> (part of <see cref="SendRequestValidator"/>):
    /// null when it is a direct send. A template replaces title, body and link: giving both is a 400.
    /// </summary>
    public static TemplateSend? Check(SendRequest request, bool broadcast, Action<string, string> fail)
    {
        if (request.Template is null)
        {
            if (request.Variables is { ValueKind: not JsonValueKind.Null })
            {
                fail("variables", "variables go with a template.");
            }
            if (request.Locale is not null)
            {
                fail("locale", "locale goes with a template.");
            }
            return null;
        }

        if (broadcast)
        {
            fail("template", "Broadcasts take title, body and link, not a template.");
        }
        foreach (var (field, value) in new[] { ("title", request.Title), ("body", request.Body), ("link", request.Link) })
        {
            if (value is not null)
            {
                fail(field, $"Give either a template or {field} (title, body, link), not both.");
            }
        }
        if (!TemplateValidator.IsValidKey(request.Template))
        {
            fail("template", $"template must be a template key: 1 to {TemplateValidator.MaxKeyLength} of a-z, 0-9, '.', '_', '-'.");
        }

        string? variablesJson = null;
        if (request.Variables is { ValueKind: not JsonValueKind.Null } variables)
        {
            if (variables.ValueKind != JsonValueKind.Object)
            {
                fail("variables", "variables must be a JSON object.");
            }
            else
            {
                variablesJson = SendRequestValidator.Minify(variables);
                if (Encoding.UTF8.GetByteCount(variablesJson) > SendRequestValidator.MaxDataBytes)
                {
                    fail("variables", $"variables must be at most {SendRequestValidator.MaxDataBytes} bytes of JSON.");
                }
            }
        }

        if (request.Locale is not null && !LocaleChain.IsValidTag(request.Locale))
        {
            fail("locale", "locale must be a BCP 47 language tag (e.g. en, de-AT).");
        }

        return new TemplateSend(request.Template, variablesJson, request.Variables, request.Locale,
            request.Category is not null, request.Priority is not null, request.TtlSeconds is not null);
    }

    /// <summary>What the idempotency hash takes in place of the title, body and link.</summary>
    public void WriteHashFields(Utf8JsonWriter writer)
    {
        writer.WriteStringValue("template");
        writer.WriteStringValue(Key);
        writer.WriteNumberValue(Version);
        writer.WriteStringValue(VariablesJson);
        writer.WriteStringValue(Locale);
    }
}

/// <summary>One recipient's text of a template send.</summary>
internal sealed record RenderedText(string Title, string? Body, string? Link);
