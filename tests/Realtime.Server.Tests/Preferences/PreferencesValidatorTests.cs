using System.Text.Json;
using Realtime.Server.Preferences;

namespace Realtime.Server.Tests.Preferences;

public sealed class PreferencesValidatorTests
{
    private static readonly IReadOnlySet<string> Mandatory = new HashSet<string> { "system", "security" };

    private static (PreferencesDocument? Document, Dictionary<string, string[]> Errors) Validate(string json)
    {
        using var document = JsonDocument.Parse(json);
        return PreferencesValidator.Validate(document.RootElement, Mandatory);
    }

    [Fact]
    public void TheContractsExampleIsStoredAsGivenWithBothChannelsSpelledOut()
    {
        var (document, errors) = Validate("""
            { "locale": "de-AT", "timeZone": "Europe/Vienna",
              "channels": { "push": true },
              "categories": { "marketing": { "inApp": false }, "order.shipped": { "push": false } },
              "quietHours": { "start": "22:00", "end": "07:00" } }
            """);
        Assert.Empty(errors);
        Assert.Equal("de-AT", document!.Locale);
        Assert.Equal("Europe/Vienna", document.TimeZone);
        Assert.Equal(new ChannelPreferences(true, true), document.Channels);
        Assert.Equal(["marketing", "order.shipped"], document.Categories.Keys);
        Assert.Equal(new CategoryPreferences(false, null), document.Categories["marketing"]);
        Assert.Equal(new CategoryPreferences(null, false), document.Categories["order.shipped"]);
        Assert.Equal(new QuietHoursWindow("22:00", "07:00"), document.QuietHours);
    }

    [Fact]
    public void AnEmptyDocumentIsTheDefaults()
    {
        var (document, errors) = Validate("{}");
        Assert.Empty(errors);
        Assert.Equal(PreferencesDocument.Default with { Categories = document!.Categories }, document);
        Assert.Empty(document.Categories);
    }

    [Theory]
    [InlineData("""{ "colour": "blue" }""", "colour")]
    [InlineData("""{ "channels": { "email": false } }""", "channels.email")]
    [InlineData("""{ "channels": { "push": "no" } }""", "channels.push")]
    [InlineData("""{ "channels": [] }""", "channels")]
    [InlineData("""{ "categories": { "a": { "sms": false } } }""", "categories.a.sms")]
    [InlineData("""{ "categories": { "a": false } }""", "categories.a")]
    [InlineData("""{ "categories": { "": { "push": false } } }""", "categories")]
    [InlineData("""{ "categories": { "system": { "inApp": false } } }""", "categories.system.inApp")]
    [InlineData("""{ "categories": { "security": { "push": false } } }""", "categories.security.push")]
    [InlineData("""{ "timeZone": "Mars/Olympus_Mons" }""", "timeZone")]
    [InlineData("""{ "timeZone": "W. Europe Standard Time" }""", "timeZone")]
    [InlineData("""{ "timeZone": "../../etc/passwd" }""", "timeZone")]
    [InlineData("""{ "timeZone": 1 }""", "timeZone")]
    [InlineData("""{ "locale": "de_AT" }""", "locale")]
    [InlineData("""{ "quietHours": { "start": "22:00", "end": "07:00" } }""", "timeZone")]
    [InlineData("""{ "timeZone": "UTC", "quietHours": { "start": "24:00", "end": "07:00" } }""", "quietHours.start")]
    [InlineData("""{ "timeZone": "UTC", "quietHours": { "start": "22:00", "end": "7:00" } }""", "quietHours.end")]
    [InlineData("""{ "timeZone": "UTC", "quietHours": { "start": "22:00" } }""", "quietHours.end")]
    [InlineData("""{ "timeZone": "UTC", "quietHours": { "start": "22:00", "end": "07:00", "days": [] } }""", "quietHours.days")]
    [InlineData("""{ "timeZone": "UTC", "quietHours": "22-07" }""", "quietHours")]
    [InlineData("""{ "locale": "en", "locale": "de" }""", "locale")]
    [InlineData("""[]""", "request")]
    public void ABadDocumentIsRefusedNamingTheFieldAtFault(string json, string field)
    {
        var (document, errors) = Validate(json);
        Assert.Null(document);
        Assert.True(errors.ContainsKey(field), $"errors: {string.Join(", ", errors.Keys)}");
    }

    [Fact]
    public void FiveHundredCategoriesAreFineAndOneMoreIsNot()
    {
        string Document(int count) => JsonSerializer.Serialize(new { categories = Enumerable.Range(0, count).ToDictionary(i => $"c{i}", _ => new { push = false }) });
        Assert.Empty(Validate(Document(500)).Errors);
        Assert.True(Validate(Document(501)).Errors.ContainsKey("categories"));
    }

    [Fact]
    public void ACategoryNameOfAHundredCharactersIsFineAndLongerIsNot()
    {
        string Document(int length) => JsonSerializer.Serialize(new { categories = new Dictionary<string, object> { [new string('c', length)] = new { push = false } } });
        Assert.Empty(Validate(Document(100)).Errors);
        Assert.True(Validate(Document(101)).Errors.ContainsKey("categories"));
    }

    [Fact]
    public void MandatoryCategoriesMayBeListedWithEverythingOn()
    {
        var (document, errors) = Validate("""{ "categories": { "system": { "inApp": true, "push": true } } }""");
        Assert.Empty(errors);
        Assert.NotNull(document);
    }
}
