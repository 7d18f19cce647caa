using System.Net;
using Microsoft.AspNetCore.HttpOverrides;

namespace Realtime.Server.Operations;

/// <summary>The proxies (load balancers) whose <c>X-Forwarded-For</c> and <c>X-Forwarded-Proto</c> are believed.</summary>
internal sealed class NetworkOptions
{
    public const string SectionName = "Network";

    /// <summary>Comma-separated IP addresses of trusted proxies, e.g. <c>10.0.0.5,10.0.0.6</c>.</summary>
    public string? KnownProxies { get; set; }

    /// <summary>Comma-separated networks of trusted proxies in CIDR form, e.g. <c>10.0.0.0/8,fd00::/8</c>.</summary>
    public string? KnownNetworks { get; set; }
}

/// <summary>
/// The client's address (rate limits per IP, logs, presence): the connection's peer, or the
/// <c>X-Forwarded-For</c> entry a trusted proxy added. Nothing is trusted by default, not even
/// loopback: a header from anyone else is ignored, so a client cannot choose its own address.
/// Through several trusted proxies the address is the first one none of them is.
/// </summary>
internal static class ClientAddress
{
    public static WebApplicationBuilder AddClientAddress(this WebApplicationBuilder builder)
    {
        var network = builder.Configuration.GetSection(NetworkOptions.SectionName).Get<NetworkOptions>() ?? new NetworkOptions();
        var proxies = Parse(network.KnownProxies, "Network__KnownProxies", "an IP address", text => (IPAddress.TryParse(text, out var address), address!));
        var networks = Parse(network.KnownNetworks, "Network__KnownNetworks", "a CIDR network", text => (System.Net.IPNetwork.TryParse(text, out var value), value));
        if (proxies.Count == 0 && networks.Count == 0)
        {
            return builder; // and no middleware: with empty lists it would believe every peer
        }
        builder.Services.AddSingleton<TrustedProxies>();
        builder.Services.Configure<ForwardedHeadersOptions>(options =>
        {
            options.ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto;
            options.KnownProxies.Clear();
            options.KnownIPNetworks.Clear();
            options.ForwardLimit = null; // walk back through every trusted proxy; the first untrusted address stops it
            foreach (var proxy in proxies)
            {
                options.KnownProxies.Add(proxy);
            }
            foreach (var known in networks)
            {
                options.KnownIPNetworks.Add(known);
            }
        });
        return builder;
    }

    /// <summary>First in the pipeline, so every later step (logs, limits) sees the client's address; only when proxies are configured.</summary>
    public static IApplicationBuilder UseClientAddress(this WebApplication app) =>
        app.Services.GetService<TrustedProxies>() is null ? app : app.UseForwardedHeaders();

    /// <summary>Bad entries stop the start-up with the variable's name, rather than silently trusting less (or more).</summary>
    private static List<T> Parse<T>(string? text, string variable, string what, Func<string, (bool Ok, T Value)> parse)
    {
        var values = new List<T>();
        foreach (var entry in (text ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var (ok, value) = parse(entry);
            values.Add(ok ? value : throw new InvalidOperationException($"{variable}: '{entry}' is not {what}."));
        }
        return values;
    }

    /// <summary>Registered when proxies are configured.</summary>
    private sealed class TrustedProxies;
}
