namespace Realtime.LoadTest.Servers;

/// <summary>
/// The other nodes of a cluster the tool starts itself: a target with a <c>--command</c> and <c>node=</c>
/// (or a <c>send=</c> URL that is none of its client URLs) runs the same command once per such URL, with
/// <c>ASPNETCORE_URLS</c> set to it, started before the first node and stopped with it after the target's
/// run, so two targets' clusters never run at the same time. The storm kills only the first node.
/// </summary>
internal sealed class OtherNodes : IAsyncDisposable
{
    private readonly List<ServerLauncher> _launchers;

    private OtherNodes(List<ServerLauncher> launchers) => _launchers = launchers;

    public int Count => _launchers.Count;

    /// <summary>The running nodes' PIDs (the first node's is its own launcher's).</summary>
    public IEnumerable<int> Pids => _launchers.Select(l => l.Pid).OfType<int>();

    /// <summary>The URLs of <paramref name="target"/> beside its first one that the tool must start.</summary>
    public static IReadOnlyList<Uri> UrlsOf(Target target)
    {
        var clients = target.ClientUrls.Select(Authority).ToHashSet();
        return [.. target.OtherNodes, .. clients.Contains(Authority(target.SendUrl)) ? [] : new[] { target.SendUrl }];
    }

    /// <summary>Starts every other node of <paramref name="target"/> at once and waits until each is ready.</summary>
    public static async Task<OtherNodes> StartAsync(Target target, CancellationToken cancellationToken)
    {
        var launchers = UrlsOf(target)
            .Select(url => new ServerLauncher(target with { Name = $"{target.Name}-{url.Port}", Url = url, SendUrl = url, OtherNodes = [] }))
            .ToList();
        var nodes = new OtherNodes(launchers);
        try
        {
            await Task.WhenAll(launchers.Select(l => l.StartAsync(cancellationToken)));
        }
        catch
        {
            await nodes.DisposeAsync();
            throw;
        }
        return nodes;
    }

    /// <summary>Stops them all at once (SIGTERM, then SIGKILL after 10 s).</summary>
    public async ValueTask DisposeAsync() => await Task.WhenAll(_launchers.Select(l => l.DisposeAsync().AsTask()));

    private static string Authority(Uri url) => url.GetLeftPart(UriPartial.Authority);
}
