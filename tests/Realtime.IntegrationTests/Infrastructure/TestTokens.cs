using System.Text;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Realtime.IntegrationTests.Infrastructure;

/// <summary>Mints real HS256 JWTs for the test servers (and, for the edge cases, wrong ones).</summary>
public sealed class TestTokens(string signingKey, string issuer, string audience)
{
    public const string DefaultSigningKey = "integration-tests-signing-key-0123456789abcdef";
    public const string DefaultIssuer = "realtime-tests";
    public const string DefaultAudience = "realtime";

    public static TestTokens Default { get; } = new(DefaultSigningKey, DefaultIssuer, DefaultAudience);

    public string SigningKey => signingKey;
    public string Issuer => issuer;
    public string Audience => audience;

    public string User(string userId, TimeSpan? lifetime = null) => Mint(userId, lifetime: lifetime);

    public string Service(string sender = "billing-service") => Mint(sender, scope: "notifications:send");

    public string Admin(string userId = "admin") => Mint(userId, roles: ["admin"]);

    public string Mint(
        string? subject,
        string? scope = null,
        IEnumerable<string>? roles = null,
        TimeSpan? lifetime = null,
        DateTime? expires = null,
        DateTime? notBefore = null,
        string? issuerOverride = null,
        string? audienceOverride = null,
        string? keyOverride = null,
        IDictionary<string, object>? extraClaims = null)
    {
        var now = DateTime.UtcNow;
        var claims = new Dictionary<string, object>();
        if (subject is not null) claims["sub"] = subject;
        if (scope is not null) claims["scope"] = scope;
        if (roles is not null) claims["role"] = roles.ToArray();
        foreach (var (key, value) in extraClaims ?? new Dictionary<string, object>())
        {
            claims[key] = value;
        }
        var exp = expires ?? now + (lifetime ?? TimeSpan.FromHours(1));
        var descriptor = new SecurityTokenDescriptor
        {
            Issuer = issuerOverride ?? issuer,
            Audience = audienceOverride ?? audience,
            Claims = claims,
            IssuedAt = (notBefore ?? exp.AddHours(-2)) < now ? (notBefore ?? exp.AddHours(-2)) : now,
            NotBefore = notBefore ?? (exp < now ? exp.AddHours(-1) : now.AddSeconds(-1)),
            Expires = exp,
            SigningCredentials = new SigningCredentials(
                new SymmetricSecurityKey(Encoding.UTF8.GetBytes(keyOverride ?? signingKey)), SecurityAlgorithms.HmacSha256),
        };
        return new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(descriptor);
    }

    /// <summary>An unsigned token (<c>alg: none</c>), which must always be refused.</summary>
    public string Unsigned(string subject)
    {
        static string Encode(string json) => Base64UrlEncoder.Encode(Encoding.UTF8.GetBytes(json));
        var exp = DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeSeconds();
        return Encode("""{"alg":"none","typ":"JWT"}""") + "." +
               Encode($$"""{"sub":"{{subject}}","iss":"{{issuer}}","aud":"{{audience}}","exp":{{exp}}}""") + ".";
    }

}
