using System.Collections.Concurrent;
using Realtime.Server.Auth;

namespace Realtime.Server.Live;

/// <summary>
/// Which user opened each hub connection, by its connection token. With long polling and
/// SignalR's own SSE transport every request on a connection carries the token in <c>?id=</c>,
/// and SignalR serves whoever presents it; <see cref="HubConnectionOwnership"/> lets only the
/// user who opened the connection use it.
/// </summary>
internal sealed class HubConnectionOwners
{
    /// <summary>The query parameter SignalR's HTTP transports carry the connection token in.</summary>
    public const string TokenQueryName = "id";

    private readonly ConcurrentDictionary<string, string> _owners = new(StringComparer.Ordinal);

    public int Count => _owners.Count;

    /// <summary>Records the connection opened with <paramref name="http"/> as <paramref name="userId"/>'s; returns its token (null without one: WebSockets without negotiation).</summary>
    public string? Add(HttpContext? http, string userId)
    {
        if (Token(http) is not { } token)
        {
            return null;
        }
        _owners[token] = userId;
        return token;
    }

    public void Remove(string token) => _owners.TryRemove(token, out _);

    /// <summary>The user who opened the connection with this token, or null when none is known (yet).</summary>
    public string? OwnerOf(string token) => _owners.TryGetValue(token, out var owner) ? owner : null;

    public static string? Token(HttpContext? http) =>
        http?.Request.Query[TokenQueryName].ToString() is { Length: > 0 } token ? token : null;
}

/// <summary>
/// Refuses (404, as for a connection that does not exist, and a Warning in the log) every request
/// on an existing hub connection that does not come from the user who opened it. Runs after
/// authentication, before the hub endpoints.
/// </summary>
internal static partial class HubConnectionOwnership
{
    public static IApplicationBuilder UseHubConnectionOwnership(this IApplicationBuilder app) =>
        app.UseWhen(
            context => context.Request.Path.StartsWithSegments("/hubs") && context.Request.Query.ContainsKey(HubConnectionOwners.TokenQueryName),
            branch => branch.Use(CheckAsync));

    private static Task CheckAsync(HttpContext context, RequestDelegate next)
    {
        var owners = context.RequestServices.GetRequiredService<HubConnectionOwners>();
        if (context.User.Identity?.IsAuthenticated == true
            && HubConnectionOwners.Token(context) is { } token
            && owners.OwnerOf(token) is { } owner
            && !string.Equals(owner, context.User.UserId(), StringComparison.Ordinal))
        {
            var logger = context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(HubConnectionOwnership).FullName!);
            LogRefused(logger, context.User.UserId(), owner, context.Request.Method, context.Connection.RemoteIpAddress?.ToString());
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            context.Response.ContentType = "text/plain";
            return context.Response.WriteAsync("No Connection with that ID");
        }
        return next(context);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refused a {Method} by {UserId} from {RemoteIp} on a hub connection of {OwnerId}: a connection token used by another user")]
    private static partial void LogRefused(ILogger logger, string userId, string ownerId, string method, string? remoteIp);
}
