namespace Realtime.Server.Auth;

/// <summary>
/// Where a token may come from the query string: only where browsers cannot set headers
/// (WebSocket and EventSource). Everywhere else a token in a URL would end up in logs and history.
/// </summary>
internal static class AccessTokenQuery
{
    public const string ParameterName = "access_token";

    public static bool IsAllowed(PathString path) =>
        path.StartsWithSegments("/hubs") || path.StartsWithSegments("/api/notifications/stream");
}
