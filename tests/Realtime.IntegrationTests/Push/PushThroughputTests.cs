using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using Dapper;
using Realtime.IntegrationTests.Infrastructure;
using Xunit.Abstractions;
using static Realtime.IntegrationTests.Infrastructure.Eventually;

namespace Realtime.IntegrationTests.Push;

/// <summary>
/// One send to 1,000 offline users, each with a subscription on a local sink that answers 201:
/// every push goes out exactly once, and the test prints the rate (pushes/s from the send's
/// answer to the last push recorded as sent) for the benchmark notes.
/// </summary>
public sealed class PushThroughputTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const int Recipients = 1_000;

    private TestDatabase _database = null!;
    private RealtimeServer _server = null!;
    private FakePushService _sink = null!;

    public async Task InitializeAsync()
    {
        _database = await TestDatabase.CreateAsync();
        _sink = await FakePushService.StartAsync(inspect: false);
        _server = await RealtimeServer.StartAsync(_database.ConnectionString, PushFixture.PushSettings());
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        await _sink.DisposeAsync();
        await _database.DisposeAsync();
    }

    [Fact]
    public async Task AThousandOfflineRecipientsArePushedExactlyOnce()
    {
        var users = Enumerable.Range(0, Recipients).Select(i => $"bulk-{i:D4}").ToList();
        var subscribers = users.Select(_ => _sink.NewSubscriber()).ToList();
        await using (var connection = await _database.OpenAsync())
        {
            // Stored directly (1,000 subscribe calls would measure the API, not the pushes).
            await connection.ExecuteAsync("""
                INSERT INTO push_subscriptions (endpoint, user_id, p256dh, auth, created_at, subscribed_at)
                SELECT e, u, p, a, now(), now() FROM unnest(@Endpoints, @Users, @P256dhs, @Auths) AS t(e, u, p, a)
                """, new
            {
                Endpoints = subscribers.Select(s => s.Endpoint).ToArray(),
                Users = users.ToArray(),
                P256dhs = subscribers.Select(s => s.P256dh).ToArray(),
                Auths = subscribers.Select(s => s.Auth).ToArray(),
            });
        }

        using var service = _server.CreateApiClient(_server.Tokens.Service());
        var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        var response = await service.PostAsJsonAsync("/api/notifications", new { userIds = users, title = "Flash sale", body = "Everything must go" });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var committed = clock.Elapsed;

        await WaitUntilAsync(SentCountAsync, n => n == Recipients, TimeSpan.FromSeconds(60), $"{Recipients} pushes sent", n => $"{n} sent");
        var done = clock.Elapsed;
        var cpu = Process.GetCurrentProcess().TotalProcessorTime - cpuBefore;
        var (first, last) = await SentWindowAsync();
        Assert.Equal(Recipients, _sink.Received.Count);
        Assert.Equal(Recipients, _sink.Received.Select(r => r.SubscriberId).Distinct().Count());

        var sending = last - first;
        output.WriteLine($"{Recipients} pushes: send answered after {committed.TotalMilliseconds:0} ms, all sent after {done.TotalMilliseconds:0} ms " +
            $"(includes the 200 ms planning delay); first to last push {sending.TotalMilliseconds:0} ms = {Recipients / Math.Max(sending.TotalSeconds, 0.001):0} pushes/s " +
            $"(defaults: 64 in flight, 16 per host; one loopback host); CPU of the whole test process (node, sink, test) {cpu.TotalMilliseconds:0} ms " +
            $"= {cpu.TotalMilliseconds / Recipients:0.00} ms per push; load average {File.ReadAllText("/proc/loadavg").Split(' ')[0]}");
    }

    private async Task<long> SentCountAsync()
    {
        await using var connection = await _database.OpenAsync();
        return await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM push_jobs WHERE state = 'sent' AND attempts = 1");
    }

    private async Task<(DateTime First, DateTime Last)> SentWindowAsync()
    {
        await using var connection = await _database.OpenAsync();
        return await connection.QuerySingleAsync<(DateTime, DateTime)>("SELECT min(sent_at), max(sent_at) FROM push_jobs");
    }
}
