using System.Net;
using Realtime.IntegrationTests.Infrastructure;
using Realtime.IntegrationTests.Send;

namespace Realtime.IntegrationTests.Presence;

/// <summary>The presence endpoint's user id follows the user id rules: 400 naming it, never a 500 from PostgreSQL.</summary>
public sealed class PresenceInputTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    [Theory]
    [InlineData("a%01b")]
    [InlineData("a%C2%85b")]
    public async Task APresenceQueryForAnInvalidUserIdIsAnswered400(string escapedUserId)
    {
        using var admin = fixture.Server.CreateApiClient(fixture.Server.Tokens.Admin());
        var response = await admin.GetAsync($"/api/admin/presence/{escapedUserId}");
        await ProblemAssert.IsInvalidAsync(response, "userId");
    }

    [Fact]
    public async Task APresenceQueryWithANulIsRefusedByKestrelWith400()
    {
        using var admin = fixture.Server.CreateApiClient(fixture.Server.Tokens.Admin());
        Assert.Equal(HttpStatusCode.BadRequest, (await admin.GetAsync("/api/admin/presence/a%00b")).StatusCode);
    }

    [Fact]
    public async Task APresenceQueryFor201CharactersIsAnswered400()
    {
        using var admin = fixture.Server.CreateApiClient(fixture.Server.Tokens.Admin());
        var response = await admin.GetAsync($"/api/admin/presence/{new string('u', 201)}");
        await ProblemAssert.IsInvalidAsync(response, "userId");
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync($"/api/admin/presence/{new string('u', 200)}")).StatusCode);
    }
}
