namespace Realtime.Server.Templates;

/// <summary>
/// Each recipient's preferred locale (a BCP 47 tag), for picking a template's language. The
/// boundary to user preferences: a user without one is simply absent from the answer.
/// </summary>
internal interface IRecipientLocales
{
    /// <summary>The preferred locale of those of <paramref name="userIds"/> that have one, in one look-up.</summary>
    ValueTask<IReadOnlyDictionary<string, string>> GetAsync(IReadOnlyCollection<string> userIds, CancellationToken cancellationToken);
}

/// <summary>The locales users saved in their preferences (<see cref="Preferences.PreferencesCache"/>: one look-up for many users).</summary>
internal sealed class PreferredRecipientLocales(Preferences.PreferencesCache preferences) : IRecipientLocales
{
    public async ValueTask<IReadOnlyDictionary<string, string>> GetAsync(IReadOnlyCollection<string> userIds, CancellationToken cancellationToken)
    {
        var all = await preferences.GetManyAsync(userIds, cancellationToken);
        return all.Values.Where(p => p.Locale is not null).ToDictionary(p => p.UserId, p => p.Locale!, StringComparer.Ordinal);
    }
}
