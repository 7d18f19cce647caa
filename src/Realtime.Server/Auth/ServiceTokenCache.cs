using System.Collections.Concurrent;
using System.Security.Claims;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Realtime.Server.Auth;

/// <summary>
/// The HS256 scheme's token handler: validates as <see cref="JsonWebTokenHandler"/> does, and
/// remembers the service tokens (those with a <c>scope</c> or <c>scp</c> claim) it found valid, keyed
/// by the exact token string, until their <c>exp</c>. A backend that sends a thousand times a second
/// with one token then has it checked once, not on every request. Only successes are remembered; the
/// key, issuer and audience it was checked against never change while the node runs (one handler per
/// scheme); a token past its <c>exp</c> is checked in full again (and refused once past the clock skew).
/// Users' tokens are not remembered: they are many, and each opens few requests besides its connection.
/// </summary>
internal sealed class ServiceTokenCache(TimeProvider time) : JsonWebTokenHandler
{
    /// <summary>Service tokens are few (one or a few per backend): past this many, it starts over.</summary>
    public const int MaxEntries = 1_024;

    private readonly ConcurrentDictionary<string, Validated> _validated = new(StringComparer.Ordinal);

    /// <summary>Tokens remembered now.</summary>
    internal int Count => _validated.Count;

    public override async Task<TokenValidationResult> ValidateTokenAsync(string token, TokenValidationParameters validationParameters)
    {
        if (_validated.TryGetValue(token, out var known))
        {
            if (time.GetUtcNow().UtcDateTime < known.Token.ValidTo)
            {
                return known.Result();
            }
            _validated.TryRemove(token, out _);
        }
        var result = await base.ValidateTokenAsync(token, validationParameters);
        if (result.IsValid && result.SecurityToken is JsonWebToken validated && result.ClaimsIdentity is { } identity && IsServiceToken(identity))
        {
            if (_validated.Count >= MaxEntries)
            {
                _validated.Clear();
            }
            // A copy: the one returned is the request's own (its OnTokenValidated adds role claims to it).
            _validated[token] = new Validated(validated, Copy(identity), result.TokenType);
        }
        return result;
    }

    /// <summary>A copy of the same kind: claim look-ups of the handler's identities are case-sensitive (Clone would make them not).</summary>
    private static ClaimsIdentity Copy(ClaimsIdentity identity) =>
        identity is CaseSensitiveClaimsIdentity ? new CaseSensitiveClaimsIdentity(identity) : identity.Clone();

    private static bool IsServiceToken(ClaimsIdentity identity) =>
        identity.HasClaim(c => c.Type is ClaimsPrincipalExtensions.ScopeClaim or ClaimsPrincipalExtensions.ScpClaim);

    private sealed record Validated(JsonWebToken Token, ClaimsIdentity Identity, string? TokenType)
    {
        /// <summary>What a full validation answers, with an identity of the request's own.</summary>
        public TokenValidationResult Result() => new()
        {
            IsValid = true,
            SecurityToken = Token,
            ClaimsIdentity = Copy(Identity),
            TokenType = TokenType,
        };
    }
}
