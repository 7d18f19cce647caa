using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Realtime.Server.Bus;

internal static class BusSetup
{
    public const string RedisConnectionStringName = "Redis";

    /// <summary>With <c>ConnectionStrings__Redis</c>: the Redis bus (many nodes); without: the in-process bus (one node).</summary>
    public static WebApplicationBuilder AddBus(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<NodeIdentity>();
        var redis = builder.Configuration.GetConnectionString(RedisConnectionStringName);
        if (string.IsNullOrWhiteSpace(redis))
        {
            builder.Services.AddSingleton<IMessageBus, InProcessBus>();
            return builder;
        }

        builder.Services.AddOptions<RedisOptions>().BindConfiguration(RedisOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton(sp => new RedisChannels(sp.GetRequiredService<IOptions<RedisOptions>>().Value.ChannelPrefix));
        builder.Services.AddSingleton(_ =>
        {
            var options = ConfigurationOptions.Parse(redis);
            options.AbortOnConnectFail = false; // start (and serve) while Redis is down
            options.BacklogPolicy = BacklogPolicy.FailFast; // a publish while down is lost, not queued: PostgreSQL has it
            return ConnectionMultiplexer.Connect(options);
        });
        builder.Services.AddSingleton<RedisBus>();
        builder.Services.AddSingleton<IMessageBus>(sp => sp.GetRequiredService<RedisBus>());
        builder.Services.AddHostedService(sp => sp.GetRequiredService<RedisBus>());
        return builder;
    }
}
