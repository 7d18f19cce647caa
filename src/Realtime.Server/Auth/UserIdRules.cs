namespace Realtime.Server.Auth;

/// <summary>
/// What a user id may be, wherever one comes from (a token's <c>sub</c>, a recipient of a send):
/// 1–200 characters, no lone UTF-16 surrogates (PostgreSQL text is UTF-8) and no control
/// characters (C0, DEL and C1, NUL included: PostgreSQL text cannot hold NUL, and the others
/// only serve to forge log lines and confuse admins). 200 characters are at most 800 bytes of
/// UTF-8, well under what a btree index row may hold, so an id never fails an index.
/// </summary>
internal static class UserIdRules
{
    public const int MaxLength = 200;

    /// <summary>Why <paramref name="userId"/> is not a valid user id, or null when it is.</summary>
    public static string? Problem(string? userId)
    {
        if (string.IsNullOrEmpty(userId) || userId.Length > MaxLength)
        {
            return $"A user id must be 1 to {MaxLength} characters.";
        }
        if (userId.Contains('\0'))
        {
            return "A user id must not contain NUL characters.";
        }
        if (TextRules.HasControlCharacter(userId))
        {
            return "A user id must not contain control characters.";
        }
        if (TextRules.HasLoneSurrogate(userId))
        {
            return "A user id must not contain unpaired UTF-16 surrogates.";
        }
        return null;
    }

    public static bool IsValid(string? userId) => Problem(userId) is null;
}

/// <summary>Checks for text PostgreSQL (or a log line) cannot take as it is.</summary>
internal static class TextRules
{
    /// <summary>C0 (U+0000–U+001F), DEL (U+007F) and C1 (U+0080–U+009F).</summary>
    public static bool HasControlCharacter(string value) =>
        value.AsSpan().IndexOfAnyInRange('\u0000', '\u001F') >= 0 || value.AsSpan().IndexOfAnyInRange('\u007F', '\u009F') >= 0;

    /// <summary>A high surrogate not followed by a low one, or a low one not preceded by a high one: not encodable as UTF-8.</summary>
    public static bool HasLoneSurrogate(string value)
    {
        var span = value.AsSpan();
        var at = span.IndexOfAnyInRange('\uD800', '\uDFFF');
        if (at < 0)
        {
            return false;
        }
        for (var i = at; i < span.Length; i++)
        {
            var c = span[i];
            if (char.IsHighSurrogate(c))
            {
                if (i + 1 >= span.Length || !char.IsLowSurrogate(span[i + 1]))
                {
                    return true;
                }
                i++;
            }
            else if (char.IsLowSurrogate(c))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>Cuts <paramref name="value"/> to at most <paramref name="maxLength"/> characters without splitting a surrogate pair.</summary>
    public static string Truncate(string value, int maxLength)
    {
        if (value.Length <= maxLength)
        {
            return value;
        }
        var end = maxLength;
        if (end > 0 && char.IsHighSurrogate(value[end - 1]))
        {
            end--;
        }
        return value[..end];
    }
}
