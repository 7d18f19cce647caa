using System.Collections.Concurrent;

namespace Realtime.Server.Operations;

/// <summary>
/// Hands out one logger per category, as ASP.NET's own LoggerFactory does. Serilog's factory makes
/// a new logger (with its own event-id cache, about 700 bytes) on every call, and SignalR, the
/// connection layer and the WebSocket transport ask for loggers for every connection: with this
/// in front an idle connection holds none of its own.
/// </summary>
internal sealed class CachingLoggerFactory(ILoggerFactory inner) : ILoggerFactory
{
    private readonly ConcurrentDictionary<string, ILogger> _loggers = new(StringComparer.Ordinal);

    /// <remarks>Looked up first: <c>GetOrAdd(name, inner.CreateLogger)</c> alone makes a delegate on every call, and the JWT handler asks for its logger on every request.</remarks>
    public ILogger CreateLogger(string categoryName) =>
        _loggers.TryGetValue(categoryName, out var logger) ? logger : _loggers.GetOrAdd(categoryName, inner.CreateLogger);

    public void AddProvider(ILoggerProvider provider)
    {
        inner.AddProvider(provider);
        _loggers.Clear();
    }

    public void Dispose() => inner.Dispose();

    /// <summary>Puts the cache in front of the <see cref="ILoggerFactory"/> registered so far.</summary>
    public static void Decorate(IServiceCollection services)
    {
        var registered = services.Last(d => d.ServiceType == typeof(ILoggerFactory));
        services.Remove(registered);
        services.AddSingleton<ILoggerFactory>(sp => new CachingLoggerFactory(registered.ImplementationFactory is { } factory
            ? (ILoggerFactory)factory(sp)
            : registered.ImplementationInstance as ILoggerFactory ?? (ILoggerFactory)ActivatorUtilities.CreateInstance(sp, registered.ImplementationType!)));
    }
}
