using System.Globalization;
using System.Net.Http.Json;
using Dapper;
using Realtime.IntegrationTests.Infrastructure;
using Xunit.Abstractions;
using static Realtime.IntegrationTests.Infrastructure.Eventually;

namespace Realtime.IntegrationTests.Push;

/// <summary>
/// A node SIGKILLed with pushes queued and in flight: no push is lost, and none that the push
/// service answered is sent again. The answered ones are recorded as sent; the ones it never
/// answered go out once more, from the node that takes over once the dead node's claims lapse.
/// </summary>
public sealed class PushCrashTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const int Notifications = 20;
    private const int AnsweredBeforeTheKill = 5;
    private const int RequestTimeoutSeconds = 2; // the lease is 2 × 2 s + 5 s

    private TestDatabase _database = null!;
    private FakePushService _pushService = null!;

    public async Task InitializeAsync()
    {
        _database = await TestDatabase.CreateAsync();
        _pushService = await FakePushService.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _pushService.DisposeAsync();
        await _database.DisposeAsync();
    }

    [Fact]
    public async Task AfterASigkillEveryQueuedPushIsSentExactlyOnceByTheNodeThatTakesOver()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        // The first few are answered at once; then the service stalls until the node is dead.
        var subscriber = _pushService.NewSubscriber(n => n <= AnsweredBeforeTheKill || gate.Task.IsCompleted ? FakeAnswer.Created : new FakeAnswer(201, HoldUntil: gate.Task));
        var user = "crash-push-" + Guid.NewGuid().ToString("N")[..10];

        await using var a = await StartNodeAsync();
        var sent = new List<long>();
        await a.WithOutputOnFailureAsync(async () =>
        {
            using var client = a.CreateApiClient(a.Tokens.User(user));
            await PushApiClient.SubscribeAsync(client, subscriber);
            using var service = a.CreateApiClient(a.Tokens.Service());
            for (var i = 0; i < Notifications; i++)
            {
                var response = await service.PostAsJsonAsync("/api/notifications", new { userId = user, title = $"Queued #{i}" });
                response.EnsureSuccessStatusCode();
                var body = await response.Content.ReadFromJsonAsync<RealtimeServer.SendResult>();
                sent.Add(body!.Notifications.Single().Id);
            }
            await WaitUntilAsync(() => SentAsync(), s => s.Count >= AnsweredBeforeTheKill, TimeSpan.FromSeconds(20), $"{AnsweredBeforeTheKill} pushes recorded as sent");
            await WaitUntilAsync(() => Task.FromResult(_pushService.Held), held => held > 0, TimeSpan.FromSeconds(10), "a push in flight, unanswered");
        });

        var sentBeforeKill = await SentAsync();
        a.Kill();
        // The held requests see their sender vanish and are never answered.
        await WaitUntilAsync(() => Task.FromResult(_pushService.Held), held => held == 0, TimeSpan.FromSeconds(10), "the held requests aborted");
        gate.SetResult();
        output.WriteLine($"killed with {sentBeforeKill.Count} sent, {_pushService.For(subscriber).Count} requests so far");

        await using var b = await StartNodeAsync();
        await b.WithOutputOnFailureAsync(async () =>
        {
            await WaitUntilAsync(() => SentAsync(), s => s.Count == Notifications, TimeSpan.FromSeconds(40), $"all {Notifications} pushes recorded as sent",
                s => $"{s.Count} sent");
        });

        var requests = _pushService.For(subscriber);
        foreach (var id in sent)
        {
            var answered = requests.Count(r => r.NotificationId == id && r.AnsweredStatus is not null);
            Assert.True(answered == 1, $"notification {id} was answered {answered} times: {string.Join("; ", requests.Where(r => r.NotificationId == id))}");
        }
        foreach (var id in sentBeforeKill)
        {
            Assert.Equal(1, requests.Count(r => r.NotificationId == id));
        }
        output.WriteLine($"{requests.Count} requests for {Notifications} notifications ({requests.Count(r => r.AnsweredStatus is null)} unanswered, sent again)");
    }

    private Task<ServerProcess> StartNodeAsync() =>
        ServerProcess.StartAsync(_database.ConnectionString, extraEnvironment: new Dictionary<string, string>
        {
            ["Push__AllowInsecureEndpoints"] = "true",
            ["Push__RequestTimeoutSeconds"] = RequestTimeoutSeconds.ToString(CultureInfo.InvariantCulture),
            ["Push__PlanningDelayMilliseconds"] = "200",
            ["Push__PollIntervalMilliseconds"] = "50",
            ["Push__MaxConcurrency"] = "4",
        });

    private async Task<List<long>> SentAsync()
    {
        await using var connection = await _database.OpenAsync();
        return (await connection.QueryAsync<long>("SELECT notification_id FROM push_jobs WHERE state = 'sent' ORDER BY notification_id")).ToList();
    }
}
