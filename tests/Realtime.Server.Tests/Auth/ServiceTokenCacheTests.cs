using System.Security.Claims;
using System.Text;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Realtime.Server.Auth;

namespace Realtime.Server.Tests.Auth;

/// <summary>
/// A service token found valid is answered from memory until its exp; anything else (a failure, a
/// user's token, a token past its exp) is checked in full every time. A check that would now fail
/// (the parameters below swap the key) tells the two apart.
/// </summary>
public sealed class ServiceTokenCacheTests
{
    private static readonly SymmetricSecurityKey Key = new(Encoding.UTF8.GetBytes("service-token-cache-tests-key-0123456789abcdef"));
    private static readonly SymmetricSecurityKey OtherKey = new(Encoding.UTF8.GetBytes("another-key-for-service-token-cache-0123456789"));
    private static readonly DateTimeOffset Start = DateTimeOffset.UtcNow;

    [Fact]
    public async Task AServiceTokenFoundValidIsAnsweredFromMemoryWithAnIdentityOfItsOwnEachTime()
    {
        var clock = new ManualClock(Start);
        var cache = new ServiceTokenCache(clock);
        var token = Mint(scope: "notifications:send");

        var first = await cache.ValidateTokenAsync(token, Parameters(Key, clock));
        var second = await cache.ValidateTokenAsync(token, Parameters(OtherKey, clock));
        var third = await cache.ValidateTokenAsync(token, Parameters(OtherKey, clock));

        Assert.True(first.IsValid);
        Assert.True(second.IsValid);
        Assert.Same(first.SecurityToken, second.SecurityToken);
        Assert.NotSame(second.ClaimsIdentity, third.ClaimsIdentity);
        Assert.IsType<CaseSensitiveClaimsIdentity>(second.ClaimsIdentity);
        Assert.Equal(Claims(first.ClaimsIdentity), Claims(second.ClaimsIdentity));
        second.ClaimsIdentity.AddClaim(new Claim("role", "added-by-one-request"));
        Assert.DoesNotContain(third.ClaimsIdentity.Claims, c => c.Value == "added-by-one-request");
    }

    [Fact]
    public async Task AServiceTokenPastItsExpIsCheckedInFullAgain()
    {
        var clock = new ManualClock(Start);
        var cache = new ServiceTokenCache(clock);
        var token = Mint(scope: "notifications:send", lifetime: TimeSpan.FromMinutes(5));
        Assert.True((await cache.ValidateTokenAsync(token, Parameters(Key, clock))).IsValid);

        clock.Now = Start + TimeSpan.FromMinutes(5) + TimeSpan.FromSeconds(1);

        Assert.False((await cache.ValidateTokenAsync(token, Parameters(OtherKey, clock))).IsValid);
        Assert.Equal(0, cache.Count);
    }

    [Fact]
    public async Task AFailedCheckIsNotRemembered()
    {
        var clock = new ManualClock(Start);
        var cache = new ServiceTokenCache(clock);
        var token = Mint(scope: "notifications:send");

        Assert.False((await cache.ValidateTokenAsync(token, Parameters(OtherKey, clock))).IsValid);
        Assert.True((await cache.ValidateTokenAsync(token, Parameters(Key, clock))).IsValid);
    }

    [Fact]
    public async Task AUsersTokenWithoutAScopeIsCheckedInFullEveryTime()
    {
        var clock = new ManualClock(Start);
        var cache = new ServiceTokenCache(clock);
        var token = Mint(scope: null);

        Assert.True((await cache.ValidateTokenAsync(token, Parameters(Key, clock))).IsValid);
        Assert.False((await cache.ValidateTokenAsync(token, Parameters(OtherKey, clock))).IsValid);
        Assert.Equal(0, cache.Count);
    }

    [Fact]
    public async Task ItHoldsAtMostItsBoundOfTokens()
    {
        var clock = new ManualClock(Start);
        var cache = new ServiceTokenCache(clock);
        for (var i = 0; i <= ServiceTokenCache.MaxEntries; i++)
        {
            Assert.True((await cache.ValidateTokenAsync(Mint(scope: "notifications:send", subject: $"service-{i}"), Parameters(Key, clock))).IsValid);
        }

        Assert.InRange(cache.Count, 1, ServiceTokenCache.MaxEntries);
    }

    private static string Mint(string? scope, string subject = "billing-service", TimeSpan? lifetime = null)
    {
        var claims = new Dictionary<string, object> { ["sub"] = subject };
        if (scope is not null)
        {
            claims["scope"] = scope;
        }
        return new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = "realtime-tests",
            Audience = "realtime",
            Claims = claims,
            NotBefore = Start.UtcDateTime.AddMinutes(-1),
            IssuedAt = Start.UtcDateTime.AddMinutes(-1),
            Expires = (Start + (lifetime ?? TimeSpan.FromHours(1))).UtcDateTime,
            SigningCredentials = new SigningCredentials(Key, SecurityAlgorithms.HmacSha256),
        });
    }

    private static TokenValidationParameters Parameters(SecurityKey key, ManualClock clock) => new()
    {
        ValidIssuer = "realtime-tests",
        ValidAudience = "realtime",
        IssuerSigningKey = key,
        ValidAlgorithms = [SecurityAlgorithms.HmacSha256],
        ClockSkew = TimeSpan.Zero,
        // The library's own clock is the machine's: the lifetime check reads the test's clock, as the cache does.
        LifetimeValidator = (_, expires, _, _) => expires > clock.Now.UtcDateTime,
    };

    private static List<string> Claims(ClaimsIdentity identity) => identity.Claims.Select(c => $"{c.Type}={c.Value}").Order().ToList();

    private sealed class ManualClock(DateTimeOffset start) : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = start;

        public override DateTimeOffset GetUtcNow() => Now;
    }
}
