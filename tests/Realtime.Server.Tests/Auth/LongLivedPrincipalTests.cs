using System.Security.Claims;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Realtime.Server.Auth;

namespace Realtime.Server.Tests.Auth;

/// <summary>A connection's principal keeps what a connection reads (user id, roles, scopes, expiry) and nothing of the validated token.</summary>
public sealed class LongLivedPrincipalTests
{
    [Fact]
    public async Task ItKeepsTheUserIdRolesScopesAndExpiryAndDropsTheRest()
    {
        var key = new SymmetricSecurityKey(new byte[32]);
        var handler = new JsonWebTokenHandler { MapInboundClaims = false };
        var token = handler.CreateToken(new SecurityTokenDescriptor
        {
            Claims = new Dictionary<string, object>
            {
                ["sub"] = "u1", ["role"] = "admin", ["scope"] = "notifications:send", ["scp"] = "notifications:broadcast",
                ["email"] = "u1@example.com",
            },
            Expires = new DateTime(2030, 1, 1, 0, 0, 0, DateTimeKind.Utc),
            SigningCredentials = new SigningCredentials(key, SecurityAlgorithms.HmacSha256),
        });
        var validated = await handler.ValidateTokenAsync(token, new TokenValidationParameters
        {
            IssuerSigningKey = key, ValidateIssuer = false, ValidateAudience = false, ValidateLifetime = false,
            NameClaimType = "sub", RoleClaimType = "role",
        });
        var handlerIdentity = Assert.IsType<CaseSensitiveClaimsIdentity>(validated.ClaimsIdentity);
        Assert.NotNull(handlerIdentity.SecurityToken);

        var user = LongLivedPrincipal.From(handlerIdentity);

        Assert.Equal("u1", user.UserId());
        Assert.Equal("u1", user.Identity!.Name);
        Assert.True(user.Identity.IsAuthenticated);
        Assert.True(user.IsInRole("admin"));
        Assert.True(user.HasScope(Scopes.Send));
        Assert.True(user.HasScope(Scopes.Broadcast));
        Assert.Equal("1893456000", user.FindFirst("exp")?.Value);
        Assert.Null(user.FindFirst("email"));
        var identity = Assert.IsType<CaseSensitiveClaimsIdentity>(user.Identity);
        Assert.Null(identity.SecurityToken);
        Assert.All(user.Claims, claim => Assert.Same(identity, claim.Subject));
    }
}
