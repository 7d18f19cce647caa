using System.Net;
using System.Net.Http.Json;
using Realtime.IntegrationTests.Infrastructure;

namespace Realtime.IntegrationTests.Templates;

/// <summary>Templates and preferences together: the locale a user saved picks the template's language.</summary>
public sealed class PreferredLocaleTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private RealtimeServer Server => fixture.Server;

    [Fact]
    public async Task EachRecipientReadsTheTemplateInTheLocaleOfTheirPreferences()
    {
        var key = TemplatesApiClient.NewKey("order-shipped");
        using var admin = Server.CreateApiClient(Server.Tokens.Admin());
        await TemplatesApiClient.SaveAsync(admin, key, new
        {
            defaultLocale = "en",
            locales = new Dictionary<string, object>
            {
                ["en"] = new { title = "Order {{ orderId }} shipped" },
                ["de"] = new { title = "Bestellung {{ orderId }} ist unterwegs" },
            },
        });
        var austrian = "locale-at-" + Guid.NewGuid().ToString("N")[..8];
        var unset = "locale-none-" + Guid.NewGuid().ToString("N")[..8];
        using (var user = Server.CreateApiClient(Server.Tokens.User(austrian)))
        {
            var saved = await user.PutAsJsonAsync("/api/preferences", new { locale = "de-AT" });
            Assert.Equal(HttpStatusCode.OK, saved.StatusCode);
        }

        using var service = Server.CreateApiClient(Server.Tokens.Service());
        var sent = await service.PostAsJsonAsync("/api/notifications", new { userIds = new[] { austrian, unset }, template = key, variables = new { orderId = "123" } });
        Assert.Equal(HttpStatusCode.Created, sent.StatusCode);

        using var austrianInbox = new InboxClient(Server, austrian);
        using var unsetInbox = new InboxClient(Server, unset);
        Assert.Equal("Bestellung 123 ist unterwegs", (await austrianInbox.ListAsync()).GetProperty("items")[0].GetProperty("title").GetString());
        Assert.Equal("Order 123 shipped", (await unsetInbox.ListAsync()).GetProperty("items")[0].GetProperty("title").GetString());
    }
}
