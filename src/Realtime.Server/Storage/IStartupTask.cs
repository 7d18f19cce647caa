namespace Realtime.Server.Storage;

/// <summary>
/// Work that must finish, after migrations, before the node takes traffic. Tasks run concurrently,
/// so one must never depend on another having run.
/// </summary>
internal interface IStartupTask
{
    Task RunAsync(CancellationToken cancellationToken);
}
