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

/// <summary>No preferences known: every recipient gets the send's locale or the template's default.</summary>
internal sealed class NoRecipientLocales : IRecipientLocales
{
    private static readonly IReadOnlyDictionary<string, string> None = new Dictionary<string, string>();

    public ValueTask<IReadOnlyDictionary<string, string>> GetAsync(IReadOnlyCollection<string> userIds, CancellationToken cancellationToken) =>
        ValueTask.FromResult(None);
}
