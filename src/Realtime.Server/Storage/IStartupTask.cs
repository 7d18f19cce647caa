namespace Realtime.Server.Storage;

/// <summary>Work that must finish, in registration order, before the node takes traffic.</summary>
internal interface IStartupTask
{
    Task RunAsync(CancellationToken cancellationToken);
}
