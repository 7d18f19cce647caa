namespace Realtime.Server.Storage;

/// <summary>Open once start-up work (migrations, sequencer position) is done; until then the node is not ready.</summary>
internal sealed class StartupGate
{
    private readonly TaskCompletionSource _opened = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public bool IsOpen => _opened.Task.IsCompleted;

    public Task WhenOpen => _opened.Task;

    public void Open() => _opened.TrySetResult();
}
