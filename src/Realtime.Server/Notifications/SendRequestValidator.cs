using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Realtime.Server.Auth;
using Realtime.Server.Contracts;
using Realtime.Server.Templates;

namespace Realtime.Server.Notifications;

/// <summary>The send rules of the contract. Errors are keyed by the field at fault (camelCase).</summary>
internal static class SendRequestValidator
{
    public const int MaxRecipients = 1_000;
    public const int MaxUserIdLength = UserIdRules.MaxLength;
    public const int MaxTitleLength = 200;
    public const int MaxBodyLength = 4_000;
    public const int MaxCategoryLength = 100;
    public const int MaxDataBytes = 16 * 1024;
    public const int MaxLinkLength = 2_048;
    public const long MaxTtlSeconds = 31_536_000; // one year
    public const int MaxIdempotencyKeyLength = 200;
    public const int MaxCollapseKeyLength = 100;
    public const string DefaultCategory = "general";
    public const string DefaultBroadcastCategory = "system";

    /// <summary>A send to the users named in the request.</summary>
    public static (ValidatedSend? Send, Dictionary<string, string[]> Errors) Validate(SendRequest request) =>
        Validate(request, broadcast: false);

    /// <summary>A system notice for every user: the same fields, without recipients or idempotency key.</summary>
    public static (ValidatedSend? Send, Dictionary<string, string[]> Errors) ValidateBroadcast(SendRequest request) =>
        Validate(request, broadcast: true);

    private static (ValidatedSend? Send, Dictionary<string, string[]> Errors) Validate(SendRequest request, bool broadcast)
    {
        var errors = new Dictionary<string, string[]>();
        void Fail(string field, string message) => errors.TryAdd(field, [message]);

        List<string>? userIds = [];
        if (!broadcast)
        {
            userIds = ValidateRecipients(request, Fail);
        }
        else if (request.UserId is not null || request.UserIds is not null)
        {
            Fail(request.UserId is not null ? "userId" : "userIds", "A broadcast goes to every user: leave out userId and userIds.");
        }
        if (broadcast && request.IdempotencyKey is not null)
        {
            Fail("idempotencyKey", "Broadcasts take no idempotencyKey.");
        }

        var template = TemplateSend.Check(request, broadcast, Fail);
        var title = request.Title;
        if (string.IsNullOrEmpty(title))
        {
            if (template is null)
            {
                Fail("title", "The title is required.");
            }
        }
        else
        {
            CheckText("title", title, MaxTitleLength, Fail);
        }

        if (request.Body is not null)
        {
            CheckText("body", request.Body, MaxBodyLength, Fail);
        }

        var category = request.Category ?? (broadcast ? DefaultBroadcastCategory : DefaultCategory);
        if (request.Category is not null)
        {
            if (request.Category.Length == 0)
            {
                Fail("category", "The category must not be empty.");
            }
            CheckText("category", request.Category, MaxCategoryLength, Fail);
        }

        string? dataJson = null;
        if (request.Data is { ValueKind: not JsonValueKind.Null } data)
        {
            if (data.ValueKind != JsonValueKind.Object)
            {
                Fail("data", "data must be a JSON object.");
            }
            else if (InvalidData(data) is { } problem)
            {
                Fail("data", $"data must not contain {problem}.");
            }
            else
            {
                dataJson = Minify(data);
                if (Encoding.UTF8.GetByteCount(dataJson) + NumberGrowth(data) > MaxDataBytes)
                {
                    Fail("data", $"data must be at most {MaxDataBytes} bytes of JSON (numbers counted as PostgreSQL writes them out: 1e5000 is 5,001 digits).");
                }
            }
        }

        if (request.Link is not null)
        {
            CheckLink("link", request.Link, Fail);
        }

        var priority = request.Priority is null ? NotificationPriority.Normal : NotificationPriority.Normalize(request.Priority);
        if (priority is null)
        {
            Fail("priority", "priority must be one of low, normal, high, urgent.");
        }

        if (request.TtlSeconds is { } ttl && ttl is < 1 or > MaxTtlSeconds)
        {
            Fail("ttlSeconds", $"ttlSeconds must be between 1 and {MaxTtlSeconds}.");
        }

        if (request.IdempotencyKey is not null)
        {
            if (request.IdempotencyKey.Length == 0)
            {
                Fail("idempotencyKey", "idempotencyKey must not be empty.");
            }
            CheckText("idempotencyKey", request.IdempotencyKey, MaxIdempotencyKeyLength, Fail);
        }

        if (request.CollapseKey is not null)
        {
            if (broadcast)
            {
                Fail("collapseKey", "Broadcasts take no collapseKey.");
            }
            else if (request.CollapseKey.Length == 0)
            {
                Fail("collapseKey", "collapseKey must not be empty.");
            }
            CheckText("collapseKey", request.CollapseKey, MaxCollapseKeyLength, Fail);
        }

        if (errors.Count > 0)
        {
            return (null, errors);
        }

        return (new ValidatedSend(userIds!, title ?? "", request.Body, category, dataJson, request.Link, priority!, request.TtlSeconds, request.IdempotencyKey, broadcast, request.CollapseKey, template), errors);
    }

