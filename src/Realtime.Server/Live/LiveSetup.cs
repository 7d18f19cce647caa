using Microsoft.AspNetCore.SignalR;
using Realtime.Server.Bus;
using Realtime.Server.Contracts;
using Realtime.Server.Storage;

namespace Realtime.Server.Live;

internal static class LiveSetup
{
    /// <summary>Longer than any connection's life between two of our own pings, so SignalR's heartbeat writes none.</summary>
    private static readonly TimeSpan SignalRKeepAliveInterval = TimeSpan.FromDays(1);

    public static WebApplicationBuilder AddLive(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<LiveOptions>().BindConfiguration(LiveOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<IUserIdProvider, SubjectUserIdProvider>();
        services.AddSingleton<ConnectionRegistry>();
        services.AddSingleton<HubConnectionOwners>();
        services.AddSingleton<LiveServices>();
        services.AddSingleton<ResumeReader>();
        services.AddHostedService(sp => sp.GetRequiredService<ResumeReader>());
        services.AddSingleton<SequenceStore>();
        services.AddSingleton<UnreadCountRefresher>();
        services.AddHostedService(sp => sp.GetRequiredService<UnreadCountRefresher>());
        services.AddSingleton<KeepAliveScheduler>();
        services.AddSingleton<Dispatcher>();
        services.AddSingleton<Sequencer>();
        services.AddSingleton<IStartupTask>(sp => sp.GetRequiredService<Sequencer>());
        services.AddHostedService(sp => sp.GetRequiredService<Sequencer>());

        // SignalR's own manager, plus direct access to each connection (wins over AddSignalR's open-generic default).
        services.AddSingleton<HubLifetimeManager<NotificationsHub>, LiveHubLifetimeManager>();

        // HubErrorFilter logs failed invocations by whose fault they are (SignalR's own Error line is silenced in LoggingSetup).
        services.AddSignalR(hub =>
            {
                // Pings are KeepAliveScheduler's (Live:HubKeepAliveInterval), spread over the interval; SignalR's
                // heartbeat would write every ping due in one burst a second. Its client timeout stays.
                hub.KeepAliveInterval = SignalRKeepAliveInterval;
                hub.ClientTimeoutInterval = TimeSpan.FromSeconds(30);
                hub.AddFilter<HubErrorFilter>();
            })
            .AddJsonProtocol(json =>
            {
                json.PayloadSerializerOptions.TypeInfoResolverChain.Insert(0, RealtimeJsonContext.Default);
                json.PayloadSerializerOptions.Converters.Add(new UtcTimestampConverter());
            })
            .AddRealtimeMessagePack();
        services.AddOptions<HubOptions>().Configure<Microsoft.Extensions.Options.IOptions<LiveOptions>>(
            (hub, live) => hub.MaximumReceiveMessageSize = live.Value.MaxMessageBytes);
        return builder;
    }

    /// <summary>
    /// Subscribes this node's live delivery to the bus, before the host starts: batches to the
    /// sequencer, per-user events straight to this node's connections (handlers only enqueue), and
    /// a reconnect to a catch-up.
    /// </summary>
    public static WebApplication SubscribeLiveToBus(this WebApplication app)
    {
        var bus = app.Services.GetRequiredService<IMessageBus>();
        var sequencer = app.Services.GetRequiredService<Sequencer>();
        var dispatcher = app.Services.GetRequiredService<Dispatcher>();
        bus.OnBatch(sequencer.Receive);
        bus.OnUserEvent(dispatcher.Deliver);

        // Read-state events of other nodes published during a bus outage are lost; at least every
        // connected client's unread count is made right again once the bus is back.
        var unreadCounts = app.Services.GetRequiredService<UnreadCountRefresher>();
        bus.Disconnected += sequencer.BusDisconnected;
        bus.Reconnected += () =>
        {
            sequencer.BusReconnected();
            unreadCounts.RequestEveryone();
        };
        return app;
    }

    public static WebApplication MapLive(this WebApplication app)
    {
        // Not rate limited (RateLimits.Classify); the request limits' middleware passes the hub's requests on
        // without an async frame, so a long-lived connection holds none of its state.
        app.MapHub<NotificationsHub>(NotificationsHub.Path, options => options.CloseOnAuthenticationExpiration = true);
        app.MapSseApi();
        return app;
    }
}
