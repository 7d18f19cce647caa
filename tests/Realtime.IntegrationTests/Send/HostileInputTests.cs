using System.Net;
using System.Net.Http.Json;
using System.Text;
using Dapper;
using Npgsql;
using Realtime.IntegrationTests.Infrastructure;
using Realtime.Server.Notifications;

namespace Realtime.IntegrationTests.Send;

/// <summary>
/// Inputs an attacker tries on the write path: what PostgreSQL would refuse is refused at
/// validation (400 naming the field), on sends and broadcasts alike, and the body limit counts
/// body bytes, not the chunked framing around them.
/// </summary>
public sealed class HostileInputTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    private RealtimeServer Server => fixture.Server;

    public static TheoryData<string> Numbers =>
    [
        "0", "-0", "1", "-1.5", "1e999999", "1e131071", "1e131072", "9e131071", "10e131071", "0.1e131072", "0.10e131073",
        "1000e131068", "1000e131069", "0.001e131074", "0.001e131075", "1E+131071", "-1e131072",
        "1e-16383", "1e-16384", "1.5e-16383", "123.456e-16380", "123.456e-16381", "1.0e-16382",
        "0e999999", "0e-999999", "0e-16383", "0.0e-16383", "-0.0e-16383", "0.0e131072", "0e1073741822", "0e1073741823",
        "1e2147483647", "1e-2147483648", "1e99999999999999999999", "0e99999999999999999999", "12345678901234567890.000", "1e+0", "5E-3",
    ];

    /// <summary>The validator's rule for numbers is PostgreSQL's own: it accepts exactly what jsonb stores, and knows its stored length.</summary>
    [Theory]
    [MemberData(nameof(Numbers))]
    public async Task TheValidatorAcceptsExactlyTheNumbersJsonbCanStore(string number)
    {
        await using var connection = await fixture.Database.OpenAsync();
        string? stored;
        try
        {
            stored = await connection.ExecuteScalarAsync<string>("SELECT (@json::jsonb) ->> 'n'", new { json = $$"""{"n":{{number}}}""" });
        }
        catch (PostgresException ex) when (ex.SqlState is "22003" or "22P02")
        {
            stored = null;
        }

        Assert.Equal(stored is not null, JsonbNumbers.IsStorable(number));
        Assert.Equal(stored?.Length, JsonbNumbers.StoredLength(number));
    }

    [Fact]
    public async Task ABroadcastWithANumberJsonbCannotStoreIsAnswered400NamingData()
    {
        using var admin = Server.CreateApiClient(Server.Tokens.Admin());
        var response = await admin.PostAsync("/api/broadcasts", new StringContent("""{"title":"t","data":{"n":1e999999}}""", Encoding.UTF8, "application/json"));
        await ProblemAssert.IsInvalidAsync(response, "data");
    }

    [Fact]
    public async Task ABroadcastWithAKeyGivenTwiceIsAnswered400()
    {
        using var admin = Server.CreateApiClient(Server.Tokens.Admin());
        var response = await admin.PostAsync("/api/broadcasts", new StringContent("""{"title":"a","title":"b"}""", Encoding.UTF8, "application/json"));
        await ProblemAssert.IsInvalidAsync(response, "title");
    }

    [Fact]
    public async Task AnIdempotencyKeyOfTheMaximumLengthFromASenderOfTheMaximumLengthIsStored()
    {
        var sender = new string('s', 199) + "\u00e9"; // 200 characters, 201 bytes of UTF-8
        using var client = Server.CreateApiClient(Server.Tokens.Mint(sender, scope: "notifications:send"));
        var user = SendApi.NewUserId();
        var body = new { userId = user, title = "t", idempotencyKey = new string('\u4e16', 200) }; // 600 bytes of UTF-8

        await SendApi.ReadSentAsync(await SendApi.PostAsync(client, body));
        await SendApi.ReadSentAsync(await SendApi.PostAsync(client, body), HttpStatusCode.OK);
    }

    /// <summary>About 210 KB of body in 16-byte chunks: some 80 KB of chunk framing on top, which must not count.</summary>
    [Fact]
    public async Task ABodyUnder256KiBSentInSmallChunksIsAcceptedWhateverItsFraming()
    {
        var recipients = Enumerable.Range(0, 1000).Select(i => $"{i}-{Guid.NewGuid():N}".PadRight(200, 'x')).ToArray();
        var json = Encoding.UTF8.GetBytes(System.Text.Json.JsonSerializer.Serialize(new { userIds = recipients, title = "chunky" }));
        Assert.InRange(json.Length, 200_000, 256 * 1024);
        using var client = Server.CreateApiClient(Server.Tokens.Service());

        var response = await client.PostAsync(SendApi.Path, new SmallChunksContent(json, chunkSize: 16));

        Assert.Equal(1000, (await SendApi.ReadSentAsync(response)).Count);
    }

    /// <summary>Written in many small writes with no length: HttpClient sends each as its own chunk.</summary>
    private sealed class SmallChunksContent(byte[] bytes, int chunkSize) : HttpContent
    {
        protected override async Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context)
        {
            for (var offset = 0; offset < bytes.Length; offset += chunkSize)
            {
                await stream.WriteAsync(bytes.AsMemory(offset, Math.Min(chunkSize, bytes.Length - offset)));
                await stream.FlushAsync();
            }
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}
