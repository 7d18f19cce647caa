using System.Text.Json;
using Realtime.Server.Templates;

namespace Realtime.Server.Notifications;

/// <summary>The body of <c>POST /api/notifications</c>, as sent; <see cref="SendRequestValidator"/> checks it.</summary>
internal sealed class SendRequest
{
    public string? UserId { get; set; }
    public List<string?>? UserIds { get; set; }
    public string? Title { get; set; }
    public string? Body { get; set; }
    public string? Category { get; set; }
    public JsonElement? Data { get; set; }
    public string? Link { get; set; }
    public string? Priority { get; set; }
    public long? TtlSeconds { get; set; }
    public string? IdempotencyKey { get; set; }
    public string? CollapseKey { get; set; }

    // A template send (Templates/): these instead of title, body and link.
    public string? Template { get; set; }
    public JsonElement? Variables { get; set; }
    public string? Locale { get; set; }
}

/// <summary>A send that passed validation: recipients de-duplicated, defaults applied, data minified.</summary>
internal sealed record ValidatedSend(
    IReadOnlyList<string> UserIds,
    string Title,
    string? Body,
    string Category,
    string? DataJson,
    string? Link,
    string Priority,
    long? TtlSeconds,
    string? IdempotencyKey,
    bool Broadcast = false,
    string? CollapseKey = null,
    TemplateSend? Template = null,
    IReadOnlyDictionary<string, RenderedText>? TextByUser = null)
{
    /// <summary>
    /// The text of <paramref name="userId"/>'s notification: a template send renders per locale, so
    /// recipients may differ (<see cref="TextByUser"/>); otherwise every recipient gets the send's own.
    /// </summary>
    public (string Title, string? Body, string? Link) TextFor(string? userId) =>
        userId is not null && TextByUser is not null && TextByUser.TryGetValue(userId, out var text)
            ? (text.Title, text.Body, text.Link)
            : (Title, Body, Link);

    /// <summary>What <paramref name="userId"/>'s notification shows (equal contents of a batch are stored once, see <see cref="NotificationStore"/>).</summary>
    public NotificationContent ContentFor(string? userId)
    {
        var (title, body, link) = TextFor(userId);
        return new(Category, title, body, DataJson, link, Priority);
    }

    /// <summary>
    /// The recipients as requested, when preferences left out some of <see cref="UserIds"/>: the
    /// idempotency hash covers the request as sent, so a retry matches it.
    /// </summary>
    public IReadOnlyList<string>? RequestedUserIds { get; init; }

    /// <summary>How many ids this send takes: one per recipient, or one for a broadcast.</summary>
    public int RowCount => Broadcast ? 1 : UserIds.Count;

    /// <summary>When the notifications of this send, created at <paramref name="createdAt"/>, expire (null: never).</summary>
    public DateTime? ExpiresAt(DateTime createdAt) => TtlSeconds is { } ttl ? createdAt.AddSeconds(ttl) : null;

    /// <summary>What the idempotency check compares: every field that shapes the notifications.</summary>
    public byte[] ComputeHash()
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartArray();
            writer.WriteStartArray();
            foreach (var userId in RequestedUserIds ?? UserIds)
            {
                writer.WriteStringValue(userId);
            }
            writer.WriteEndArray();
            if (Template is not null)
            {
                // Rendered texts depend on recipients' locales, which may change between a call and its retry.
                Template.WriteHashFields(writer);
            }
            else
            {
                writer.WriteStringValue(Title);
                writer.WriteStringValue(Body);
            }
            writer.WriteStringValue(Category);
            writer.WriteStringValue(DataJson);
            if (Template is null)
            {
                writer.WriteStringValue(Link);
            }
            writer.WriteStringValue(Priority);
            if (TtlSeconds is { } ttl) writer.WriteNumberValue(ttl); else writer.WriteNullValue();
            if (CollapseKey is not null) writer.WriteStringValue(CollapseKey);
            writer.WriteEndArray();
        }
        return System.Security.Cryptography.SHA256.HashData(buffer.ToArray());
    }
}

internal sealed record SentNotification(long Id, string UserId);

/// <summary>A recipient the send created nothing for, and why (<c>preferences</c>: they muted the category).</summary>
internal sealed record SuppressedRecipient(string UserId, string Reason);

internal sealed record SendResponse(IReadOnlyList<SentNotification> Notifications, IReadOnlyList<SuppressedRecipient> Suppressed);
