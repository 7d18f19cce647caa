using System.Security.Claims;
using System.Text;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Realtime.Server.Auth;

namespace Realtime.Server.Demo;

/// <summary>Mints the HS256 tokens the server accepts (<c>Auth__SigningKey</c>, issuer, audience) for the demo page.</summary>
internal sealed class DemoTokenIssuer(IOptions<AuthOptions> options, TimeProvider time)
{
    /// <summary>Short, so that the page shows its token factory renewing tokens on reconnects.</summary>
    public const int DefaultTtlSeconds = 3600;
    public const int MinTtlSeconds = 5;
    public const int MaxTtlSeconds = 86_400;

    public bool CanIssue => !string.IsNullOrEmpty(options.Value.SigningKey);

    public (string Token, DateTimeOffset ExpiresAt) Issue(string userId, bool admin, int ttlSeconds)
    {
        var auth = options.Value;
        var now = time.GetUtcNow();
        var expires = now.AddSeconds(ttlSeconds);
        var claims = new List<Claim> { new(ClaimsPrincipalExtensions.SubjectClaim, userId) };
        if (admin)
        {
            // An admin of the demo may broadcast, look at presence and stats, and send to anyone.
            claims.Add(new Claim(ClaimsPrincipalExtensions.RoleClaim, Roles.Admin));
            claims.Add(new Claim("scope", $"{Scopes.Send} {Scopes.Broadcast}"));
        }
        var descriptor = new SecurityTokenDescriptor
        {
            Subject = new ClaimsIdentity(claims),
            Issuer = auth.Issuer,
            Audience = auth.Audience,
            IssuedAt = now.UtcDateTime,
            NotBefore = now.UtcDateTime,
            Expires = expires.UtcDateTime,
            SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(Encoding.UTF8.GetBytes(auth.SigningKey!)), SecurityAlgorithms.HmacSha256),
        };
        return (new JsonWebTokenHandler().CreateToken(descriptor), expires);
    }
}
