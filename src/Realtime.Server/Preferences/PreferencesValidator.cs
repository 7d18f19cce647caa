using System.Globalization;
using System.Text.Json;
using Realtime.Server.Auth;
using Realtime.Server.Notifications;

namespace Realtime.Server.Preferences;

/// <summary>
/// The rules of a preferences document (API.md, "Preferences"). Strict: an unknown field, channel
/// or setting is an error, not ignored, so a typo never silently does nothing. Errors are keyed by
/// the path of the field at fault (<c>channels.email</c>, <c>categories.security.push</c>).
/// </summary>
internal static class PreferencesValidator
{
    public const int MaxCategories = 500;
    public const int MaxCategoryLength = SendRequestValidator.MaxCategoryLength;
    public const int MaxTimeZoneLength = 100;

    private const string LocaleField = "locale", TimeZoneField = "timeZone", ChannelsField = "channels",
        CategoriesField = "categories", QuietHoursField = "quietHours", InAppField = "inApp", PushField = "push",
        StartField = "start", EndField = "end";

    public static (PreferencesDocument? Document, Dictionary<string, string[]> Errors) Validate(JsonElement root, IReadOnlySet<string> mandatory)
    {
        var errors = new Dictionary<string, string[]>();
        void Fail(string field, string message) => errors.TryAdd(field, [message]);

        if (root.ValueKind != JsonValueKind.Object)
        {
            Fail("request", "The body must be a JSON object (the whole preferences document).");
            return (null, errors);
        }

        var fields = Fields(root, "", [LocaleField, TimeZoneField, ChannelsField, CategoriesField, QuietHoursField], Fail);

        string? locale = null;
        if (OptionalString(fields, LocaleField, LocaleField, Fail) is { } tag)
        {
            locale = LanguageTag.Normalize(tag);
            if (locale is null)
            {
                Fail(LocaleField, "locale must be a BCP 47 language tag, such as en, de-AT or zh-Hant-TW.");
            }
        }

        var timeZone = OptionalString(fields, TimeZoneField, TimeZoneField, Fail);
        if (timeZone is not null && !IsIanaTimeZone(timeZone))
        {
            Fail(TimeZoneField, "timeZone must be an IANA time zone id, such as Europe/Vienna or America/New_York.");
        }

        var channels = ChannelPreferences.AllOn;
        if (fields.TryGetValue(ChannelsField, out var channelsElement) && channelsElement.ValueKind != JsonValueKind.Null)
        {
            if (channelsElement.ValueKind != JsonValueKind.Object)
            {
                Fail(ChannelsField, "channels must be an object: { \"inApp\": true, \"push\": true }.");
            }
            else
            {
                var channelFields = Fields(channelsElement, ChannelsField + ".", [InAppField, PushField], Fail, "channel", "inApp, push");
                channels = new ChannelPreferences(
                    OptionalBool(channelFields, InAppField, $"{ChannelsField}.{InAppField}", Fail) ?? true,
                    OptionalBool(channelFields, PushField, $"{ChannelsField}.{PushField}", Fail) ?? true);
            }
        }

        var categories = new SortedDictionary<string, CategoryPreferences>(StringComparer.Ordinal);
        if (fields.TryGetValue(CategoriesField, out var categoriesElement) && categoriesElement.ValueKind != JsonValueKind.Null)
        {
            ValidateCategories(categoriesElement, mandatory, categories, Fail);
        }

        QuietHoursWindow? quietHours = null;
        if (fields.TryGetValue(QuietHoursField, out var quietElement) && quietElement.ValueKind != JsonValueKind.Null)
        {
            if (quietElement.ValueKind != JsonValueKind.Object)
            {
                Fail(QuietHoursField, "quietHours must be an object: { \"start\": \"22:00\", \"end\": \"07:00\" }, or null.");
            }
            else
            {
                var quietFields = Fields(quietElement, QuietHoursField + ".", [StartField, EndField], Fail);
                var start = TimeOfDay(quietFields, StartField, Fail);
                var end = TimeOfDay(quietFields, EndField, Fail);
                if (start is not null && end is not null)
                {
                    quietHours = new QuietHoursWindow(start, end);
                }
                if (timeZone is null && !errors.ContainsKey(TimeZoneField))
                {
                    Fail(TimeZoneField, "timeZone is required with quietHours: the window is in the user's local time.");
                }
            }
        }

        if (errors.Count > 0)
        {
            return (null, errors);
        }
        return (new PreferencesDocument(locale, timeZone, channels, new Dictionary<string, CategoryPreferences>(categories), quietHours), errors);
    }

