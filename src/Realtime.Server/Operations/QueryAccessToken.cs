using Microsoft.Extensions.Primitives;
using Realtime.Server.Auth;

namespace Realtime.Server.Operations;

/// <summary>
/// Once a request that may carry its token in the URL (a hub connection, an SSE stream: see
/// <see cref="AccessTokenQuery"/>) is authenticated, its parsed query forgets <c>access_token</c>.
/// Such a request lasts as long as its connection, and the parsed query would hold a copy of the
/// token (~0.5 KB) for all that time; nothing reads it after authentication (the other parameters,
/// SignalR's <c>id</c> among them, stay). Runs right after authentication, without a frame of its own.
/// </summary>
internal static class QueryAccessToken
{
    public static IApplicationBuilder UseQueryAccessTokenRelease(this IApplicationBuilder app) => app.Use(next => context =>
    {
        Forget(context);
        return next(context);
    });

    internal static void Forget(HttpContext context)
    {
        var request = context.Request;
        if (!request.QueryString.HasValue || context.User.Identity?.IsAuthenticated != true || !AccessTokenQuery.IsAllowed(request.Path))
        {
            return;
        }
        var query = request.Query;
        if (!query.ContainsKey(AccessTokenQuery.ParameterName))
        {
            return;
        }
        if (query.Count == 1)
        {
            request.Query = QueryCollection.Empty;
            return;
        }
        var rest = new Dictionary<string, StringValues>(query.Count - 1, StringComparer.OrdinalIgnoreCase);
        foreach (var (key, value) in query)
        {
            if (!string.Equals(key, AccessTokenQuery.ParameterName, StringComparison.OrdinalIgnoreCase))
            {
                rest[key] = value;
            }
        }
        request.Query = new QueryCollection(rest);
    }
}
