using System.Text.Json;
using System.Text.Json.Serialization;

namespace Realtime.Server.Templates;

/// <summary>The body of <c>PUT /api/templates/{key}</c>, as sent; <see cref="TemplateValidator"/> checks it.</summary>
internal sealed class TemplateDocument
{
    public string? Category { get; set; }
    public string? Priority { get; set; }
    public long? TtlSeconds { get; set; }
    public string? DefaultLocale { get; set; }
    public Dictionary<string, TemplateLocaleDocument?>? Locales { get; set; }

    /// <summary>Fields the contract does not have: each one is a 400.</summary>
    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Unknown { get; set; }
}

/// <summary>One locale's texts, as sent: Liquid sources.</summary>
internal sealed class TemplateLocaleDocument
{
    public string? Title { get; set; }
    public string? Body { get; set; }
    public string? Link { get; set; }

    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Unknown { get; set; }
}

/// <summary>One locale's Liquid sources, validated.</summary>
internal sealed record TemplateTexts(string Title, string? Body, string? Link);

/// <summary>A template that passed validation; stored as JSON and answered by the API.</summary>
internal sealed record TemplateDefinition(
    string? Category,
    string? Priority,
    long? TtlSeconds,
    string DefaultLocale,
    Dictionary<string, TemplateTexts> Locales);

/// <summary>A stored template as the API answers it.</summary>
internal sealed record TemplateResponse(
    string Key,
    int Version,
    string? Category,
    string? Priority,
    long? TtlSeconds,
    string DefaultLocale,
    Dictionary<string, TemplateTexts> Locales,
    DateTime CreatedAt,
    DateTime UpdatedAt);

/// <summary><c>GET /api/templates</c>: templates in key order, a page at a time.</summary>
internal sealed record TemplateListResponse(IReadOnlyList<TemplateResponse> Items, string? NextAfter);
