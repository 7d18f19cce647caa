using System.Text.Json;
using Realtime.IntegrationTests.Infrastructure;
using Realtime.IntegrationTests.Send;

namespace Realtime.IntegrationTests.Preferences;

/// <summary>
/// Concurrent sends to users this node has not cached share their preference look-ups (one query
/// for everyone missing meanwhile): each send must still follow its own recipients' preferences.
/// </summary>
public sealed class ConcurrentPreferenceLookupTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private RealtimeServer Server => fixture.Server;

    [Fact]
    public async Task ConcurrentSendsToUncachedUsersEachFollowTheirOwnRecipientsPreferences()
    {
        var users = Enumerable.Range(0, 40).Select(i => SendApi.NewUserId(i % 2 == 0 ? "muted" : "open")).ToList();
        var muted = users.Where((_, i) => i % 2 == 0).ToHashSet();
        await Task.WhenAll(muted.Select(user => PreferencesApi.SaveAsync(Server, user, new { categories = new { deals = new { inApp = false } } })));
        using var sender = Server.CreateApiClient(Server.Tokens.Service());

        // Singles to every user and bulks over overlapping groups, all at once: their look-ups coalesce.
        var singles = users.Select(user => (Users: new[] { user }, Response: SendApi.PostAsync(sender, new { userId = user, title = "Deal", category = "deals" })));
        var bulks = Enumerable.Range(0, 8).Select(i => users.Skip(i * 4).Take(10).ToArray())
            .Select(group => (Users: group, Response: SendApi.PostAsync(sender, new { userIds = group, title = "Deals", category = "deals" })));
        var sends = singles.Concat(bulks).ToList();
        await Task.WhenAll(sends.Select(s => s.Response));

        foreach (var (recipients, response) in sends)
        {
            var created = (await SendApi.ReadSentAsync(await response)).Select(s => s.UserId).ToList();
            Assert.Equal(recipients.Where(u => !muted.Contains(u)), created);
            Assert.Equal(recipients.Where(muted.Contains), await SuppressedAsync(await response));
        }
        foreach (var user in users)
        {
            Assert.Equal(muted.Contains(user) ? 0 : 1 + sends.Count(s => s.Users.Length > 1 && s.Users.Contains(user)),
                await SendApi.StoredCountAsync(fixture.Database, user));
        }
    }

    [Fact]
    public async Task AUserCachedWithNoSavedPreferencesWhoThenMutesIsSuppressedOnTheNextConcurrentSends()
    {
        var (ann, ben) = (SendApi.NewUserId("ann"), SendApi.NewUserId("ben"));
        using var sender = Server.CreateApiClient(Server.Tokens.Service());
        // Both cached with the defaults (neither saved any preferences).
        Assert.Equal(2, (await SendApi.ReadSentAsync(await SendApi.PostAsync(sender, new { userIds = new[] { ann, ben }, title = "Deal", category = "deals" }))).Count);

        await PreferencesApi.SaveAsync(Server, ann, new { categories = new { deals = new { inApp = false } } });
        var responses = await Task.WhenAll(Enumerable.Range(0, 10).Select(_ =>
            SendApi.PostAsync(sender, new { userIds = new[] { ann, ben, SendApi.NewUserId("new") }, title = "Deal", category = "deals" })));

        foreach (var response in responses)
        {
            Assert.DoesNotContain(ann, (await SendApi.ReadSentAsync(response)).Select(s => s.UserId));
            Assert.Equal([ann], await SuppressedAsync(response));
        }
    }

    private static async Task<List<string>> SuppressedAsync(HttpResponseMessage response)
    {
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return document.RootElement.GetProperty("suppressed").EnumerateArray().Select(s => s.GetProperty("userId").GetString()!).ToList();
    }
}
