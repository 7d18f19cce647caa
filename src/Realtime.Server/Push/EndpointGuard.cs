using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Options;

namespace Realtime.Server.Push;

/// <summary>A push endpoint this server refuses to contact (SSRF), and why.</summary>
internal sealed class EndpointRefusedException(string reason) : Exception(reason);

/// <summary>
/// Keeps push requests away from this server's own network (SSRF): an endpoint must be
/// <c>https://</c>, on an allowed host (<c>Push__AllowedHosts</c>, when set), and neither name nor
/// resolve to a loopback, private, link-local, unique-local, unspecified or multicast address.
/// Checked when a subscription is stored and again, after DNS resolution, on every connection the
/// push client opens (<see cref="ConnectAsync"/>): the address checked is the address connected to,
/// so DNS rebinding between a check and the connect cannot get around it.
/// <c>Push__AllowInsecureEndpoints=true</c> turns the address and scheme checks off (local testing).
/// </summary>
internal sealed class EndpointGuard(IOptions<PushOptions> options)
{
    /// <summary>Browsers' endpoints are a few hundred characters; anything this long is not one.</summary>
    public const int MaxEndpointLength = 2_048;

    private readonly PushOptions _options = options.Value;
    private readonly IReadOnlyList<string> _allowedHosts = options.Value.AllowedHostSuffixes;

    /// <summary>Resolves host names; tests replace it to make a name resolve to a chosen address.</summary>
    public Func<string, CancellationToken, Task<IPAddress[]>> Resolve { get; set; } = Dns.GetHostAddressesAsync;

    /// <summary>Why this endpoint is refused before any DNS look-up, or null when it may be used.</summary>
    public string? CheckEndpoint(string endpoint)
    {
        if (endpoint.Length > MaxEndpointLength)
        {
            return $"endpoint must be at most {MaxEndpointLength} characters.";
        }
        if (!Uri.TryCreate(endpoint, UriKind.Absolute, out var uri) || uri.Scheme is not ("https" or "http") || string.IsNullOrEmpty(uri.Host))
        {
            return "endpoint must be an absolute https URL.";
        }
        if (!string.IsNullOrEmpty(uri.UserInfo))
        {
            return "endpoint must not carry user information.";
        }
        if (uri.Scheme != Uri.UriSchemeHttps && !_options.AllowInsecureEndpoints)
        {
            return "endpoint must be an https URL.";
        }
        return CheckHost(uri.IdnHost);
    }

    /// <summary>Why this host is refused by name (allow-list, local names, address literals), or null.</summary>
    public string? CheckHost(string host)
    {
        var name = host.TrimEnd('.').ToLowerInvariant();
        if (name.StartsWith('[') && name.EndsWith(']'))
        {
            name = name[1..^1];
        }
        if (_allowedHosts.Count > 0 && !_allowedHosts.Any(suffix => name == suffix || name.EndsWith("." + suffix, StringComparison.Ordinal)))
        {
            return "endpoint's host is not one of the allowed push services.";
        }
        if (_options.AllowInsecureEndpoints)
        {
            return null;
        }
        if (IPAddress.TryParse(name, out var address))
        {
            return IsForbidden(address) ? $"endpoint's address {address} is not public." : null;
        }
        if (name is "localhost" || name.EndsWith(".localhost", StringComparison.Ordinal) || !name.Contains('.'))
        {
            return "endpoint's host must be a public host name.";
        }
        return null;
    }

    /// <summary>
    /// The push client's connect step: resolves the host, refuses it when any of its addresses is
    /// not public, and connects to the checked addresses themselves (no second look-up).
    /// </summary>
    public async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        var host = context.DnsEndPoint.Host;
        if (CheckHost(host) is { } refused)
        {
            throw new EndpointRefusedException(refused);
        }
        var addresses = IPAddress.TryParse(host.Trim('[', ']'), out var literal) ? [literal] : await Resolve(host, cancellationToken);
        if (addresses.Length == 0)
        {
            throw new SocketException((int)SocketError.HostNotFound);
        }
        if (!_options.AllowInsecureEndpoints && addresses.FirstOrDefault(IsForbidden) is { } forbidden)
        {
            throw new EndpointRefusedException($"endpoint's host resolves to {forbidden}, which is not public.");
        }

        Exception? last = null;
        foreach (var address in addresses)
        {
            var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(new IPEndPoint(address, context.DnsEndPoint.Port), cancellationToken);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch (Exception ex) when (ex is SocketException or OperationCanceledException)
            {
                socket.Dispose();
                last = ex;
                if (ex is OperationCanceledException)
                {
                    throw;
                }
            }
        }
        throw last!;
    }

    /// <summary>Loopback, private, shared (CGNAT), link-local, unique-local, site-local, unspecified, multicast or broadcast.</summary>
    public static bool IsForbidden(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }
        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            var b = address.GetAddressBytes();
            return b[0] switch
            {
                0 => true,                                // "this network", unspecified
                10 => true,                               // private
                127 => true,                              // loopback
                100 => b[1] is >= 64 and <= 127,          // shared address space (CGNAT)
                169 => b[1] == 254,                       // link-local (cloud metadata services)
                172 => b[1] is >= 16 and <= 31,           // private
                192 => (b[1] == 168) || (b[1] == 0 && b[2] is 0 or 2) || (b[1] == 88 && b[2] == 99), // private, IETF, TEST-NET-1, 6to4 relay
                198 => b[1] is 18 or 19,                  // benchmarking
                >= 224 => true,                           // multicast, reserved, broadcast
                _ => false,
            };
        }
        if (address.AddressFamily == AddressFamily.InterNetworkV6)
        {
            if (address.Equals(IPAddress.IPv6Loopback) || address.Equals(IPAddress.IPv6None) || address.Equals(IPAddress.IPv6Any))
            {
                return true;
            }
            var b = address.GetAddressBytes();
            if (address.IsIPv6LinkLocal || address.IsIPv6SiteLocal || address.IsIPv6Multicast || (b[0] & 0xFE) == 0xFC)
            {
                return true; // fe80::/10, fec0::/10, ff00::/8, fc00::/7 (unique local)
            }
            if (b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xFF && b[3] == 0x9B)
            {
                return IsForbidden(new IPAddress(b[12..])); // NAT64 64:ff9b::/96 wraps an IPv4 address
            }
            if (b[0] == 0x20 && b[1] == 0x02)
            {
                return IsForbidden(new IPAddress(b[2..6])); // 6to4 2002::/16 wraps an IPv4 address
            }
            return b.Take(12).All(x => x == 0); // IPv4-compatible ::a.b.c.d (deprecated) and ::/96
        }
        return true;
    }
}