    /// <summary>Whether <paramref name="id"/> names a zone of the IANA database on this machine (Windows names are refused).</summary>
    public static bool IsIanaTimeZone(string id)
    {
        if (id.Length is 0 or > MaxTimeZoneLength || id.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '/' or '_' or '-' or '+')) || id.Contains("..", StringComparison.Ordinal) || id.StartsWith('/'))
        {
            return false;
        }
        try
        {
            return TimeZoneInfo.TryFindSystemTimeZoneById(id, out var zone) && zone.HasIanaId;
        }
        catch (Exception ex) when (ex is ArgumentException or System.Security.SecurityException or IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static void ValidateCategories(JsonElement element, IReadOnlySet<string> mandatory, SortedDictionary<string, CategoryPreferences> categories, Action<string, string> fail)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            fail(CategoriesField, "categories must be an object: { \"<category>\": { \"inApp\": false, \"push\": false } }.");
            return;
        }
        var count = 0;
        foreach (var property in element.EnumerateObject())
        {
            if (++count > MaxCategories)
            {
                fail(CategoriesField, $"At most {MaxCategories} categories.");
                return;
            }
            var name = property.Name;
            var field = $"{CategoriesField}.{name}";
            if (name.Length is 0 or > MaxCategoryLength || name.Contains('\0') || TextRules.HasLoneSurrogate(name))
            {
                fail(CategoriesField, $"A category name must be 1 to {MaxCategoryLength} characters, without NUL or unpaired surrogates; {Shorten(name)} is not.");
                continue;
            }
            if (categories.ContainsKey(name))
            {
                fail(field, $"The category {name} is given twice.");
                continue;
            }
            if (property.Value.ValueKind != JsonValueKind.Object)
            {
                fail(field, $"{field} must be an object: {{ \"inApp\": false, \"push\": false }}.");
                continue;
            }
            var settings = Fields(property.Value, field + ".", [InAppField, PushField], fail, "channel", "inApp, push");
            var inApp = OptionalBool(settings, InAppField, $"{field}.{InAppField}", fail);
            var push = OptionalBool(settings, PushField, $"{field}.{PushField}", fail);
            if (mandatory.Contains(name))
            {
                if (inApp is false)
                {
                    fail($"{field}.{InAppField}", $"{name} is a mandatory category: it cannot be muted.");
                }
                if (push is false)
                {
                    fail($"{field}.{PushField}", $"{name} is a mandatory category: its push cannot be turned off.");
                }
            }
            categories[name] = new CategoryPreferences(inApp, push);
        }
    }

    /// <summary>The properties of <paramref name="element"/>, each known name at most once; anything else is an error naming it.</summary>
    private static Dictionary<string, JsonElement> Fields(JsonElement element, string prefix, string[] known, Action<string, string> fail,
        string what = "field", string? allowed = null)
    {
        var fields = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        foreach (var property in element.EnumerateObject())
        {
            var name = known.FirstOrDefault(k => k.Equals(property.Name, StringComparison.OrdinalIgnoreCase));
            if (name is null)
            {
                fail(prefix + Printable(property.Name), $"Unknown {what} {Shorten(property.Name)}; known: {allowed ?? string.Join(", ", known)}.");
            }
            else if (!fields.TryAdd(name, property.Value))
            {
                fail(prefix + name, $"{prefix}{name} is given twice.");
            }
        }
        return fields;
    }

    private static string? OptionalString(Dictionary<string, JsonElement> fields, string name, string field, Action<string, string> fail)
    {
        if (!fields.TryGetValue(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }
        if (value.ValueKind != JsonValueKind.String)
        {
            fail(field, $"{field} must be a string or null.");
            return null;
        }
        return value.GetString();
    }

    private static bool? OptionalBool(Dictionary<string, JsonElement> fields, string name, string field, Action<string, string> fail)
    {
        if (!fields.TryGetValue(name, out var value))
        {
            return null;
        }
        switch (value.ValueKind)
        {
            case JsonValueKind.True:
                return true;
            case JsonValueKind.False:
                return false;
            case JsonValueKind.Null:
                return null;
            default:
                fail(field, $"{field} must be true, false or null.");
                return null;
        }
    }

    /// <summary>A time of day as <c>HH:mm</c> (24-hour, two digits each), required in a quietHours object.</summary>
    private static string? TimeOfDay(Dictionary<string, JsonElement> fields, string name, Action<string, string> fail)
    {
        var field = $"{QuietHoursField}.{name}";
        if (!fields.TryGetValue(name, out var value) || value.ValueKind != JsonValueKind.String)
        {
            fail(field, $"{field} is required: a time of day as HH:mm (00:00 to 23:59).");
            return null;
        }
        var text = value.GetString()!;
        if (text.Length != 5 || !TimeOnly.TryParseExact(text, "HH:mm", CultureInfo.InvariantCulture, DateTimeStyles.None, out _))
        {
            fail(field, $"{field} must be a time of day as HH:mm (00:00 to 23:59).");
            return null;
        }
        return text;
    }

    private static string Shorten(string name) => $"'{Printable(name.Length <= 40 ? name : name[..40] + "…")}'";

    /// <summary>A name the client sent, fit to be an error key: NUL and unpaired surrogates replaced, at most 100 characters.</summary>
    private static string Printable(string name)
    {
        var text = name.Length <= MaxCategoryLength ? name : name[..MaxCategoryLength];
        var chars = text.ToCharArray();
        for (var i = 0; i < chars.Length; i++)
        {
            var paired = char.IsHighSurrogate(chars[i]) ? i + 1 < chars.Length && char.IsLowSurrogate(chars[i + 1])
                : char.IsLowSurrogate(chars[i]) ? i > 0 && char.IsHighSurrogate(chars[i - 1]) : true;
            if (chars[i] == '\0' || !paired)
            {
                chars[i] = '\uFFFD';
            }
        }
        return new string(chars);
    }
}
