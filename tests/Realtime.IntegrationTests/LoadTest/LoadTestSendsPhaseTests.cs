namespace Realtime.IntegrationTests.LoadTest;

/// <summary>
/// The sends scenario's phases end at a deadline, and a loaded machine may start a sender only
/// after it (a 0.5 s smoke run at load 47 measured no send at all): a phase still measures one
/// send per sender, so a smoke run never depends on speed. A phase of no time at all is the case
/// where every sender starts late.
/// </summary>
public sealed class LoadTestSendsPhaseTests(LoadTestTargets targets) : IClassFixture<LoadTestTargets>
{
    [Fact]
    public async Task ASendsPhaseOverBeforeItsSendersStartStillMeasuresOneSendPerSender()
    {
        var result = await targets.RunAsync("realtime", "sends", "-d", "0", "-c", "2", "--bulk", "10", "--warmup", "0");

        Assert.True(result["single: requests (/s)"] > 0, result.Describe());
        Assert.True(result["bulk: notifications (/s)"] > 0, result.Describe());
        Assert.Equal(0, result["single: failed"]);
        Assert.Equal(0, result["bulk: failed"]);
    }
}
