using System.Text;

namespace Realtime.Server.Preferences;

/// <summary>
/// BCP 47 (RFC 5646) language tags: checks that a tag is well formed (language, extlang, script,
/// region, variants, extensions, private use; <c>x-…</c> alone) and writes it in the
/// conventional case (<c>de-at</c> → <c>de-AT</c>, <c>zh-hant-tw</c> → <c>zh-Hant-TW</c>).
/// Whether a subtag is registered is not checked: a template's locales are what the sender names.
/// </summary>
internal static class LanguageTag
{
    /// <summary>RFC 5646 asks implementations to handle at least 35 characters; longer ones are rare and suspect.</summary>
    public const int MaxLength = 64;

    /// <summary>The tag in conventional case, or null when <paramref name="tag"/> is not a well-formed BCP 47 tag.</summary>
    public static string? Normalize(string tag)
    {
        if (tag.Length is 0 or > MaxLength || tag.Any(c => c > 127 || !(char.IsAsciiLetterOrDigit(c) || c == '-')))
        {
            return null;
        }
        var parts = tag.Split('-');
        if (parts.Any(p => p.Length is 0 or > 8))
        {
            return null;
        }
        var result = new StringBuilder(tag.Length);
        var i = 0;
        if (parts[0].Equals("x", StringComparison.OrdinalIgnoreCase))
        {
            return PrivateUse(parts, 0, result) ? result.ToString() : null;
        }

        // language: 2-3 letters (then up to three 3-letter extlangs), or 4-8 letters (registered or reserved)
        if (!IsAlpha(parts[0]) || parts[0].Length < 2)
        {
            return null;
        }
        Append(result, parts[i++].ToLowerInvariant());
        if (parts[0].Length <= 3)
        {
            for (var extlangs = 0; extlangs < 3 && i < parts.Length && parts[i].Length == 3 && IsAlpha(parts[i]); extlangs++)
            {
                Append(result, parts[i++].ToLowerInvariant());
            }
        }
        if (i < parts.Length && parts[i].Length == 4 && IsAlpha(parts[i]))
        {
            Append(result, char.ToUpperInvariant(parts[i][0]) + parts[i][1..].ToLowerInvariant());
            i++;
        }
        if (i < parts.Length && ((parts[i].Length == 2 && IsAlpha(parts[i])) || (parts[i].Length == 3 && parts[i].All(char.IsAsciiDigit))))
        {
            Append(result, parts[i++].ToUpperInvariant());
        }
        var variants = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        while (i < parts.Length && IsVariant(parts[i]))
        {
            if (!variants.Add(parts[i]))
            {
                return null; // a repeated variant is not well formed
            }
            Append(result, parts[i++].ToLowerInvariant());
        }
        var singletons = new HashSet<char>();
        while (i < parts.Length && parts[i].Length == 1 && !parts[i].Equals("x", StringComparison.OrdinalIgnoreCase))
        {
            var singleton = char.ToLowerInvariant(parts[i][0]);
            if (!singletons.Add(singleton))
            {
                return null; // each extension singleton at most once
            }
            Append(result, singleton.ToString());
            i++;
            var start = i;
            while (i < parts.Length && parts[i].Length is >= 2 and <= 8)
            {
                Append(result, parts[i++].ToLowerInvariant());
            }
            if (i == start)
            {
                return null; // an extension needs at least one subtag
            }
        }
        if (i < parts.Length)
        {
            return PrivateUse(parts, i, result) ? result.ToString() : null;
        }
        return result.ToString();
    }

    private static bool PrivateUse(string[] parts, int i, StringBuilder result)
    {
        if (!parts[i].Equals("x", StringComparison.OrdinalIgnoreCase) || i == parts.Length - 1)
        {
            return false;
        }
        Append(result, "x");
        for (i++; i < parts.Length; i++)
        {
            Append(result, parts[i].ToLowerInvariant());
        }
        return true;
    }

    private static bool IsVariant(string part) =>
        (part.Length is >= 5 and <= 8) || (part.Length == 4 && char.IsAsciiDigit(part[0]));

    private static bool IsAlpha(string part) => part.All(char.IsAsciiLetter);

    private static void Append(StringBuilder builder, string subtag)
    {
        if (builder.Length > 0)
        {
            builder.Append('-');
        }
        builder.Append(subtag);
    }
}
