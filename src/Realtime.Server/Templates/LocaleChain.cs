using System.Text.RegularExpressions;

namespace Realtime.Server.Templates;

/// <summary>
/// Which of a template's locales a recipient gets: the wanted tag (the send's <c>locale</c>, else the
/// user's preferred one), then ever shorter prefixes of it (<c>de-AT</c> → <c>de</c>), then the
/// template's default. Tags compare case-insensitively, as BCP 47 says.
/// </summary>
internal static partial class LocaleChain
{
    public const int MaxLength = 35;

    /// <summary>A well-formed BCP 47 tag in its plain shape: letters, then subtags of letters and digits.</summary>
    public static bool IsValidTag(string? tag) => tag is { Length: > 0 and <= MaxLength } && TagPattern().IsMatch(tag);

    /// <summary>The locale of <paramref name="available"/> (its own spelling) that <paramref name="wanted"/> falls to.</summary>
    public static string Resolve(string? wanted, IReadOnlyCollection<string> available, string defaultLocale)
    {
        for (var tag = wanted; !string.IsNullOrEmpty(tag); tag = Parent(tag))
        {
            foreach (var locale in available)
            {
                if (string.Equals(locale, tag, StringComparison.OrdinalIgnoreCase))
                {
                    return locale;
                }
            }
        }
        return defaultLocale;
    }

    /// <summary><c>zh-Hant-TW</c> → <c>zh-Hant</c> → <c>zh</c> → null.</summary>
    private static string? Parent(string tag)
    {
        var dash = tag.LastIndexOf('-');
        return dash > 0 ? tag[..dash] : null;
    }

    [GeneratedRegex("^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$", RegexOptions.CultureInvariant)]
    private static partial Regex TagPattern();
}
