namespace Realtime.Server.Bus;

internal static class BusSetup
{
    public static WebApplicationBuilder AddBus(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<NodeIdentity>();
        builder.Services.AddSingleton<IMessageBus, InProcessBus>();
        return builder;
    }
}
