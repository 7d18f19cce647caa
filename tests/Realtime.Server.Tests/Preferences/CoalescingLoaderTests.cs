using Realtime.Server.Preferences;

namespace Realtime.Server.Tests.Preferences;

public sealed class CoalescingLoaderTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    /// <summary>A load function whose calls the test answers one by one.</summary>
    private sealed class ScriptedLoads
    {
        private readonly Queue<TaskCompletionSource<IReadOnlyDictionary<string, int>>> _answers = new();

        private readonly SemaphoreSlim _called = new(0);
        private int _seen;

        public List<string[]> Calls { get; } = [];

        /// <summary>Waits (bounded) until <paramref name="count"/> loads have been called in all.</summary>
        public async Task WaitForCallsAsync(int count)
        {
            while (_seen < count)
            {
                Assert.True(await _called.WaitAsync(Timeout), $"waited for load {count}");
                _seen++;
            }
        }

        public Task<IReadOnlyDictionary<string, int>> LoadAsync(IReadOnlyCollection<string> keys)
        {
            lock (Calls)
            {
                Calls.Add(keys.Order(StringComparer.Ordinal).ToArray());
                var answer = new TaskCompletionSource<IReadOnlyDictionary<string, int>>(TaskCreationOptions.RunContinuationsAsynchronously);
                _answers.Enqueue(answer);
                _called.Release();
                return answer.Task;
            }
        }

        /// <summary>Answers the oldest unanswered load: each key's length.</summary>
        public void Answer()
        {
            lock (Calls)
            {
                var answer = _answers.Dequeue();
                answer.SetResult(Calls[^(_answers.Count + 1)].ToDictionary(k => k, k => k.Length));
            }
        }

        public void Fail(Exception exception)
        {
            lock (Calls)
            {
                _answers.Dequeue().SetException(exception);
            }
        }
    }

    [Fact]
    public async Task AFirstLookUpLoadsAtOnceAndTheLookUpsMeanwhileShareOneSecondLoad()
    {
        var loads = new ScriptedLoads();
        var loader = new CoalescingLoader<string, int>(loads.LoadAsync);

        var first = loader.LoadAsync(["a"], CancellationToken.None);
        var second = loader.LoadAsync(["bb", "a"], CancellationToken.None);
        var third = loader.LoadAsync(["ccc"], CancellationToken.None);

        Assert.Equal([["a"]], loads.Calls);
        loads.Answer();
        Assert.Equal(1, (await first.WaitAsync(Timeout))["a"]);
        // The first load's end starts the second, with everything asked for meanwhile, once.
        await WaitForCallsAsync(loads, 2);
        Assert.Equal(["a", "bb", "ccc"], loads.Calls[1]);
        Assert.False(second.IsCompleted);
        loads.Answer();
        Assert.Equal(2, (await second.WaitAsync(Timeout))["bb"]);
        Assert.Equal(3, (await third.WaitAsync(Timeout))["ccc"]);
        Assert.Equal(2, loads.Calls.Count);
    }

    [Fact]
    public async Task ALookUpOfAKeyThatALoadUnderWayAlreadyReadsWaitsForTheNextLoad()
    {
        var loads = new ScriptedLoads();
        var loader = new CoalescingLoader<string, int>(loads.LoadAsync);

        var early = loader.LoadAsync(["a"], CancellationToken.None);
        var late = loader.LoadAsync(["a"], CancellationToken.None); // the load of "a" had started: it may predate what this caller has seen

        loads.Answer();
        await early.WaitAsync(Timeout);
        Assert.False(late.IsCompleted);
        await WaitForCallsAsync(loads, 2);
        loads.Answer();
        Assert.Equal(1, (await late.WaitAsync(Timeout))["a"]);
    }

    [Fact]
    public async Task AFailedLoadFailsOnlyItsOwnBatchAndTheNextOneStillLoads()
    {
        var loads = new ScriptedLoads();
        var loader = new CoalescingLoader<string, int>(loads.LoadAsync);

        var failing = loader.LoadAsync(["a"], CancellationToken.None);
        var next = loader.LoadAsync(["bb"], CancellationToken.None);
        loads.Fail(new TimeoutException("database down"));

        await Assert.ThrowsAsync<TimeoutException>(() => failing.WaitAsync(Timeout));
        await WaitForCallsAsync(loads, 2);
        loads.Answer();
        Assert.Equal(2, (await next.WaitAsync(Timeout))["bb"]);

        // Idle again: the next look-up starts a load of its own at once.
        var later = loader.LoadAsync(["ccc"], CancellationToken.None);
        await WaitForCallsAsync(loads, 3);
        loads.Answer();
        Assert.Equal(3, (await later.WaitAsync(Timeout))["ccc"]);
    }

    [Fact]
    public async Task ACallerThatGivesUpStopsWaitingWithoutCancellingTheLoadsOfTheOthers()
    {
        var loads = new ScriptedLoads();
        var loader = new CoalescingLoader<string, int>(loads.LoadAsync);
        using var cancel = new CancellationTokenSource();

        var leavingFirst = loader.LoadAsync(["a"], cancel.Token);
        var staying = loader.LoadAsync(["bb"], CancellationToken.None);
        var leavingSecond = loader.LoadAsync(["ccc"], cancel.Token);
        cancel.Cancel();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => leavingFirst.WaitAsync(Timeout));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => leavingSecond.WaitAsync(Timeout));
        loads.Answer();
        await WaitForCallsAsync(loads, 2);
        Assert.Equal(["bb", "ccc"], loads.Calls[1]);
        loads.Answer();
        Assert.Equal(2, (await staying.WaitAsync(Timeout))["bb"]);
    }

    private static Task WaitForCallsAsync(ScriptedLoads loads, int count) => loads.WaitForCallsAsync(count);
}
