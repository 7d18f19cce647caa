using System.Text.RegularExpressions;
using Dapper;
using Realtime.IntegrationTests.Infrastructure;
using Realtime.IntegrationTests.Send;
using static Realtime.IntegrationTests.Templates.TemplatesApiClient;

namespace Realtime.IntegrationTests.Templates;

/// <summary>Each send uses one template version whole, even while the template is edited.</summary>
public sealed partial class TemplateVersionTests(TemplatesFixture fixture) : IClassFixture<TemplatesFixture>
{
    private const int Edits = 40;
    private const int Senders = 4;
    private static readonly TimeSpan RaceTimeout = TimeSpan.FromSeconds(60);

    private RealtimeServer Server => fixture.Server;

    /// <summary>Edit <paramref name="edit"/>: every text of every locale names it.</summary>
    private static object Version(int edit) => new
    {
        defaultLocale = "en",
        locales = new Dictionary<string, object>
        {
            ["en"] = new { title = $"Edit {edit} en {{{{ n }}}}", body = $"Edit {edit} en body" },
            ["de"] = new { title = $"Edit {edit} de {{{{ n }}}}", body = $"Edit {edit} de body" },
        },
    };

    [Fact]
    public async Task EverySendMadeWhileTheTemplateIsEditedRendersOneVersionForAllItsRecipients()
    {
        var key = NewKey("race");
        using var admin = Server.CreateApiClient(Server.Tokens.Admin());
        await SaveAsync(admin, key, Version(0));
        // Two recipients in each locale: one send renders both locales.
        var recipients = new[] { SendApi.NewUserId("race-en1"), SendApi.NewUserId("race-de1"), SendApi.NewUserId("race-en2"), SendApi.NewUserId("race-de2") };
        fixture.Locales.Preferred[recipients[1]] = "de";
        fixture.Locales.Preferred[recipients[3]] = "de-AT";

        using var stop = new CancellationTokenSource(RaceTimeout);
        var editing = true;
        var editor = Task.Run(async () =>
        {
            try
            {
                for (var edit = 1; edit <= Edits; edit++)
                {
                    await SaveAsync(admin, key, Version(edit));
                }
            }
            finally
            {
                Volatile.Write(ref editing, false);
            }
        });
        var sent = 0;
        var senders = Enumerable.Range(0, Senders).Select(sender => Task.Run(async () =>
        {
            using var service = Server.CreateApiClient(Server.Tokens.Service());
            for (var n = 0; Volatile.Read(ref editing) || n < 3; n++)
            {
                stop.Token.ThrowIfCancellationRequested();
                await SendApi.ReadSentAsync(await SendApi.PostAsync(service, new { userIds = recipients, template = key, variables = new { n = $"{sender}-{n}" } }));
                Interlocked.Increment(ref sent);
            }
        })).ToList();
        await Task.WhenAll(senders.Append(editor)).WaitAsync(RaceTimeout);

        await using var connection = await fixture.Database.OpenAsync();
        var rows = (await connection.QueryAsync<(string UserId, string Title, string Body)>(
            "SELECT n.user_id, c.title, c.body FROM notifications n JOIN notification_contents c ON c.id = n.content_id WHERE n.user_id = ANY(@recipients)", new { recipients })).ToList();
        Assert.Equal(sent * recipients.Length, rows.Count);

        var versionsSeen = new HashSet<int>();
        foreach (var send in rows.GroupBy(r => TitlePattern().Match(r.Title).Groups["n"].Value))
        {
            var parsed = send.Select(r => (r.UserId, Title: TitlePattern().Match(r.Title), Body: BodyPattern().Match(r.Body))).ToList();
            Assert.All(parsed, p => Assert.True(p.Title.Success && p.Body.Success, $"Unexpected text: {p.Title.Value} / {p.Body.Value}"));
            var edits = parsed.SelectMany(p => new[] { p.Title.Groups["edit"].Value, p.Body.Groups["edit"].Value }).Distinct().ToList();
            Assert.True(edits.Count == 1, $"Send {send.Key} mixes versions: {string.Join(" | ", send.Select(r => $"{r.UserId}: {r.Title} / {r.Body}"))}");
            foreach (var p in parsed)
            {
                var locale = fixture.Locales.Preferred.ContainsKey(p.UserId) ? "de" : "en";
                Assert.Equal(locale, p.Title.Groups["locale"].Value);
                Assert.Equal(locale, p.Body.Groups["locale"].Value);
            }
            versionsSeen.Add(int.Parse(edits[0]));
        }
        Assert.Equal(sent, rows.Select(r => TitlePattern().Match(r.Title).Groups["n"].Value).Distinct().Count());
        Assert.True(versionsSeen.Count > 1, $"The sends should have met several versions while it was edited; saw {string.Join(", ", versionsSeen)} in {sent} sends.");
    }

    [GeneratedRegex("^Edit (?<edit>[0-9]+) (?<locale>en|de) (?<n>[0-9]+-[0-9]+)$")]
    private static partial Regex TitlePattern();

    [GeneratedRegex("^Edit (?<edit>[0-9]+) (?<locale>en|de) body$")]
    private static partial Regex BodyPattern();
}
