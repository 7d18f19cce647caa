using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Microsoft.Extensions.Options;

namespace Realtime.Server.Push;

/// <summary>The push service's answer to one request, as far as the worker cares.</summary>
internal sealed record PushResponse(int? Status, TimeSpan? RetryAfter, string? Error, bool Refused = false, bool TimedOut = false)
{
    public bool Delivered => Status is 200 or 201 or 202;
}

/// <summary>
/// Sends one push: the RFC 8030 request (<c>TTL</c>, <c>Urgency</c>, <c>Topic</c>), its body
/// encrypted by <see cref="WebPushEncryption"/> (aes128gcm, RFC 8291) and VAPID (RFC 8292, tokens
/// signed by Lib.Net.Http.WebPush's <c>VapidAuthentication</c> and cached per audience). One
/// <see cref="HttpClient"/> for the node: pooled connections, HTTP/2 where the push service offers
/// it, a timeout on every request, no redirects, no proxy, and every connection checked by
/// <see cref="EndpointGuard"/>.
/// </summary>
internal sealed class PushSender : IDisposable
{
    /// <summary>Error bodies of push services are a line of text; more is not read.</summary>
    public const int MaxErrorBodyBytes = 4 * 1024;

    private static readonly MediaTypeHeaderValue OctetStream = new("application/octet-stream");

    private readonly HttpClient _http;
    private readonly TimeSpan _timeout;
    private readonly VapidKeyStore _keys;
    private readonly SubscriberKeyCache _subscriberKeys = new();

    public PushSender(EndpointGuard guard, VapidKeyStore keys, IOptions<PushOptions> options)
    {
        _keys = keys;
        _timeout = options.Value.RequestTimeout;
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
        _http = new HttpClient(handler, disposeHandler: true)
        {
            Timeout = options.Value.RequestTimeout,
        };
    }

    public async Task<PushResponse> SendAsync(string endpoint, string p256dh, string auth, string payload, int ttlSeconds, string priority, string? topic, CancellationToken cancellationToken)
    {
        var uri = new Uri(endpoint);
        var body = WebPushEncryption.Encrypt(Encoding.UTF8.GetBytes(payload), _subscriberKeys.Get(p256dh, auth));
        using var request = new HttpRequestMessage(HttpMethod.Post, uri)
        {
            // HTTP/2 where the push service offers it (ALPN): many pushes share one connection.
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionOrLower,
            Content = new ByteArrayContent(body),
        };
        request.Content.Headers.ContentType = OctetStream;
        request.Content.Headers.ContentEncoding.Add("aes128gcm");
        request.Headers.TryAddWithoutValidation("TTL", ttlSeconds.ToString(CultureInfo.InvariantCulture));
        if (UrgencyOf(priority) is { } urgency)
        {
            request.Headers.TryAddWithoutValidation("Urgency", urgency);
        }
        if (!string.IsNullOrEmpty(topic))
        {
            request.Headers.TryAddWithoutValidation("Topic", topic);
        }
        // RFC 8292 §2: the audience is the origin of the push resource (with its port when not the default).
        request.Headers.Authorization = new AuthenticationHeaderValue("vapid",
            _keys.Authentication.GetVapidSchemeAuthenticationHeaderValueParameter(uri.GetLeftPart(UriPartial.Authority)));
        var started = Stopwatch.GetTimestamp();
        try
        {
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            var status = (int)response.StatusCode;
            if (status is 200 or 201 or 202)
            {
                return new PushResponse(status, null, null);
            }
            var text = await ReadBoundedAsync(response.Content, _timeout - Stopwatch.GetElapsedTime(started), cancellationToken);
            var detail = string.IsNullOrWhiteSpace(text) ? "" : ": " + Truncate(text.Trim(), 200);
            return new PushResponse(status, RetryAfter(response.Headers.RetryAfter), $"push service answered {status}{detail}");
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

    /// <summary>The <c>Urgency</c> header (RFC 8030 §5.3): low → low, high and urgent → high, none for normal (its default).</summary>
    public static string? UrgencyOf(string priority) => priority switch
    {
        "low" => "low",
        "high" or "urgent" => "high",
        _ => null,
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

    /// <summary>
    /// An error answer's body as text, at most <see cref="MaxErrorBodyBytes"/> of it, within what is
    /// left of the request's timeout; what did not arrive in time (or broke off) is left out.
    /// </summary>
    private static async Task<string> ReadBoundedAsync(HttpContent content, TimeSpan left, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(left > TimeSpan.Zero ? left : TimeSpan.Zero);
        var buffer = new byte[MaxErrorBodyBytes];
        var length = 0;
        try
        {
            await using var stream = await content.ReadAsStreamAsync(timeout.Token);
            int read;
            while (length < buffer.Length && (read = await stream.ReadAsync(buffer.AsMemory(length), timeout.Token)) > 0)
            {
                length += read;
            }
        }
        catch (Exception ex) when (ex is IOException or HttpRequestException || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
        }
        return Encoding.UTF8.GetString(buffer, 0, length);
    }

    public void Dispose()
    {
        _http.Dispose();
        _subscriberKeys.Dispose();
    }
}
