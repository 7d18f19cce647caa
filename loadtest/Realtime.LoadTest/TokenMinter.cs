using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Realtime.LoadTest;

/// <summary>
/// Mints HS256 JWTs with the claims of scripts/mint-token.sh (sub, iss, aud, scope, role, iat, nbf,
/// exp), signed with the UTF-8 bytes of the key exactly as given.
/// </summary>
internal sealed class TokenMinter(string signingKey, string? issuer, string? audience)
{
    private static readonly TimeSpan Lifetime = TimeSpan.FromHours(24);
    private static readonly string Header = Base64Url("""{"alg":"HS256","typ":"JWT"}"""u8);
    private readonly byte[] _key = Encoding.UTF8.GetBytes(signingKey);

    public static TokenMinter From(LoadTestOptions options) =>
        options.SigningKey.Length > 0
            ? new TokenMinter(options.SigningKey, options.Issuer, options.Audience)
            : throw new ArgumentException("no signing key: pass --key or set Auth__SigningKey (the server's HS256 key)");

    public string User(string userId) => Mint(userId, scope: null, role: null);

    public string Service() => Mint("loadtest-sender", "notifications:send", role: null);

    public string Admin() => Mint("loadtest-admin", "notifications:broadcast", "admin");

    public string Mint(string subject, string? scope, string? role)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("sub", subject);
            if (issuer is { Length: > 0 }) json.WriteString("iss", issuer);
            if (audience is { Length: > 0 }) json.WriteString("aud", audience);
            if (scope is not null) json.WriteString("scope", scope);
            if (role is not null) json.WriteString("role", role);
            json.WriteNumber("iat", now);
            json.WriteNumber("nbf", now);
            json.WriteNumber("exp", now + (long)Lifetime.TotalSeconds);
            json.WriteEndObject();
        }
        var signingInput = Header + "." + Base64Url(buffer.ToArray());
        var signature = HMACSHA256.HashData(_key, Encoding.ASCII.GetBytes(signingInput));
        return signingInput + "." + Base64Url(signature);
    }

    private static string Base64Url(ReadOnlySpan<byte> bytes) =>
        Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
