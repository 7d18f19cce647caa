using System.Security.Claims;
using Realtime.Server.Auth;

namespace Realtime.Server.Tests.Auth;

/// <summary>Scopes come from <c>scope</c> (one space-separated string) or <c>scp</c> (an array: one claim per element).</summary>
public sealed class ClaimsPrincipalExtensionsTests
{
    private static ClaimsPrincipal User(params (string Type, string Value)[] claims) =>
        new(new ClaimsIdentity(claims.Select(c => new Claim(c.Type, c.Value)), authenticationType: "test"));

    [Theory]
    [InlineData("notifications:send")]
    [InlineData("openid notifications:send")]
    [InlineData("notifications:send profile")]
    [InlineData("openid notifications:send profile")]
    [InlineData("openid  notifications:send")]
    public void AScopeInTheSpaceSeparatedScopeClaimIsFound(string scope) =>
        Assert.True(User(("scope", scope)).HasScope(Scopes.Send));

    [Fact]
    public void AScopeInAnScpArrayIsFound() =>
        Assert.True(User(("sub", "svc"), ("scp", "openid"), ("scp", Scopes.Send)).HasScope(Scopes.Send));

    [Fact]
    public void AnScpClaimHoldingASpaceSeparatedStringIsSplitToo() =>
        Assert.True(User(("scp", $"openid {Scopes.Broadcast}")).HasScope(Scopes.Broadcast));

    [Theory]
    [InlineData("notifications:sendx")]
    [InlineData("xnotifications:send")]
    [InlineData("notifications:sen")]
    [InlineData("notifications")]
    [InlineData("notifications:send:all")]
    [InlineData("notifications:sendnotifications:broadcast")]
    [InlineData("Notifications:Send")]
    [InlineData("notifications:broadcast")]
    [InlineData("")]
    public void APartialOrDifferentScopeIsNotTheScope(string scope)
    {
        Assert.False(User(("scope", scope)).HasScope(Scopes.Send));
        Assert.False(User(("scp", scope)).HasScope(Scopes.Send));
    }

    [Fact]
    public void AUserWithoutScopeClaimsHasNoScope() =>
        Assert.False(User(("sub", "alice"), ("role", "admin")).HasScope(Scopes.Send));

    [Theory]
    [InlineData("scopes")]
    [InlineData("role")]
    [InlineData("sub")]
    [InlineData("http://schemas.microsoft.com/identity/claims/scope")]
    public void AScopeInAnotherClaimDoesNotCount(string claimType) =>
        Assert.False(User((claimType, Scopes.Send)).HasScope(Scopes.Send));
}
