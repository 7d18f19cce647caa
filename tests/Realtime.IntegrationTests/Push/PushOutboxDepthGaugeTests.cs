using System.Net;
using Realtime.IntegrationTests.Infrastructure;

namespace Realtime.IntegrationTests.Push;

/// <summary>
/// <c>realtime_push_outbox_depth</c> follows the outbox: a push the push service holds keeps its job
/// queued (the gauge goes up), and once answered the job is done (the gauge comes back down).
/// The gauge is counted at most every 5 s, so each wait allows for two counts.
/// </summary>
public sealed class PushOutboxDepthGaugeTests(PushFixture fixture) : IClassFixture<PushFixture>
{
    private static readonly TimeSpan CountPatience = TimeSpan.FromSeconds(15);

    private RealtimeServer Server => fixture.Server;

    [Fact]
    public async Task APushHeldByThePushServiceRaisesTheOutboxDepthAndItsAnswerLowersItAgain()
    {
        var held = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var user = "outbox-depth-" + Guid.NewGuid().ToString("N")[..10];
        var subscriber = fixture.PushService.NewSubscriber(_ => new FakeAnswer(201, HoldUntil: held.Task));
        using (var client = Server.CreateApiClient(Server.Tokens.User(user)))
        {
            Assert.Equal(HttpStatusCode.Created, (await PushApiClient.SubscribeAsync(client, subscriber)).StatusCode);
        }

        var id = await Server.SendAsync(user, "Held by the push service");
        await Eventually.WaitUntilAsync(() => fixture.PushService.Held == 1, CountPatience, "the push held by the push service");
        await WaitForDepthAsync(depth => depth >= 1, "up while the push is held");

        held.SetResult();
        await Eventually.WaitUntilAsync(async () => await PushApiClient.JobsAsync(fixture.Database, id), jobs => jobs.Count == 1 && jobs[0].State == "sent",
            CountPatience, "the push job sent", jobs => string.Join("; ", jobs));
        await WaitForDepthAsync(depth => depth == 0, "back down once it is answered");
    }

    private async Task WaitForDepthAsync(Func<double, bool> expected, string what)
    {
        using var client = Server.CreateApiClient();
        await Eventually.WaitUntilAsync(async () => PrometheusText.Parse(await client.GetStringAsync("/metrics")).Sum("realtime_push_outbox_depth"),
            expected, CountPatience, "realtime_push_outbox_depth " + what, depth => depth.ToString(System.Globalization.CultureInfo.InvariantCulture),
            interval: TimeSpan.FromMilliseconds(250));
    }
}
