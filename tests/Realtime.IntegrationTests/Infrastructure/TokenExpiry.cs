namespace Realtime.IntegrationTests.Infrastructure;

/// <summary>The contract's "a token that expires while connected: the server closes that connection".</summary>
public static class TokenExpiry
{
    private static readonly TimeSpan CloseTimeout = TimeSpan.FromSeconds(15);

    /// <summary>
    /// Connects one hub client with a token minted (by <paramref name="mintExpiringAt"/>) to expire in
    /// 3 s and one with <paramref name="lastingToken"/>; asserts the first is closed once its token
    /// expires, not before, while the second stays open.
    /// </summary>
    public static async Task AssertTheHubClosesAtExpiryAsync(RealtimeServer server, Func<DateTime, string> mintExpiringAt, string lastingToken)
    {
        var expires = DateTime.UtcNow.AddSeconds(3);
        await using var expiring = await server.ConnectHubAsync(mintExpiringAt(expires));
        await using var lasting = await server.ConnectHubAsync(lastingToken);
        await expiring.InvokeAsync("Resume", 0);

        await expiring.Closed.WaitAsync(CloseTimeout);

        // exp is whole seconds, so the token may end up to a second before `expires`.
        Assert.True(DateTime.UtcNow >= expires.AddSeconds(-1), $"Closed before the token expired ({expires:O}).");
        Assert.False(lasting.Closed.IsCompleted, "A connection whose token is still valid stays open.");
        await lasting.InvokeAsync("Resume", 0);
    }
}
