using System.Net.WebSockets;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Realtime.IntegrationTests.HubClient;

/// <summary>Hub used to exercise <see cref="Infrastructure.HubTestClient"/> against the real SignalR server.</summary>
public sealed class TestHub : Hub
{
    public override async Task OnConnectedAsync()
    {
        if (Context.GetHttpContext()?.Request.Query["reject"].ToString() == "1")
        {
            Context.Abort();
        }

        await base.OnConnectedAsync();
    }

    public string Echo(string s) => s;

    public int Add(int a, int b) => a + b;

    public void Nothing()
    {
    }

    public string Repeat(char c, int count) => new(c, count);

    public void Fail() => throw new HubException("nope");

    public EchoedPayload EchoPayload(EchoedPayload payload) => payload;

    /// <summary>Sends <c>tick</c> with <c>{ "n": i }</c> for i = 1..n to the caller, in order.</summary>
    public async Task Push(int n)
    {
        for (var i = 1; i <= n; i++)
        {
            await Clients.Caller.SendAsync("tick", new { n = i });
        }
    }

    public Task Notify(string text) => Clients.Caller.SendAsync("notified", text);

    /// <summary>Aborts the connection and never completes on its own.</summary>
    public async Task AbortAndHang()
    {
        Context.Abort();
        await Task.Delay(Timeout.Infinite, Context.ConnectionAborted);
    }
}

public sealed record EchoedPayload(string DisplayName, int ItemCount);

/// <summary>A throwaway Kestrel app hosting <see cref="TestHub"/> at <c>/hubs/notifications</c> on a free port.</summary>
public sealed class TestHubServer : IAsyncDisposable
{
    public const string HubPath = "/hubs/notifications";

    /// <summary>A fake hub endpoint answering the handshake with an error.</summary>
    public const string RawHandshakeErrorPath = "/raw/handshake-error";

    /// <summary>A fake hub endpoint sending <see cref="ScriptedFrames"/> after the handshake, then closing.</summary>
    public const string RawScriptedPath = "/raw/scripted";

    private const string RS = "\u001e";

    /// <summary>
    /// Frames chosen to stress the framing: the handshake response shares a frame with messages, a message spans
    /// two frames, and one frame carries several messages including types the client merely records.
    /// </summary>
    public static readonly IReadOnlyList<string> ScriptedFrames =
    [
        "{}" + RS + """{"type":1,"target":"tick","arguments":[{"n":1}]}""" + RS + """{"type":1,"target":"ti""",
        """ck","arguments":[{"n":2}]}""" + RS + """{"type":6}""" + RS + """{"type":2,"invocationId":"9","item":1}""" + RS,
        """{"type":1,"target":"tick","arguments":[{"n":3}]}""" + RS + """{"type":7,"error":"bye","allowReconnect":true}""" + RS,
    ];

    /// <summary>What a server that does not speak the requested protocol answers.</summary>
    public static readonly IReadOnlyList<string> HandshakeErrorFrames =
        ["""{"error":"Requested protocol 'json' is not available."}""" + RS];

    private readonly WebApplication _app;

    private TestHubServer(WebApplication app, Uri baseAddress)
    {
        _app = app;
        BaseAddress = baseAddress;
    }

    public Uri BaseAddress { get; }

    /// <param name="configureHub">Hub options, e.g. a short client timeout.</param>
    /// <param name="requiredAccessToken">When set, hub requests without <c>access_token=</c> this value get 401.</param>
    public static async Task<TestHubServer> StartAsync(Action<HubOptions>? configureHub = null, string? requiredAccessToken = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel().UseUrls("http://127.0.0.1:0");
        builder.Services.AddSignalR(options =>
        {
            options.EnableDetailedErrors = false;
            configureHub?.Invoke(options);
        });

        var app = builder.Build();
        if (requiredAccessToken is not null)
        {
            app.Use(async (context, next) =>
            {
                if (context.Request.Path.StartsWithSegments(HubPath) && context.Request.Query["access_token"].ToString() != requiredAccessToken)
                {
                    context.Response.StatusCode = StatusCodes.Status401Unauthorized;
                    return;
                }

                await next(context);
            });
        }

        app.MapHub<TestHub>(HubPath);
        app.UseWebSockets();
        app.Map(RawHandshakeErrorPath, context => RunRawHubAsync(context, HandshakeErrorFrames));
        app.Map(RawScriptedPath, context => RunRawHubAsync(context, ScriptedFrames));
        await app.StartAsync().WaitAsync(TimeSpan.FromSeconds(10));

        // Kestrel replaces port 0 with the bound port in the server addresses that app.Urls reflects.
        return new TestHubServer(app, new Uri(app.Urls.Single()));
    }

    /// <summary>Accepts a WebSocket, reads the handshake request, sends <paramref name="frames"/> and closes.</summary>
    private static async Task RunRawHubAsync(HttpContext context, IReadOnlyList<string> frames)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            return;
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        using var socket = await context.WebSockets.AcceptWebSocketAsync();
        var buffer = new byte[4096];
        await socket.ReceiveAsync(buffer.AsMemory(), timeout.Token); // the handshake request (small: one frame)
        foreach (var frame in frames)
        {
            await socket.SendAsync(Encoding.UTF8.GetBytes(frame), WebSocketMessageType.Text, endOfMessage: true, timeout.Token);
        }

        await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "done", timeout.Token);
        while ((await socket.ReceiveAsync(buffer.AsMemory(), timeout.Token)).MessageType != WebSocketMessageType.Close)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await _app.StopAsync(timeout.Token);
        await _app.DisposeAsync();
    }
}
