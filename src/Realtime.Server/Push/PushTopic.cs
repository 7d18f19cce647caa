using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.WebUtilities;

namespace Realtime.Server.Push;

/// <summary>
/// The RFC 8030 §5.4 <c>Topic</c> of a collapse key: a push service keeps only the latest
/// undelivered message per topic. A topic is at most 32 characters of the base64url alphabet, so
/// the key is hashed (SHA-256, the first 24 bytes): any key fits, equal keys give equal topics, and
/// the push service never sees the key itself.
/// </summary>
internal static class PushTopic
{
    public const int MaxLength = 32;

    public static string? From(string? collapseKey) => collapseKey is null
        ? null
        : WebEncoders.Base64UrlEncode(SHA256.HashData(Encoding.UTF8.GetBytes(collapseKey)), 0, MaxLength / 4 * 3);
}
