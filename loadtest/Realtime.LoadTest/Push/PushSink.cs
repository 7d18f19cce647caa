using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Realtime.LoadTest.Push;

/// <summary>
/// A local fake push service for the <c>push</c> scenario: Kestrel on a loopback port, one
/// endpoint per subscription (<c>POST /push/{n}</c>), every request read to the end and answered
/// 201 at once. It counts arrivals per subscription and the times of the first and last; it does
/// not decrypt (the integration tests' fake service checks the encryption and VAPID).
/// </summary>
internal sealed class PushSink : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly int[] _arrivals;
    private long _total;
    private long _firstAt;
    private long _lastAt;
    private long _bytes;
    private long _windowStartTotal;
    private long _windowStartBytes;

    private PushSink(WebApplication app, int subscriptions)
    {
        _app = app;
        _arrivals = new int[subscriptions];
    }

    public Uri BaseAddress { get; private set; } = null!;

    public long Total => Interlocked.Read(ref _total);

    public long Bytes => Interlocked.Read(ref _bytes);

    /// <summary>Pushes received since <see cref="StartWindow"/> (all of them without it).</summary>
    public long WindowTotal => Total - Interlocked.Read(ref _windowStartTotal);

    public long WindowBytes => Bytes - Interlocked.Read(ref _windowStartBytes);

    /// <summary>Stopwatch timestamps of the first and the last push received since <see cref="StartWindow"/> (0 before any).</summary>
    public (long First, long Last) Window => (Interlocked.Read(ref _firstAt), Interlocked.Read(ref _lastAt));

    /// <summary>Starts the measured window (after a warm-up): arrivals per subscription are kept, the rate counts from here.</summary>
    public void StartWindow()
    {
        Interlocked.Exchange(ref _windowStartTotal, Total);
        Interlocked.Exchange(ref _windowStartBytes, Bytes);
        Interlocked.Exchange(ref _firstAt, 0);
        Interlocked.Exchange(ref _lastAt, 0);
    }

    public int ArrivalsOf(int subscription) => Volatile.Read(ref _arrivals[subscription]);

    public string EndpointOf(int subscription) => new Uri(BaseAddress, $"push/{subscription}").ToString();

    public static async Task<PushSink> StartAsync(int subscriptions, CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        var sink = new PushSink(app, subscriptions);
        app.MapPost("/push/{n:int}", sink.ReceiveAsync);
        await app.StartAsync(cancellationToken);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        sink.BaseAddress = new Uri(address.TrimEnd('/') + "/");
        return sink;
    }

    private async Task<IResult> ReceiveAsync(int n, HttpRequest request)
    {
        var buffer = new byte[4096];
        long length = 0;
        int read;
        while ((read = await request.Body.ReadAsync(buffer)) > 0)
        {
            length += read;
        }
        if (n < 0 || n >= _arrivals.Length)
        {
            return Results.NotFound();
        }
        var now = Stopwatch.GetTimestamp();
        Interlocked.CompareExchange(ref _firstAt, now, 0);
        InterlockedMax(ref _lastAt, now);
        Interlocked.Increment(ref _arrivals[n]);
        Interlocked.Increment(ref _total);
        Interlocked.Add(ref _bytes, length);
        return Results.StatusCode(StatusCodes.Status201Created);
    }

    private static void InterlockedMax(ref long location, long value)
    {
        var seen = Interlocked.Read(ref location);
        while (value > seen)
        {
            var previous = Interlocked.CompareExchange(ref location, value, seen);
            if (previous == seen)
            {
                return;
            }
            seen = previous;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
