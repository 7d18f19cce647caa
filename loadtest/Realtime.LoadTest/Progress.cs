using System.Diagnostics;

namespace Realtime.LoadTest;

/// <summary>Prints one status line per second on stderr while a phase runs.</summary>
internal sealed class Progress : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    private Progress(string label, Func<Task<string>> status, bool quiet)
    {
        var start = Stopwatch.GetTimestamp();
        _loop = quiet ? Task.CompletedTask : Task.Run(async () =>
        {
            using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
            try
            {
                while (await timer.WaitForNextTickAsync(_stop.Token))
                {
                    Console.Error.WriteLine($"  [{label} {Stopwatch.GetElapsedTime(start).TotalSeconds,5:0}s] {await status()}");
                }
            }
            catch (OperationCanceledException)
            {
            }
        });
    }

    public static Progress Start(ScenarioContext context, string phase, Func<string> status) =>
        Start(context, phase, () => Task.FromResult(status()));

    /// <summary>The same, with a status that has to ask (clients in worker processes).</summary>
    public static Progress Start(ScenarioContext context, string phase, Func<Task<string>> status) =>
        new($"{context.Target.Name} {phase}", status, context.Options.Quiet);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _loop;
        _stop.Dispose();
    }
}
