using System.Collections.Concurrent;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Realtime.IntegrationTests.Infrastructure;
using Realtime.Server.Templates;

namespace Realtime.IntegrationTests.Templates;

/// <summary>Users' preferred locales as the test sets them: the stand-in for user preferences.</summary>
internal sealed class TestRecipientLocales : IRecipientLocales
{
    public ConcurrentDictionary<string, string> Preferred { get; } = new(StringComparer.Ordinal);

    public ValueTask<IReadOnlyDictionary<string, string>> GetAsync(IReadOnlyCollection<string> userIds, CancellationToken cancellationToken) =>
        ValueTask.FromResult<IReadOnlyDictionary<string, string>>(
            userIds.Where(Preferred.ContainsKey).ToDictionary(u => u, u => Preferred[u], StringComparer.Ordinal));
}

/// <summary>One node whose users' preferred locales the tests set (<see cref="Locales"/>).</summary>
public sealed class TemplatesFixture : IAsyncLifetime
{
    internal TestRecipientLocales Locales { get; } = new();

    public TestDatabase Database { get; private set; } = null!;

    public RealtimeServer Server { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Database = await TestDatabase.CreateAsync();
        Server = await RealtimeServer.StartAsync(Database.ConnectionString,
            configureServices: services => services.AddSingleton<IRecipientLocales>(Locales));
    }

    public async Task DisposeAsync()
    {
        await Server.DisposeAsync();
        await Database.DisposeAsync();
    }
}

/// <summary>The template endpoints as an admin calls them.</summary>
internal static class TemplatesApiClient
{
    public const string TemplatesPath = "/api/templates";

    /// <summary>A key no other test uses (test classes may share a database).</summary>
    public static string NewKey(string prefix = "t") => $"{prefix}-{Guid.NewGuid():N}";

    public static Task<HttpResponseMessage> PutAsync(HttpClient client, string key, object document) =>
        PutAsync(client, key, JsonSerializer.Serialize(document));

    public static Task<HttpResponseMessage> PutAsync(HttpClient client, string key, string json) =>
        client.PutAsync($"{TemplatesPath}/{key}", new StringContent(json, Encoding.UTF8, "application/json"));

    /// <summary>Stores a template and returns its version, failing on anything but 200/201.</summary>
    public static async Task<int> SaveAsync(HttpClient client, string key, object document)
    {
        var response = await PutAsync(client, key, document);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"PUT {key} answered {(int)response.StatusCode}: {text}");
        return JsonDocument.Parse(text).RootElement.GetProperty("version").GetInt32();
    }

    /// <summary>A one-locale template with the given title.</summary>
    public static object Simple(string title, string? body = null, string? link = null) =>
        new { defaultLocale = "en", locales = new { en = new { title, body, link } } };

    public static async Task<JsonElement> ReadJsonAsync(HttpResponseMessage response) =>
        (await response.Content.ReadFromJsonAsync<JsonElement>());
}
