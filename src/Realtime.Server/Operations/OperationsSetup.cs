using Realtime.Server.Contracts;

namespace Realtime.Server.Operations;

internal static class OperationsSetup
{
    public static WebApplicationBuilder AddOperations(this WebApplicationBuilder builder)
    {
        builder.AddLogging();
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddProblemDetails();
        builder.Services.AddExceptionHandler<ExceptionHandling>();
        builder.Services.ConfigureHttpJsonOptions(json =>
        {
            json.SerializerOptions.TypeInfoResolverChain.Insert(0, RealtimeJsonContext.Default);
            json.SerializerOptions.Converters.Add(new UtcTimestampConverter());
        });
        builder.Services.AddOpenApi();
        builder.AddClientAddress();
        builder.AddRateLimits();
        builder.AddCrossOrigin();
        builder.AddConnectionLimit();
        builder.AddListenBacklog();
        return builder;
    }

    /// <summary>The middleware every request passes through, in order.</summary>
    public static WebApplication UseOperations(this WebApplication app)
    {
        app.UseClientAddress();
        app.UseRequestLogging(); // and the correlation id
        app.UseCors();
        // Not for hub connections' upgrade requests, which RequestLogging answers the same way without a frame of each held per connection.
        app.UseWhen(context => !UpgradeRequests.Matches(context), problems =>
        {
            problems.UseExceptionHandler();
            problems.UseStatusCodePages();
        });
        app.UseReadinessGate();
        return app;
    }

    public static WebApplication MapOperationsApi(this WebApplication app)
    {
        app.MapHealthApi();
        app.MapOpenApi().AllowAnonymous();
        return app;
    }
}
