namespace Realtime.LoadTest.Clients;

/// <summary>
/// One receiving connection (a hub connection or an SSE stream) of one user. Three implementations:
/// <see cref="LightHubClient"/>, <see cref="OfficialHubClient"/> and <see cref="SseClient"/>.
/// </summary>
internal interface ILiveClient : IAsyncDisposable
{
    /// <summary>The user's index (user id <c>lt{run}-{index}</c>).</summary>
    int Index { get; }

    bool IsConnected { get; }

    /// <summary>The highest notification id this client has received (0: none yet).</summary>
    long LastId { get; }

    /// <summary>Completes when the connection is gone (closed by either side or failed).</summary>
    Task Closed { get; }

    /// <summary>
    /// Connects; with <paramref name="resumeAfter"/>, also catches up from that id (hub: <c>Resume</c>,
    /// SSE: <c>lastEventId</c>) before returning.
    /// </summary>
    Task ConnectAsync(long? resumeAfter, CancellationToken cancellationToken);
}
