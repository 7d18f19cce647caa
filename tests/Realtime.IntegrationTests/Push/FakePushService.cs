using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Realtime.IntegrationTests.Push;

/// <summary>How the fake push service answers one request: a status, maybe Retry-After, maybe only once a gate opens.</summary>
public sealed record FakeAnswer(int Status, string? RetryAfter = null, Task? HoldUntil = null)
{
    public static readonly FakeAnswer Created = new(201);
}

/// <summary>
/// One request the fake push service received: its headers, the body decrypted with the
/// subscriber's keys by the test's own RFC 8291 decoder, and what the VAPID check found.
/// </summary>
public sealed class ReceivedPush
{
    public required string SubscriberId { get; init; }
    public required DateTime ArrivedAt { get; init; }
    public required IReadOnlyDictionary<string, string> Headers { get; init; }
    public required byte[] Body { get; init; }
    public string? Plaintext { get; init; }
    public string? DecryptError { get; init; }
    public string? VapidError { get; init; }
    public JsonWebToken? Vapid { get; init; }

    /// <summary>The status written back, or null when the request was aborted (the sender vanished) before the answer.</summary>
    public int? AnsweredStatus { get; set; }

    public JsonElement Json => JsonDocument.Parse(Plaintext ?? throw new InvalidOperationException($"Not decrypted: {DecryptError}")).RootElement.Clone();

    public long NotificationId => Json.GetProperty("id").GetInt64();

    public override string ToString() =>
        $"{SubscriberId} at {ArrivedAt:HH:mm:ss.fff}: answered {AnsweredStatus?.ToString() ?? "never"}, {(Plaintext is null ? "undecrypted: " + DecryptError : Plaintext)}{(VapidError is null ? "" : ", VAPID: " + VapidError)}";
}

/// <summary>A browser's push subscription: the P-256 key pair and auth secret that only the "browser" (the test) holds.</summary>
public sealed class FakeSubscriber : IDisposable
{
    internal FakeSubscriber(string id, string endpoint)
    {
        Id = id;
        Endpoint = endpoint;
        Key = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);
        AuthSecret = RandomNumberGenerator.GetBytes(16);
    }

    public string Id { get; }
    public string Endpoint { get; }
    public ECDiffieHellman Key { get; }
    public byte[] AuthSecret { get; }

    public string P256dh => System.Buffers.Text.Base64Url.EncodeToString(Aes128GcmDecoder.UncompressedPoint(Key.ExportParameters(false).Q));
    public string Auth => System.Buffers.Text.Base64Url.EncodeToString(AuthSecret);

    /// <summary>What <c>PushSubscription.toJSON()</c> gives a page.</summary>
    public object ToJson() => new { endpoint = Endpoint, expirationTime = (object?)null, keys = new { p256dh = P256dh, auth = Auth } };

    public void Dispose() => Key.Dispose();
}

/// <summary>
/// A push service on loopback (its own Kestrel) for the tests. Each subscriber gets an endpoint
/// <c>/push/{id}</c>; a request is recorded with its body decrypted by the test's own RFC 8291
/// decoder and its VAPID token checked by an independent JOSE library
/// (Microsoft.IdentityModel: ES256 with the <c>k</c> key, which must be the server's public key,
/// <c>aud</c> = the endpoint's origin, <c>exp</c> within 24 h, <c>sub</c> as configured).
/// Answers 201 unless a test scripts the subscriber's answers.
/// </summary>
public sealed class FakePushService : IAsyncDisposable
{
    private static readonly TimeSpan StartStopTimeout = TimeSpan.FromSeconds(10);

    private readonly ConcurrentDictionary<string, FakeSubscriber> _subscribers = new();
    private readonly ConcurrentDictionary<string, Func<int, FakeAnswer>> _answers = new();
    private readonly ConcurrentDictionary<string, int> _counts = new();
    private readonly ConcurrentDictionary<string, ECDsaSecurityKey> _vapidKeys = new(StringComparer.Ordinal);
    private readonly List<ReceivedPush> _received = [];
    private readonly Lock _lock = new();
    private WebApplication _app = null!;
    private int _subscriberCounter;
    private int _held;
    private bool _inspect = true;

