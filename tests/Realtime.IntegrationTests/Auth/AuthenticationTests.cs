using Realtime.IntegrationTests.Infrastructure;

namespace Realtime.IntegrationTests.Auth;

/// <summary>The bearer-token specification with HS256 tokens signed with <c>Auth:SigningKey</c>.</summary>
public sealed class AuthenticationTests(ServerFixture fixture) : BearerTokenSpecification<AuthenticationTests>, IRejectedTokenKinds, IClassFixture<ServerFixture>
{
    public static IEnumerable<string> RejectedKinds =>
    [
        "signed with another key",
        "expired 60 s ago",
        "not valid for another 2 minutes",
        "for another audience",
        "from another issuer",
        "unsigned (alg none)",
        "without sub",
        "not a JWT at all",
    ];

    protected override RealtimeServer Server => fixture.Server;

    private TestTokens Tokens => fixture.Server.Tokens;

    protected override string Mint(string subject, string? scope = null, DateTime? expires = null, IDictionary<string, object>? extraClaims = null) =>
        Tokens.Mint(subject, scope, expires: expires, extraClaims: extraClaims);

    protected override string RejectedToken(string kind, string? scope = null) => kind switch
    {
        "signed with another key" => Tokens.Mint("alice", scope, keyOverride: "another-signing-key-of-at-least-32-bytes!!"),
        "expired 60 s ago" => Tokens.Mint("alice", scope, expires: DateTime.UtcNow.AddSeconds(-60)),
        "not valid for another 2 minutes" => Tokens.Mint("alice", scope, notBefore: DateTime.UtcNow.AddMinutes(2)),
        "for another audience" => Tokens.Mint("alice", scope, audienceOverride: "someone-else"),
        "from another issuer" => Tokens.Mint("alice", scope, issuerOverride: "https://issuer.example"),
        "unsigned (alg none)" => Tokens.Unsigned("alice"),
        "without sub" => Tokens.Mint(null, scope),
        "not a JWT at all" => "garbage-that-is-no-token",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };
}
