using System.Net;
using System.Text.Json;
using Npgsql;
using Realtime.IntegrationTests.Infrastructure;

namespace Realtime.IntegrationTests.Send;

/// <summary>
/// PostgreSQL unreachable (API.md "Backend services: send", "Operations"): sends answer 503 with Retry-After, never
/// 500, nothing half-written; the node reports not ready; once the database is back, sends succeed again.
/// Each test gets its own database, reached through a proxy it can cut.
/// </summary>
public sealed class DatabaseOutageTests : IAsyncLifetime
{
    private static readonly TimeSpan RecoveryTimeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan RetryInterval = TimeSpan.FromMilliseconds(100);

    private TestDatabase _database = null!;
    private TcpProxy _proxy = null!;
    private RealtimeServer _server = null!;

    public async Task InitializeAsync()
    {
        _database = await TestDatabase.CreateAsync();
        var direct = new NpgsqlConnectionStringBuilder(_database.ConnectionString);
        _proxy = new TcpProxy(direct.Host!, direct.Port);
        _proxy.Start();
        var viaProxy = new NpgsqlConnectionStringBuilder(_database.ConnectionString) { Host = "127.0.0.1", Port = _proxy.Port };
        _server = await RealtimeServer.StartAsync(viaProxy.ConnectionString);
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        await _proxy.DisposeAsync();
        await _database.DisposeAsync();
    }

    [Fact]
    public async Task WhileTheDatabaseIsUnreachableASendIsAnswered503WithRetryAfter()
    {
        var user = SendApi.NewUserId();
        using var client = _server.CreateApiClient(_server.Tokens.Service());
        await SendApi.ReadSentAsync(await SendApi.PostAsync(client, new { userId = user, title = "Before" }));

        await _proxy.StopAsync();

        // Several times: the first meets pooled connections that just dropped, later ones new connections refused.
        for (var attempt = 1; attempt <= 3; attempt++)
        {
            await AssertUnavailableAsync(await SendApi.PostAsync(client, new { userId = user, title = $"During {attempt}" }));
            await AssertUnavailableAsync(await SendApi.PostAsync(client, new { userId = user, title = "Keyed", idempotencyKey = $"k{attempt}" }));
        }
    }

    [Fact]
    public async Task WhileTheDatabaseIsUnreachableReadingAnInboxIsAnswered503NotAnError()
    {
        await _proxy.StopAsync();
        using var client = _server.CreateApiClient(_server.Tokens.User(SendApi.NewUserId()));

        for (var attempt = 1; attempt <= 2; attempt++)
        {
            await AssertUnavailableAsync(await client.GetAsync(SendApi.Path));
        }
    }

    [Fact]
    public async Task WhileTheDatabaseIsUnreachableTheNodeIsNotReadyAndSaysWhy()
    {
        await _proxy.StopAsync();
        using var client = _server.CreateApiClient();

        var response = await client.GetAsync("/health/ready");

        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.ServiceUnavailable, $"{(int)response.StatusCode}: {text}");
        using var body = JsonDocument.Parse(text);
        Assert.Equal("down", body.RootElement.GetProperty("postgres").GetString());
    }

    [Fact]
    public async Task OnceTheDatabaseIsBackSendsSucceedAndNothingFromTheOutageWasWritten()
    {
        var user = SendApi.NewUserId();
        var keyed = new { userId = user, title = "Keyed", idempotencyKey = "outage-key" };
        using var client = _server.CreateApiClient(_server.Tokens.Service());
        var created = new List<SendApi.Sent>(await SendApi.ReadSentAsync(await SendApi.PostAsync(client, new { userId = user, title = "Before" })));

        await _proxy.StopAsync();
        for (var attempt = 1; attempt <= 3; attempt++)
        {
            await AssertUnavailableAsync(await SendApi.PostAsync(client, new { userId = user, title = $"During {attempt}" }));
            await AssertUnavailableAsync(await SendApi.PostAsync(client, keyed));
        }
        _proxy.Start();

        // The key was never stored, so its first success creates (201), and a retry then replays it (200).
        var recovered = await SendUntilCreatedAsync(client, keyed);
        created.AddRange(recovered);
        Assert.Equal(recovered, await SendApi.ReadSentAsync(await SendApi.PostAsync(client, keyed), HttpStatusCode.OK));
        created.AddRange(await SendApi.ReadSentAsync(await SendApi.PostAsync(client, new { userId = user, title = "After" })));

        var inbox = await SendApi.InboxAsync(_server, user);
        Assert.Equal(created.Select(c => c.Id).OrderDescending(), inbox.Select(item => item.GetProperty("id").GetInt64()));
        Assert.Equal(["After", "Keyed", "Before"], inbox.Select(item => item.GetProperty("title").GetString()));
        Assert.Equal(created.Count, await SendApi.StoredCountAsync(_database, user));
    }

    /// <summary>Pooled connections may fail once more after the outage: retry (only past 503s) until 201.</summary>
    private static async Task<IReadOnlyList<SendApi.Sent>> SendUntilCreatedAsync(HttpClient client, object body)
    {
        var created = await Eventually.WaitUntilAsync(
            async () =>
            {
                var response = await SendApi.PostAsync(client, body);
                if (response.StatusCode != HttpStatusCode.Created)
                {
                    await AssertUnavailableAsync(response);
                }
                return response;
            },
            response => response.StatusCode == HttpStatusCode.Created, RecoveryTimeout, "a 201 after the database came back",
            response => $"{(int)response.StatusCode}", RetryInterval);
        return await SendApi.ReadSentAsync(created);
    }

    private static async Task AssertUnavailableAsync(HttpResponseMessage response)
    {
        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.ServiceUnavailable);
        var retryAfter = response.Headers.RetryAfter;
        Assert.True(retryAfter is { Delta.TotalSeconds: > 0 } or { Date: not null }, $"Retry-After: {retryAfter}");
    }
}