    public string BaseAddress { get; private set; } = null!;

    /// <summary>The server's VAPID public key (base64url): tokens signed with another key fail the check.</summary>
    public string? ExpectedVapidKey { get; set; }

    public string? ExpectedSubject { get; set; }

    /// <summary>Requests being held (not answered yet) right now.</summary>
    public int Held => Volatile.Read(ref _held);

    public IReadOnlyList<ReceivedPush> Received
    {
        get
        {
            lock (_lock)
            {
                return _received.ToList();
            }
        }
    }

    /// <summary>Starts the service; with <paramref name="inspect"/> false it only records and answers (a sink for throughput).</summary>
    public static async Task<FakePushService> StartAsync(bool inspect = true)
    {
        var service = new FakePushService { _inspect = inspect };
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        service._app = builder.Build();
        service._app.MapPost("/push/{id}", service.ReceiveAsync);
        using var timeout = new CancellationTokenSource(StartStopTimeout);
        await service._app.StartAsync(timeout.Token);
        var bound = new Uri(service._app.Urls.Single());
        service.BaseAddress = $"http://127.0.0.1:{bound.Port}";
        return service;
    }

    /// <summary>A new subscription on this service; <paramref name="answers"/> scripts the answer to the n-th request (1-based).</summary>
    public FakeSubscriber NewSubscriber(Func<int, FakeAnswer>? answers = null, string? endpointOverride = null)
    {
        var id = $"s{Interlocked.Increment(ref _subscriberCounter)}-{Guid.NewGuid():N}";
        var subscriber = new FakeSubscriber(id, endpointOverride ?? $"{BaseAddress}/push/{id}");
        _subscribers[id] = subscriber;
        if (answers is not null)
        {
            _answers[id] = answers;
        }
        return subscriber;
    }

    public IReadOnlyList<ReceivedPush> For(FakeSubscriber subscriber) => Received.Where(r => r.SubscriberId == subscriber.Id).ToList();

    private async Task ReceiveAsync(string id, HttpContext context)
    {
        var attempt = _counts.AddOrUpdate(id, 1, (_, n) => n + 1);
        using var buffer = new MemoryStream();
        await context.Request.Body.CopyToAsync(buffer, context.RequestAborted);
        var body = buffer.ToArray();
        var headers = context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase);

        string? plaintext = null, decryptError = null;
        if (!_inspect)
        {
            decryptError = "not inspected";
        }
        else if (_subscribers.TryGetValue(id, out var subscriber))
        {
            try
            {
                if (!headers.TryGetValue("Content-Encoding", out var encoding) || encoding != "aes128gcm")
                {
                    throw new CryptographicException($"Content-Encoding is '{encoding}', not aes128gcm.");
                }
                plaintext = Encoding.UTF8.GetString(Aes128GcmDecoder.Decrypt(body, subscriber.Key, subscriber.AuthSecret));
            }
            catch (CryptographicException ex)
            {
                decryptError = ex.Message;
            }
        }
        else
        {
            decryptError = "unknown subscriber";
        }
        var origin = $"{context.Request.Scheme}://{context.Request.Host}";
        var (vapid, vapidError) = _inspect ? await CheckVapidAsync(headers.GetValueOrDefault("Authorization"), origin) : (null, null);

        var received = new ReceivedPush
        {
            SubscriberId = id,
            ArrivedAt = DateTime.UtcNow,
            Headers = headers,
            Body = body,
            Plaintext = plaintext,
            DecryptError = decryptError,
            Vapid = vapid,
            VapidError = vapidError,
        };
        lock (_lock)
        {
            _received.Add(received);
        }

