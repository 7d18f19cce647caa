using System.Security.Claims;
using Microsoft.AspNetCore.Http;
using Realtime.Server.Operations;

namespace Realtime.Server.Tests.Operations;

/// <summary>An authenticated long-lived request's parsed query no longer holds its access token; the rest of it stays.</summary>
public sealed class QueryAccessTokenTests
{
    [Fact]
    public void AnAuthenticatedHubRequestForgetsItsAccessTokenAndKeepsItsConnectionToken()
    {
        var context = Request("/hubs/notifications", "?id=abc%2Bd&access_token=secret.jwt.value", authenticated: true);

        QueryAccessToken.Forget(context);

        Assert.False(context.Request.Query.ContainsKey("access_token"));
        Assert.Equal("abc+d", context.Request.Query["id"].ToString());
        Assert.DoesNotContain("secret", context.Request.QueryString.Value, StringComparison.Ordinal);
    }

    [Fact]
    public void AQueryOfOnlyTheAccessTokenBecomesEmpty()
    {
        var context = Request("/api/notifications/stream", "?access_token=secret.jwt.value", authenticated: true);

        QueryAccessToken.Forget(context);

        Assert.Empty(context.Request.Query);
        Assert.False(context.Request.QueryString.HasValue);
    }

    [Theory]
    [InlineData("/hubs/notifications", false)] // not authenticated: the handler may still need to read it
    [InlineData("/api/notifications", true)] // a token in this URL is not accepted at all
    public void OtherRequestsKeepTheirQueryAsReceived(string path, bool authenticated)
    {
        var context = Request(path, "?access_token=secret.jwt.value", authenticated);

        QueryAccessToken.Forget(context);

        Assert.Equal("secret.jwt.value", context.Request.Query["access_token"].ToString());
    }

    private static DefaultHttpContext Request(string path, string query, bool authenticated)
    {
        var context = new DefaultHttpContext();
        context.Request.Path = path;
        context.Request.QueryString = new QueryString(query);
        context.User = authenticated ? new ClaimsPrincipal(new ClaimsIdentity([new Claim("sub", "u1")], "test")) : new ClaimsPrincipal(new ClaimsIdentity());
        return context;
    }
}
