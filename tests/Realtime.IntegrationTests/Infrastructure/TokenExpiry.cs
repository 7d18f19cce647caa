namespace Realtime.IntegrationTests.Infrastructure;

/// <summary>The contract's "a token that expires while connected: the server closes that connection".</summary>
public static class TokenExpiry
{
    /// <summary>
    /// The expiring token's life: long enough for both connections and a first invocation to be set
    /// up on a loaded machine (with a 3 s life the setup alone could outlast the token under a load average of 30), so the
    /// close the test waits for is the expiry's, not a refused connect.
    /// </summary>
    private static readonly TimeSpan TokenLife = TimeSpan.FromSeconds(8);

    private static readonly TimeSpan CloseTimeout = TimeSpan.FromSeconds(20);

    /// <summary>
    /// Connects one hub client with a token minted (by <paramref name="mintExpiringAt"/>) to expire in
    /// <see cref="TokenLife"/> and one with <paramref name="lastingToken"/>; asserts the first is closed once its token
    /// expires, not before, while the second stays open.
    /// </summary>
    public static async Task AssertTheHubClosesAtExpiryAsync(RealtimeServer server, Func<DateTime, string> mintExpiringAt, string lastingToken)
    {
        var expires = DateTime.UtcNow + TokenLife;
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
