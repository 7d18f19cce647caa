using Microsoft.AspNetCore.Http.HttpResults;
using Realtime.Server.Auth;
using Realtime.Server.Live;
using Realtime.Server.Storage;

namespace Realtime.Server.Presence;

internal sealed record PresenceResponse(string UserId, bool Online, IReadOnlyList<PresenceConnection> Connections);

internal sealed record PresenceConnection(string Id, string Node, string Transport, DateTime ConnectedAt, string? UserAgent);

internal sealed record StatsResponse(IReadOnlyList<NodeStats> Nodes, int Connections, int OnlineUsers);

internal sealed record NodeStats(string Id, int Connections, DateTime LastHeartbeat);

/// <summary>
/// <c>GET /api/admin/presence/{userId}</c> and <c>GET /api/admin/stats</c> (role admin): live
/// connections on every node, read from the connection records all nodes keep in PostgreSQL.
/// </summary>
internal static class PresenceApi
{
    public static WebApplicationBuilder AddPresence(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<PresenceOptions>().BindConfiguration(PresenceOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<PresenceStore>();
        services.AddSingleton<PresenceWriter>();
        services.AddSingleton<IStartupTask>(sp => sp.GetRequiredService<PresenceWriter>());
        services.AddHostedService(sp => sp.GetRequiredService<PresenceWriter>());
        return builder;
    }

    /// <summary>Records every connection this node opens and closes, before the host starts.</summary>
    public static WebApplication RecordConnections(this WebApplication app)
    {
        var registry = app.Services.GetRequiredService<ConnectionRegistry>();
        var writer = app.Services.GetRequiredService<PresenceWriter>();
        registry.Added += writer.ConnectionOpened;
        registry.Removed += writer.ConnectionClosed;
        return app;
    }

    public static WebApplication MapPresenceApi(this WebApplication app)
    {
        var admin = app.MapGroup("/api/admin").WithTags("Admin").RequireAuthorization(Policies.Admin);
        admin.MapGet("/presence/{userId}", PresenceAsync);
        admin.MapGet("/stats", StatsAsync);
        return app;
    }

    private static async Task<Results<Ok<PresenceResponse>, ValidationProblem>> PresenceAsync(string userId, PresenceStore store, CancellationToken cancellationToken)
    {
        if (UserIdRules.Problem(userId) is { } problem)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["userId"] = [problem] });
        }
        var connections = await store.LiveConnectionsAsync(userId, cancellationToken);
        return TypedResults.Ok(new PresenceResponse(userId, connections.Count > 0, connections));
    }

    private static async Task<Ok<StatsResponse>> StatsAsync(PresenceStore store, CancellationToken cancellationToken) =>
        TypedResults.Ok(await store.StatsAsync(cancellationToken));
}