        var answer = _answers.TryGetValue(id, out var script) ? script(attempt) : FakeAnswer.Created;
        if (answer.HoldUntil is { } hold)
        {
            Interlocked.Increment(ref _held);
            try
            {
                await hold.WaitAsync(context.RequestAborted);
            }
            catch (OperationCanceledException)
            {
                return; // the sender is gone: never answered
            }
            finally
            {
                Interlocked.Decrement(ref _held);
            }
        }
        if (context.RequestAborted.IsCancellationRequested)
        {
            return;
        }
        context.Response.StatusCode = answer.Status;
        if (answer.RetryAfter is not null)
        {
            context.Response.Headers.RetryAfter = answer.RetryAfter;
        }
        await context.Response.CompleteAsync();
        lock (_lock)
        {
            received.AnsweredStatus = answer.Status;
        }
    }

    /// <summary>RFC 8292 §3: <c>Authorization: vapid t=&lt;JWT&gt;, k=&lt;public key&gt;</c>.</summary>
    private async Task<(JsonWebToken? Token, string? Error)> CheckVapidAsync(string? authorization, string origin)
    {
        if (authorization is null || !authorization.StartsWith("vapid ", StringComparison.Ordinal))
        {
            return (null, $"Authorization is '{authorization}', not the vapid scheme");
        }
        var parameters = authorization["vapid ".Length..].Split(',', StringSplitOptions.TrimEntries)
            .Select(p => p.Split('=', 2)).Where(p => p.Length == 2).ToDictionary(p => p[0], p => p[1]);
        if (!parameters.TryGetValue("t", out var token) || !parameters.TryGetValue("k", out var key))
        {
            return (null, "Authorization lacks t= or k=");
        }
        if (ExpectedVapidKey is not null && key != ExpectedVapidKey)
        {
            return (null, $"k={key} is not the server's public key {ExpectedVapidKey}");
        }
        byte[] point;
        try
        {
            point = System.Buffers.Text.Base64Url.DecodeFromChars(key);
        }
        catch (FormatException)
        {
            return (null, "k is not base64url");
        }
        if (point.Length != 65 || point[0] != 4)
        {
            return (null, "k is not an uncompressed P-256 point");
        }
        // One key object per public key, never disposed while the service runs: IdentityModel caches
        // signature providers by the key's thumbprint, so a disposed ECDsa would be met again.
        var signingKey = _vapidKeys.GetOrAdd(key, _ => new ECDsaSecurityKey(ECDsa.Create(new ECParameters
        {
            Curve = ECCurve.NamedCurves.nistP256,
            Q = new ECPoint { X = point[1..33], Y = point[33..65] },
        })));
        var result = await new JsonWebTokenHandler().ValidateTokenAsync(token, new TokenValidationParameters
        {
            IssuerSigningKey = signingKey,
            ValidAlgorithms = [SecurityAlgorithms.EcdsaSha256],
            ValidAudience = origin,
            ValidateIssuer = false,
            ValidateLifetime = true,
            RequireExpirationTime = true,
            ClockSkew = TimeSpan.FromSeconds(30),
        });
        if (!result.IsValid)
        {
            return (null, result.Exception?.Message ?? "invalid token");
        }
        var jwt = (JsonWebToken)result.SecurityToken;
        if (jwt.ValidTo > DateTime.UtcNow.AddHours(24).AddMinutes(1))
        {
            return (jwt, $"exp {jwt.ValidTo:O} is more than 24 h ahead");
        }
        if (!jwt.TryGetPayloadValue<string>("sub", out var sub) || (ExpectedSubject is not null && sub != ExpectedSubject))
        {
            return (jwt, $"sub is '{sub}', expected '{ExpectedSubject}'");
        }
        return (jwt, null);
    }

    public async ValueTask DisposeAsync()
    {
        using var timeout = new CancellationTokenSource(StartStopTimeout);
        try
        {
            await _app.StopAsync(timeout.Token);
        }
        finally
        {
            await _app.DisposeAsync();
            foreach (var subscriber in _subscribers.Values)
            {
                subscriber.Dispose();
            }
            foreach (var key in _vapidKeys.Values)
            {
                key.ECDsa.Dispose();
            }
        }
    }
}
