using Dapper;
using Lib.Net.Http.WebPush.Authentication;
using Microsoft.Extensions.Options;
using Npgsql;
using Realtime.Server.Storage;

namespace Realtime.Server.Push;

/// <summary>
/// The VAPID key pair every node signs with: <c>Push__PublicKey</c>/<c>Push__PrivateKey</c> when
/// set, else a pair generated once and stored in PostgreSQL. Nodes starting at once each try to
/// insert their own pair; the first insert wins and every node reads and uses that one.
/// </summary>
internal sealed class VapidKeyStore(NpgsqlDataSource dataSource, TimeProvider time, IOptions<PushOptions> options, ILogger<VapidKeyStore> logger)
    : IStartupTask, IDisposable
{
    private const string InsertIfAbsent = """
        INSERT INTO push_vapid_keys (id, public_key, private_key, created_at) VALUES (1, @PublicKey, @PrivateKey, @Now)
        ON CONFLICT (id) DO NOTHING
        """;

    private const string SelectKeys = "SELECT public_key, private_key FROM push_vapid_keys WHERE id = 1";

    private readonly TaskCompletionSource<VapidKeys> _keys = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private VapidAuthentication? _authentication;

    /// <summary>Completes once start-up has loaded (or created) the pair.</summary>
    public Task<VapidKeys> Keys => _keys.Task;

    /// <summary>Signs VAPID tokens with the pair (after start-up).</summary>
    public VapidAuthentication Authentication => _authentication ?? throw new InvalidOperationException("The VAPID keys are not loaded yet.");

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        if (_keys.Task.IsCompleted)
        {
            return;
        }
        var configured = options.Value;
        VapidKeys keys;
        if (!string.IsNullOrWhiteSpace(configured.PublicKey))
        {
            keys = new VapidKeys(configured.PublicKey.Trim(), configured.PrivateKey!.Trim());
            PushLog.VapidKeysConfigured(logger);
        }
        else
        {
            var generated = VapidKeys.Generate();
            await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
            var inserted = await connection.ExecuteAsync(new CommandDefinition(InsertIfAbsent,
                new { generated.PublicKey, generated.PrivateKey, Now = time.GetUtcNow().UtcDateTime }, cancellationToken: cancellationToken));
            var stored = await connection.QuerySingleAsync<(string PublicKey, string PrivateKey)>(new CommandDefinition(SelectKeys, cancellationToken: cancellationToken));
            keys = new VapidKeys(stored.PublicKey, stored.PrivateKey);
            if (VapidKeys.Check(keys.PublicKey, keys.PrivateKey) is { } problem)
            {
                throw new InvalidOperationException($"The VAPID key pair stored in push_vapid_keys is unusable: {problem}");
            }
            PushLog.VapidKeysStored(logger, inserted == 1 ? "generated and stored" : "read from PostgreSQL");
        }
        _authentication = new VapidAuthentication(keys.PublicKey, keys.PrivateKey)
        {
            Subject = configured.EffectiveSubject,
            TokenCache = new VapidTokenCache(time),
        };
        _keys.TrySetResult(keys);
    }

    public void Dispose() => _authentication?.Dispose();
}

/// <summary>
/// Reuses a VAPID token per audience (push-service origin) until an hour before it expires: one
/// ES256 signature per push service and 11 hours instead of one per push.
/// </summary>
internal sealed class VapidTokenCache(TimeProvider time) : IVapidTokenCache
{
    private static readonly TimeSpan RenewBefore = TimeSpan.FromHours(1);

    /// <summary>Audiences are push-service origins, a handful; a bound keeps a flood of odd hosts from growing it.</summary>
    private const int MaxEntries = 1_000;

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, (string Token, DateTimeOffset Expires)> _tokens = new(StringComparer.Ordinal);

    public string? Get(string audience) =>
        _tokens.TryGetValue(audience, out var entry) && entry.Expires - time.GetUtcNow() > RenewBefore ? entry.Token : null;

    public void Put(string audience, DateTimeOffset expiration, string token)
    {
        if (_tokens.Count >= MaxEntries)
        {
            _tokens.Clear();
        }
        // The library passes a DateTime of UTC ticks as an offset in the local zone; the server runs in UTC either way.
        _tokens[audience] = (token, new DateTimeOffset(expiration.UtcDateTime, TimeSpan.Zero));
    }
}
