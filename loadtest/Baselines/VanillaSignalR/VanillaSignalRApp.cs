using System.Security.Claims;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.SignalR;
using Microsoft.IdentityModel.Tokens;

namespace Realtime.Baselines.VanillaSignalR;

/// <summary>
/// The baseline: the SignalR notification hub a user would write in an afternoon instead of
/// running Realtime. JWT (HS256, the same Auth__SigningKey / Auth__Issuer / Auth__Audience), one
/// group per user, <c>Clients.All</c> for broadcasts, nothing persisted, no ordering, no resume.
/// With <c>ConnectionStrings:Redis</c> set it scales out as SignalR's documentation says, through
/// the official Redis backplane (several nodes, one Redis); without it, one node.
/// It exposes the endpoints the load test drives, so the same scenarios run against both:
/// <c>/hubs/notifications</c>, <c>POST /api/notifications</c>, <c>POST /api/broadcasts</c>, <c>/health/ready</c>,
/// and <c>/metrics</c> with the runtime's GC figures.
/// </summary>
public static class VanillaSignalRApp
{
    public static async Task Main(string[] args) => await Build(args).RunAsync();

    public static WebApplication Build(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        var key = builder.Configuration["Auth:SigningKey"] ?? throw new InvalidOperationException("set Auth__SigningKey");
        builder.Services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme).AddJwtBearer(options =>
        {
            options.MapInboundClaims = false;
            options.TokenValidationParameters = new TokenValidationParameters
            {
                ValidIssuer = builder.Configuration["Auth:Issuer"],
                ValidAudience = builder.Configuration["Auth:Audience"],
                IssuerSigningKey = new SymmetricSecurityKey(Encoding.UTF8.GetBytes(key)),
                ClockSkew = TimeSpan.FromSeconds(30),
                NameClaimType = "sub",
                RoleClaimType = "role",
            };
            options.Events = new JwtBearerEvents
            {
                OnMessageReceived = context =>
                {
                    if (context.Request.Path.StartsWithSegments("/hubs") && context.Request.Query["access_token"] is { Count: > 0 } token)
                    {
                        context.Token = token;
                    }
                    return Task.CompletedTask;
                },
            };
        });
        builder.Services.AddAuthorizationBuilder()
            .AddPolicy("send", policy => policy.RequireAssertion(c => HasScope(c.User, "notifications:send")))
            .AddPolicy("broadcast", policy => policy.RequireAssertion(c => c.User.IsInRole("admin") || HasScope(c.User, "notifications:broadcast")));
        var signalR = builder.Services.AddSignalR();
        if (builder.Configuration.GetConnectionString("Redis") is { Length: > 0 } redis)
        {
            signalR.AddStackExchangeRedis(redis); // scaled out: every node's sends reach every node's connections
        }
        builder.Services.AddSingleton<IUserIdProvider, SubjectUserIdProvider>();
        builder.Services.AddSingleton<IdSource>();

        var app = builder.Build();
        app.UseAuthentication();
        app.UseAuthorization();
        app.MapHub<NotificationsHub>("/hubs/notifications");
        app.MapPost("/api/notifications", SendAsync).RequireAuthorization("send");
        app.MapPost("/api/broadcasts", BroadcastAsync).RequireAuthorization("broadcast");
        app.MapGet("/health/ready", () => TypedResults.Ok(new { status = "ready" }));
        app.MapGet("/metrics", () => TypedResults.Text(RuntimeMetrics.Prometheus(), "text/plain; version=0.0.4"));
        return app;
    }

    private static async Task<IResult> SendAsync(SendRequest request, IHubContext<NotificationsHub> hub, IdSource ids)
    {
        var userIds = request.UserIds ?? (request.UserId is null ? [] : [request.UserId]);
        if (userIds.Length == 0 || string.IsNullOrEmpty(request.Title))
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["userIds"] = ["userId(s) and title are required"] });
        }
        var sent = new List<SentNotification>(userIds.Length);
        var sends = new List<Task>(userIds.Length);
        foreach (var userId in userIds.Distinct())
        {
            var message = new NotificationMessage(ids.Next(), userId, request.Title, request.Body, request.Data, false, DateTimeOffset.UtcNow);
            sent.Add(new SentNotification(message.Id, userId));
            sends.Add(hub.Clients.Group(NotificationsHub.UserGroup(userId)).SendAsync("notification", message));
        }
        await Task.WhenAll(sends);
        return TypedResults.Created((string?)null, new { notifications = sent });
    }

    private static async Task<IResult> BroadcastAsync(SendRequest request, IHubContext<NotificationsHub> hub, IdSource ids)
    {
        if (string.IsNullOrEmpty(request.Title))
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["title"] = ["title is required"] });
        }
        var message = new NotificationMessage(ids.Next(), null, request.Title, request.Body, request.Data, true, DateTimeOffset.UtcNow);
        await hub.Clients.All.SendAsync("notification", message);
        return TypedResults.Created((string?)null, new { id = message.Id });
    }

    private static bool HasScope(ClaimsPrincipal user, string scope) =>
        user.FindAll("scope").Any(c => c.Value.Split(' ').Contains(scope));
}

/// <summary>One group per user: the usual way to reach every connection of a user with SignalR.</summary>
[Authorize]
public sealed class NotificationsHub : Hub
{
    public static string UserGroup(string userId) => "user:" + userId;

    public override Task OnConnectedAsync() => Groups.AddToGroupAsync(Context.ConnectionId, UserGroup(Context.UserIdentifier!));

    /// <summary>Accepted so the load test's clients run unchanged; nothing is stored, so nothing is replayed.</summary>
    public int Resume(long afterId) => afterId < 0 ? -1 : 0;
}

/// <summary>Ids so clients can tell messages apart (a counter: nothing is stored).</summary>
internal sealed class IdSource
{
    private long _last;

    public long Next() => Interlocked.Increment(ref _last);
}

internal sealed class SubjectUserIdProvider : IUserIdProvider
{
    public string? GetUserId(HubConnectionContext connection) => connection.User.FindFirst("sub")?.Value;
}

internal sealed record SendRequest(string? UserId, string[]? UserIds, string? Title, string? Body, JsonElement? Data);

internal sealed record SentNotification(long Id, string UserId);

internal sealed record NotificationMessage(long Id, string? UserId, string Title, string? Body, JsonElement? Data, bool Broadcast, DateTimeOffset CreatedAt);
