using System.Net;
using System.Net.Http.Headers;
using Lib.Net.Http.WebPush;
using Microsoft.Extensions.Options;
using LibPushSubscription = Lib.Net.Http.WebPush.PushSubscription;

namespace Realtime.Server.Push;

/// <summary>The push service's answer to one request, as far as the worker cares.</summary>
internal sealed record PushResponse(int? Status, TimeSpan? RetryAfter, string? Error, bool Refused = false, bool TimedOut = false)
{
    public bool Delivered => Status is 200 or 201 or 202;
}

/// <summary>
/// Sends one push (RFC 8030 request, aes128gcm payload per RFC 8291, VAPID per RFC 8292) through
/// Lib.Net.Http.WebPush's <see cref="PushServiceClient"/>: one client and one <see cref="HttpClient"/>
/// for the node, pooled connections, a timeout on every request, no redirects, no proxy, and every
/// connection checked by <see cref="EndpointGuard"/>.
/// </summary>
internal sealed class PushSender : IDisposable
{
    /// <summary>Error bodies of push services are a line of text; more is not read.</summary>
    public const int MaxErrorBodyBytes = 4 * 1024;

    private readonly HttpClient _http;
    private readonly PushServiceClient _client;
    private readonly VapidKeyStore _keys;

    public PushSender(EndpointGuard guard, VapidKeyStore keys, IOptions<PushOptions> options)
    {
        _keys = keys;
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = guard.ConnectAsync,
            ConnectTimeout = options.Value.RequestTimeout,
            PooledConnectionLifetime = TimeSpan.FromMinutes(5), // DNS changes of push services are picked up
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(1),
            MaxConnectionsPerServer = options.Value.MaxConcurrencyPerHost,
            AllowAutoRedirect = false,
            UseProxy = false,
            UseCookies = false,
            AutomaticDecompression = DecompressionMethods.None,
            MaxResponseHeadersLength = 64, // KiB
            EnableMultipleHttp2Connections = true,
        };
        _http = new HttpClient(new VapidAudienceHandler(keys) { InnerHandler = handler }, disposeHandler: true)
        {
            Timeout = options.Value.RequestTimeout,
        };
        _client = new PushServiceClient(_http) { AutoRetryAfter = false, DefaultAuthenticationScheme = Lib.Net.Http.WebPush.Authentication.VapidAuthenticationScheme.Vapid };
    }

    public async Task<PushResponse> SendAsync(string endpoint, string p256dh, string auth, string payload, int ttlSeconds, string priority, string? topic, CancellationToken cancellationToken)
    {
        var subscription = new LibPushSubscription { Endpoint = endpoint };
        subscription.SetKey(PushEncryptionKeyName.P256DH, p256dh);
        subscription.SetKey(PushEncryptionKeyName.Auth, auth);
        var message = new PushMessage(payload) { TimeToLive = ttlSeconds, Urgency = UrgencyOf(priority), Topic = topic };
        try
        {
            await _client.RequestPushMessageDeliveryAsync(subscription, message, _keys.Authentication, cancellationToken);
            return new PushResponse(201, null, null);
        }
        catch (PushServiceClientException ex)
        {
            var status = (int)ex.StatusCode;
            if (status is 200 or 202)
            {
                return new PushResponse(status, null, null);
            }
            var body = string.IsNullOrWhiteSpace(ex.Body) ? "" : ": " + Truncate(ex.Body.Trim(), 200);
            return new PushResponse(status, RetryAfter(ex.Headers?.RetryAfter), $"push service answered {status}{body}");
        }
        catch (HttpRequestException ex) when (FindRefusal(ex) is { } refused)
        {
            return new PushResponse(null, null, refused.Message, Refused: true);
        }
        catch (HttpRequestException ex)
        {
            return new PushResponse(null, null, $"request failed: {ex.Message}");
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new PushResponse(null, null, "timed out", TimedOut: true);
        }
    }

    /// <summary>low → low, normal → normal, high and urgent → high (RFC 8030 §5.3).</summary>
    public static PushMessageUrgency UrgencyOf(string priority) => priority switch
    {
        "low" => PushMessageUrgency.Low,
        "high" or "urgent" => PushMessageUrgency.High,
        _ => PushMessageUrgency.Normal,
    };

    private static EndpointRefusedException? FindRefusal(Exception? exception)
    {
        for (; exception is not null; exception = exception.InnerException)
        {
            if (exception is EndpointRefusedException refused)
            {
                return refused;
            }
        }
        return null;
    }

    private static TimeSpan? RetryAfter(RetryConditionHeaderValue? value) => value switch
    {
        { Delta: { } delta } => delta,
        { Date: { } date } => date - DateTimeOffset.UtcNow,
        _ => null,
    };

    private static string Truncate(string text, int length) => text.Length <= length ? text : text[..length] + "…";

    public void Dispose() => _http.Dispose();

    /// <summary>
    /// Asks for HTTP/2, and two repairs around the library: its VAPID <c>aud</c> is <c>scheme://host</c> without the
    /// port, but RFC 8292 §2 wants the origin of the push resource, so for an endpoint on a
    /// non-default port the token is made again with the full origin; and an error response's
    /// body (which the library reads whole) is cut to <see cref="MaxErrorBodyBytes"/>.
    /// </summary>
    private sealed class VapidAudienceHandler(VapidKeyStore keys) : DelegatingHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            // HTTP/2 where the push service offers it (ALPN): many pushes share one connection.
            request.Version = HttpVersion.Version20;
            request.VersionPolicy = HttpVersionPolicy.RequestVersionOrLower;
            if (request.RequestUri is { IsDefaultPort: false } uri && request.Headers.Authorization?.Scheme == "vapid")
            {
                var origin = uri.GetLeftPart(UriPartial.Authority);
                request.Headers.Authorization = new AuthenticationHeaderValue("vapid", keys.Authentication.GetVapidSchemeAuthenticationHeaderValueParameter(origin));
            }
            var response = await base.SendAsync(request, cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                response.Content = await BoundedAsync(response.Content, cancellationToken);
            }
            return response;
        }

        private static async Task<HttpContent> BoundedAsync(HttpContent content, CancellationToken cancellationToken)
        {
            using (content)
            {
                await using var stream = await content.ReadAsStreamAsync(cancellationToken);
                var buffer = new byte[MaxErrorBodyBytes];
                var length = 0;
                int read;
                while (length < buffer.Length && (read = await stream.ReadAsync(buffer.AsMemory(length), cancellationToken)) > 0)
                {
                    length += read;
                }
                var bounded = new ByteArrayContent(buffer, 0, length);
                if (content.Headers.ContentType is { } type)
                {
                    bounded.Headers.ContentType = type;
                }
                return bounded;
            }
        }
    }
}
