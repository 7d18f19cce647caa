using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using Realtime.IntegrationTests.Infrastructure;
using Realtime.IntegrationTests.Send;
using Realtime.Server.Templates;
using static Realtime.IntegrationTests.Templates.TemplatesApiClient;

namespace Realtime.IntegrationTests.Templates;

/// <summary>Two nodes on one database and Redis: a template changed on one node is used by the other at once.</summary>
public sealed class TemplateCacheTwoNodeTests(ScaleOutFixture cluster) : IClassFixture<ScaleOutFixture>
{
    /// <summary>Well inside the cache's own entry lifetime: only the bus can make a node see the change this soon.</summary>
    private static readonly TimeSpan WellBeforeExpiry = TemplateCache.EntryLifetime / 2;

    private static async Task<string> SendTitleAsync(RealtimeServer node, string key, string user)
    {
        using var service = node.CreateApiClient(node.Tokens.Service());
        var response = await SendApi.PostAsync(service, new { userId = user, template = key, variables = new { } });
        var sent = await SendApi.ReadSentAsync(response);
        var inbox = await SendApi.InboxAsync(node, user);
        return inbox.Single(n => n.GetProperty("id").GetInt64() == sent.Single().Id).GetProperty("title").GetString()!;
    }

    [Fact]
    public async Task ATemplateReplacedOnNodeBIsRenderedNewOnNodeAWhoseCacheHeldTheOldVersion()
    {
        var key = NewKey("two-node");
        var user = SendApi.NewUserId();
        using var adminB = cluster.B.CreateApiClient(cluster.B.Tokens.Admin());
        await SaveAsync(adminB, key, Simple("First"));
        Assert.Equal("First", await SendTitleAsync(cluster.A, key, user)); // now in A's cache

        var clock = Stopwatch.StartNew();
        await SaveAsync(adminB, key, Simple("Second"));
        await Eventually.WaitUntilAsync(() => SendTitleAsync(cluster.A, key, user), title => title == "Second", WellBeforeExpiry,
            "rendered from the new version on node A", interval: TimeSpan.FromMilliseconds(50));
        Assert.True(clock.Elapsed < WellBeforeExpiry);
    }

    [Fact]
    public async Task ATemplateDeletedOnNodeAIsUnknownOnNodeBAtOnce()
    {
        var key = NewKey("two-node-delete");
        var user = SendApi.NewUserId();
        using var adminA = cluster.A.CreateApiClient(cluster.A.Tokens.Admin());
        await SaveAsync(adminA, key, Simple("Here"));
        Assert.Equal("Here", await SendTitleAsync(cluster.B, key, user)); // now in B's cache

        Assert.Equal(System.Net.HttpStatusCode.NoContent, (await adminA.DeleteAsync($"{TemplatesPath}/{key}")).StatusCode);
        using var serviceB = cluster.B.CreateApiClient(cluster.B.Tokens.Service());
        await Eventually.WaitUntilAsync(
            async () => (int)(await SendApi.PostAsync(serviceB, new { userId = user, template = key })).StatusCode,
            status => status == 400, WellBeforeExpiry, "refused as unknown on node B", interval: TimeSpan.FromMilliseconds(50));
    }
}