    private static List<string>? ValidateRecipients(SendRequest request, Action<string, string> fail)
    {
        if (request.UserId is not null && request.UserIds is not null)
        {
            fail("userIds", "Give either userId or userIds, not both.");
            return null;
        }

        if (request.UserId is not null)
        {
            return CheckUserId("userId", request.UserId, fail) ? [request.UserId] : null;
        }

        if (request.UserIds is null || request.UserIds.Count == 0)
        {
            fail("userIds", "At least one recipient is required (userId or userIds).");
            return null;
        }

        var distinct = new List<string>(request.UserIds.Count);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < request.UserIds.Count; i++)
        {
            var userId = request.UserIds[i];
            if (userId is null)
            {
                fail("userIds", $"userIds[{i}] must be a string.");
                return null;
            }
            if (!CheckUserId("userIds", userId, fail))
            {
                return null;
            }
            if (seen.Add(userId))
            {
                distinct.Add(userId);
            }
        }

        if (distinct.Count > MaxRecipients)
        {
            fail("userIds", $"At most {MaxRecipients} distinct recipients per request.");
            return null;
        }
        return distinct;
    }

    private static bool CheckUserId(string field, string userId, Action<string, string> fail)
    {
        if (UserIdRules.Problem(userId) is { } problem)
        {
            fail(field, problem);
            return false;
        }
        return true;
    }

    /// <summary>An absolute http(s) URL within the length and character rules.</summary>
    internal static void CheckLink(string field, string value, Action<string, string> fail)
    {
        if (!Uri.TryCreate(value, UriKind.Absolute, out var link) || link.Scheme is not ("http" or "https") || string.IsNullOrEmpty(link.Host))
        {
            fail(field, $"{field} must be an absolute http or https URL.");
        }
        else
        {
            CheckText(field, value, MaxLinkLength, fail);
        }
    }

    internal static void CheckText(string field, string value, int maxLength, Action<string, string> fail)
    {
        if (value.Length > maxLength)
        {
            fail(field, $"{field} must be at most {maxLength} characters.");
        }
        else if (value.Contains('\0'))
        {
            fail(field, $"{field} must not contain NUL characters.");
        }
        else if (TextRules.HasLoneSurrogate(value))
        {
            fail(field, $"{field} must not contain unpaired UTF-16 surrogates.");
        }
    }

    /// <summary>
    /// Compact JSON, escaping only what JSON requires, so the size limit counts what the client
    /// sent (not <c>\u00E9</c> for every é) and the stored data stays as readable as it came.
    /// </summary>
    internal static string Minify(JsonElement data)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            data.WriteTo(writer);
        }
        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    /// <summary>
    /// PostgreSQL's jsonb rejects \u0000 and unpaired surrogates anywhere, in keys and in values,
    /// and numbers its numeric type cannot hold: they are the client's mistake (400), never a
    /// failed transaction shared with other senders.
    /// </summary>
    private static string? InvalidData(JsonElement element)
    {
        try
        {
            return FirstProblem(element);
        }
        catch (InvalidOperationException)
        {
            return "unpaired UTF-16 surrogates";
        }
    }

    /// <summary>How many characters more the numbers of <paramref name="element"/> take once PostgreSQL writes them out.</summary>
    private static long NumberGrowth(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.Object => element.EnumerateObject().Sum(p => NumberGrowth(p.Value)),
        JsonValueKind.Array => element.EnumerateArray().Sum(NumberGrowth),
        JsonValueKind.Number when element.GetRawText() is var raw => Math.Max(0, (JsonbNumbers.StoredLength(raw) ?? 0) - raw.Length),
        _ => 0,
    };

    private static string? FirstProblem(JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    if (property.Name.Contains('\0'))
                    {
                        return "NUL characters";
                    }
                    if (FirstProblem(property.Value) is { } problem)
                    {
                        return problem;
                    }
                }
                return null;
            case JsonValueKind.Array:
                foreach (var item in element.EnumerateArray())
                {
                    if (FirstProblem(item) is { } problem)
                    {
                        return problem;
                    }
                }
                return null;
            case JsonValueKind.String:
                return element.GetString()!.Contains('\0') ? "NUL characters" : null;
            case JsonValueKind.Number:
                return JsonbNumbers.IsStorable(element.GetRawText())
                    ? null
                    : $"numbers PostgreSQL cannot store (at most {JsonbNumbers.MaxIntegerDigits} digits before the decimal point and {JsonbNumbers.MaxFractionDigits} after it)";
            default:
                return null;
        }
    }
}
