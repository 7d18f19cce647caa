using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Dapper;
using Realtime.IntegrationTests.Infrastructure;

namespace Realtime.IntegrationTests.Push;

/// <summary>A node that may push to loopback (Push__AllowInsecureEndpoints=true) and a fake push service beside it.</summary>
public class PushFixture : ServerFixture, IAsyncLifetime
{
    public const string Subject = "mailto:push-tests@example.com";

    public FakePushService PushService { get; private set; } = null!;

    public string VapidPublicKey { get; private set; } = null!;

    protected override IDictionary<string, string?> Settings => PushSettings();

    public static Dictionary<string, string?> PushSettings() => new()
    {
        ["Push:AllowInsecureEndpoints"] = "true",
        ["Push:Subject"] = Subject,
        // Short, so the tests are quick; the presence records of the tests' clients are written before they send.
        ["Push:PlanningDelayMilliseconds"] = "200",
        ["Push:PollIntervalMilliseconds"] = "50",
    };

    public new async Task InitializeAsync()
    {
        await base.InitializeAsync();
        PushService = await FakePushService.StartAsync();
        VapidPublicKey = await PushApiClient.VapidPublicKeyAsync(Server.CreateApiClient());
        PushService.ExpectedVapidKey = VapidPublicKey;
        PushService.ExpectedSubject = Subject;
    }

    public new async Task DisposeAsync()
    {
        await PushService.DisposeAsync();
        await base.DisposeAsync();
    }
}

/// <summary>The push endpoints as a page would call them, and the outbox as the tests read it.</summary>
public static class PushApiClient
{
    static PushApiClient() => DefaultTypeMap.MatchNamesWithUnderscores = true;

    public static async Task<string> VapidPublicKeyAsync(HttpClient anonymous)
    {
        var response = await anonymous.GetAsync("/api/push/vapid-public-key");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("publicKey").GetString()!;
    }

    public static async Task<HttpResponseMessage> SubscribeAsync(HttpClient user, FakeSubscriber subscriber)
    {
        var response = await user.PostAsJsonAsync("/api/push/subscriptions", subscriber.ToJson());
        Assert.True(response.StatusCode is HttpStatusCode.Created or HttpStatusCode.OK,
            $"subscribe answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        return response;
    }

    public static Task<HttpResponseMessage> UnsubscribeAsync(HttpClient user, string endpoint) =>
        user.DeleteAsync($"/api/push/subscriptions?endpoint={Uri.EscapeDataString(endpoint)}");

    public static async Task<List<JobRow>> JobsAsync(TestDatabase database, long notificationId)
    {
        await using var connection = await database.OpenAsync();
        return (await connection.QueryAsync<JobRow>(
            "SELECT notification_id, subscription_id, user_id, state, status, attempts, last_error, reduced FROM push_jobs WHERE notification_id = @Id ORDER BY id",
            new { Id = notificationId })).ToList();
    }

    public static async Task<List<JobRow>> JobsOfUserAsync(TestDatabase database, string userId)
    {
        await using var connection = await database.OpenAsync();
        return (await connection.QueryAsync<JobRow>(
            "SELECT notification_id, subscription_id, user_id, state, status, attempts, last_error, reduced FROM push_jobs WHERE user_id = @UserId ORDER BY notification_id",
            new { UserId = userId })).ToList();
    }

    public static async Task<long> SubscriptionCountAsync(TestDatabase database, string endpoint)
    {
        await using var connection = await database.OpenAsync();
        return await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM push_subscriptions WHERE endpoint = @Endpoint", new { Endpoint = endpoint });
    }

    /// <summary>The planner has passed <paramref name="notificationId"/>: whatever it planned for it is in the outbox.</summary>
    public static async Task WaitUntilPlannedAsync(TestDatabase database, long notificationId, TimeSpan timeout)
    {
        await Eventually.WaitUntilAsync(async () =>
        {
            await using var connection = await database.OpenAsync();
            return await connection.ExecuteScalarAsync<long>("SELECT last_id FROM push_planner WHERE id = 1");
        }, lastId => lastId >= notificationId, timeout, $"the push planner past id {notificationId}");
    }

    public sealed class JobRow
    {
        public long NotificationId { get; init; }
        public long SubscriptionId { get; init; }
        public string UserId { get; init; } = "";
        public string State { get; init; } = "";
        public int? Status { get; init; }
        public int Attempts { get; init; }
        public string? LastError { get; init; }
        public bool Reduced { get; init; }

        public override string ToString() => $"{NotificationId}/{SubscriptionId}: {State} {Status} x{Attempts} {LastError}{(Reduced ? " (reduced)" : "")}";
    }
}
