using System.Diagnostics;
using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Realtime.IntegrationTests.Infrastructure;
using Realtime.Server.Push;
using static Realtime.IntegrationTests.Infrastructure.Eventually;

namespace Realtime.IntegrationTests.Push;

/// <summary>A node whose planning delay is long enough to tell a round per send from a round per tenth of it.</summary>
public sealed class PushPlanningRoundsFixture : PushFixture
{
    public static readonly TimeSpan PlanningDelay = TimeSpan.FromSeconds(2);

    protected override IDictionary<string, string?> Settings
    {
        get
        {
            var settings = PushSettings();
            settings["Push:PlanningDelayMilliseconds"] = PlanningDelay.TotalMilliseconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            return settings;
        }
    }
}

public sealed class PushPlanningRoundsTests(PushPlanningRoundsFixture fixture) : IClassFixture<PushPlanningRoundsFixture>
{
    private const int Sends = 60;

    private RealtimeServer Server => fixture.Server;

    [Fact]
    public async Task SendsCommittedOneByOneArePlannedInRoundsAtMostEveryTenthOfThePlanningDelayAndEveryOneIsPushed()
    {
        var user = "rounds-" + Guid.NewGuid().ToString("N")[..10];
        var subscriber = fixture.PushService.NewSubscriber();
        using (var client = Server.CreateApiClient(Server.Tokens.User(user)))
        {
            Assert.Equal(HttpStatusCode.Created, (await PushApiClient.SubscribeAsync(client, subscriber)).StatusCode);
        }
        var planner = Server.Services.GetRequiredService<PushPlanner>();
        var roundsBefore = planner.Rounds;
        var started = Stopwatch.GetTimestamp();

        var sent = new List<long>();
        for (var i = 0; i < Sends; i++)
        {
            sent.Add(await Server.SendAsync(user, $"one by one {i}")); // each in a transaction of its own, each waking the planner
        }

        var rounds = planner.Rounds - roundsBefore;
        var elapsed = Stopwatch.GetElapsedTime(started);
        var interval = PushPlanningRoundsFixture.PlanningDelay / 10;
        Assert.True(rounds <= elapsed / interval + 2, $"{rounds} planning rounds in {elapsed.TotalMilliseconds:0} ms for {Sends} sends");
        var pushes = await WaitUntilAsync(() => Task.FromResult(fixture.PushService.For(subscriber)),
            r => r.Count >= Sends && r.All(p => p.AnsweredStatus is not null), TimeSpan.FromSeconds(20), $"{Sends} answered pushes", r => $"{r.Count} pushes");
        Assert.Equal(sent, pushes.Select(p => p.NotificationId).Order());
    }
}
