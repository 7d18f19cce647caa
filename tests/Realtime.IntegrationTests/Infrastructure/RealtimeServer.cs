using System.Net.Http.Headers;
using System.Net.Http.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Realtime.IntegrationTests.Infrastructure;

/// <summary>
/// One real Realtime node: the real Kestrel server on a loopback port, configured only through
/// the variables of the contract, with a clock the test can move forward.
/// </summary>
public sealed class RealtimeServer : WebApplicationFactory<Program>
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);
    private readonly Dictionary<string, string?> _settings;
    private readonly Action<IServiceCollection>? _configureServices;

    private RealtimeServer(Dictionary<string, string?> settings, Action<IServiceCollection>? configureServices)
    {
        _settings = settings;
        _configureServices = configureServices;
    }

    public TestTime Time { get; } = new();

    public TestTokens Tokens { get; } = TestTokens.Default;

    /// <summary>What this node logged at Warning and above.</summary>
    public CapturedLogs Logs { get; } = new();

    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>Starts a node on <paramref name="connectionString"/> and waits until it is ready.</summary>
    /// <param name="configureServices">Adds to the node's services (e.g. a span exporter), after its own.</param>
    public static async Task<RealtimeServer> StartAsync(string connectionString, IDictionary<string, string?>? settings = null, bool waitUntilReady = true,
        Action<IServiceCollection>? configureServices = null)
    {
        var all = new Dictionary<string, string?>
        {
            ["ConnectionStrings:Postgres"] = connectionString,
            ["ConnectionStrings:Redis"] = null,
            ["Auth:SigningKey"] = TestTokens.DefaultSigningKey,
            ["Auth:Issuer"] = TestTokens.DefaultIssuer,
            ["Auth:Audience"] = TestTokens.DefaultAudience,
            ["RateLimits:SendsPerSecond"] = "0",
            ["RateLimits:UserRequestsPerSecond"] = "0",
            ["RateLimits:HubInvocationsPerSecond"] = "0",
            ["RateLimits:AnonymousRequestsPerSecond"] = "0",
            // One line a request would flood the test run's console (RequestLogTests reads a child process's).
            ["Serilog:MinimumLevel:Default"] = "Information", // (without it Serilog reads MinimumLevel itself, which the host's settings leave empty)
            ["Serilog:MinimumLevel:Override:Serilog.AspNetCore.RequestLoggingMiddleware"] = "Warning",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            all[key] = value;
        }
        var server = new RealtimeServer(all, configureServices);
        server.UseKestrel(0);
        server.StartServer();
        var addresses = server.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!;
        server.BaseAddress = new Uri(addresses.Addresses.First().Replace("[::]", "127.0.0.1").Replace("localhost", "127.0.0.1"));
        if (waitUntilReady)
        {
            await server.WaitUntilReadyAsync();
        }
        return server;
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Testing");
        foreach (var (key, value) in _settings)
        {
            builder.UseSetting(key, value);
        }
        builder.UseSetting("urls", "http://127.0.0.1:0");
        builder.ConfigureServices(services =>
        {
            services.AddSingleton<TimeProvider>(Time);
            services.AddSingleton<Microsoft.Extensions.Logging.ILoggerProvider>(Logs);
            _configureServices?.Invoke(services);
        });
    }

    /// <summary>An HTTP client for this node, with a bearer token when given.</summary>
    public HttpClient CreateApiClient(string? token = null)
    {
        var client = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        if (token is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
        return client;
    }

    /// <summary>Connects the SignalR test client to this node's hub.</summary>
    public Task<HubClient> ConnectHubAsync(string? token) => HubClient.ConnectAsync(BaseAddress, token);

    /// <summary>Sends one notification as a backend service and returns its id.</summary>
    public async Task<long> SendAsync(string userId, string title = "Hello", object? extra = null)
    {
        using var client = CreateApiClient(Tokens.Service());
        var body = new Dictionary<string, object?> { ["userId"] = userId, ["title"] = title };
        foreach (var property in extra?.GetType().GetProperties() ?? [])
        {
            body[property.Name] = property.GetValue(extra);
        }
        var response = await client.PostAsJsonAsync("/api/notifications", body);
        response.EnsureSuccessStatusCode();
        var sent = await response.Content.ReadFromJsonAsync<SendResult>();
        return sent!.Notifications.Single().Id;
    }

    public Task WaitUntilReadyAsync() =>
        Eventually.WaitUntilServingAsync(BaseAddress, "/health/ready", () => null, StartTimeout, $"ready at {BaseAddress}", () => "");

    public sealed record SendResult(List<SentItem> Notifications);

    public sealed record SentItem(long Id, string UserId);
}
