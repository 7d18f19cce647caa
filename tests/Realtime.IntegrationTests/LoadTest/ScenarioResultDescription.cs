using Realtime.LoadTest.Measurement;

namespace Realtime.IntegrationTests.LoadTest;

internal static class ScenarioResultDescription
{
    /// <summary>Every metric and note of a load-test run on one line, for an assertion's message.</summary>
    public static string Describe(this ScenarioResult result) =>
        string.Join(", ", result.Metrics.Select(m => $"{m.Key}={m.Value}")) + " " + string.Join("; ", result.Notes);
}
