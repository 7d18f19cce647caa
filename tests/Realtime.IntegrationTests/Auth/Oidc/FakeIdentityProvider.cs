using System.Net;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Realtime.IntegrationTests.Auth.Oidc;

/// <summary>
/// A tiny but real OpenID Connect provider for the tests: its own Kestrel server in the test process,
/// serving the discovery document (<c>issuer</c> = its base address, <c>jwks_uri</c>) and a JWKS with the
/// public halves of one RSA key and one EC P-256 key, and minting RS256/ES256 tokens signed with them.
/// It counts the discovery and JWKS requests, so a test can tell whether a node fetched them at all.
/// </summary>
public sealed class FakeIdentityProvider : IAsyncDisposable
{
    public const string MetadataPath = "/.well-known/openid-configuration";
    public const string JwksPath = "/.well-known/jwks.json";
    public const string RsaKeyId = "fake-rsa-1";
    public const string EcKeyId = "fake-ec-1";

    private static readonly TimeSpan StartStopTimeout = TimeSpan.FromSeconds(10);

    private readonly Lock _lock = new();
    private readonly List<SecurityKey> _published = [];
    private readonly List<IDisposable> _ownedKeys = [];
    private readonly string _audience;
    private WebApplication _app = null!;
    private int _metadataRequests;
    private int _jwksRequests;

    private FakeIdentityProvider(string audience)
    {
        _audience = audience;
        RsaKey = NewRsaKey(RsaKeyId);
        EcKey = NewEcKey(EcKeyId);
        _published.Add(RsaKey);
        _published.Add(EcKey);
    }

    /// <summary>The authority URL (no trailing slash); also the <c>issuer</c> of the discovery document and of every token.</summary>
    public string BaseAddress { get; private set; } = null!;

    public string Issuer => BaseAddress;

    /// <summary>The published RSA key (kid <see cref="RsaKeyId"/>): tokens signed with it are RS256.</summary>
    public RsaSecurityKey RsaKey { get; }

    /// <summary>The published EC P-256 key (kid <see cref="EcKeyId"/>): tokens signed with it are ES256.</summary>
    public ECDsaSecurityKey EcKey { get; }

    public int MetadataRequests => Volatile.Read(ref _metadataRequests);

    public int JwksRequests => Volatile.Read(ref _jwksRequests);

    /// <summary>
    /// Starts a provider whose tokens carry <paramref name="audience"/> unless told otherwise. By default it
    /// listens on 127.0.0.1; with <paramref name="publicHost"/> it listens on every IPv4 interface and calls
    /// itself <c>http://{publicHost}:{port}</c> (to look like a provider on another machine).
    /// </summary>
    public static async Task<FakeIdentityProvider> StartAsync(string audience, string? publicHost = null)
    {
        var provider = new FakeIdentityProvider(audience);
        try
        {
            await provider.StartServerAsync(publicHost);
            return provider;
        }
        catch
        {
            await provider.DisposeAsync();
            throw;
        }
    }

    /// <summary>A new RSA key with the same kid as <see cref="RsaKey"/> that the provider never publishes.</summary>
    public RsaSecurityKey NewImpostorRsaKey() => NewRsaKey(RsaKeyId);

    /// <summary>A new EC P-256 key with the same kid as <see cref="EcKey"/> that the provider never publishes.</summary>
    public ECDsaSecurityKey NewImpostorEcKey() => NewEcKey(EcKeyId);

    /// <summary>Publishes a new RSA key with kid <paramref name="keyId"/> beside the others (key rotation) and returns it.</summary>
    public RsaSecurityKey PublishNewRsaKey(string keyId)
    {
        var key = NewRsaKey(keyId);
        lock (_lock)
        {
            _published.Add(key);
        }
        return key;
    }

    /// <summary>
    /// A signed JWT from this provider: RS256 with an RSA key, ES256 with an EC key (<see cref="RsaKey"/> by
    /// default). <c>iss</c> is <see cref="Issuer"/> and <c>aud</c> the provider's audience unless overridden;
    /// it is valid from a second ago (or <paramref name="notBefore"/>) for an hour (or until <paramref name="expires"/>).
    /// </summary>
    public string Mint(
        string? subject,
        SecurityKey? key = null,
        string? scope = null,
        DateTime? expires = null,
        DateTime? notBefore = null,
        string? issuerOverride = null,
        string? audienceOverride = null,
        IDictionary<string, object>? extraClaims = null)
    {
        key ??= RsaKey;
        var algorithm = key switch
        {
            RsaSecurityKey => SecurityAlgorithms.RsaSha256,
            ECDsaSecurityKey => SecurityAlgorithms.EcdsaSha256,
            _ => throw new ArgumentException($"Only RSA and EC keys sign here, not {key.GetType().Name}.", nameof(key)),
        };
        var claims = new Dictionary<string, object>();
        if (subject is not null) claims["sub"] = subject;
        if (scope is not null) claims["scope"] = scope;
        foreach (var (name, value) in extraClaims ?? new Dictionary<string, object>())
        {
            claims[name] = value;
        }
        var now = DateTime.UtcNow;
        var exp = expires ?? now.AddHours(1);
        var issuedAt = exp < now ? exp.AddHours(-1) : now.AddSeconds(-1);
        var descriptor = new SecurityTokenDescriptor
        {
            Issuer = issuerOverride ?? Issuer,
            Audience = audienceOverride ?? _audience,
            Claims = claims,
            IssuedAt = issuedAt,
            NotBefore = notBefore ?? issuedAt,
            Expires = exp,
            SigningCredentials = new SigningCredentials(key, algorithm),
        };
        return new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(descriptor);
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            using var timeout = new CancellationTokenSource(StartStopTimeout);
            await _app.StopAsync(timeout.Token);
            await _app.DisposeAsync();
        }
        lock (_lock)
        {
            foreach (var key in _ownedKeys)
            {
                key.Dispose();
            }
            _ownedKeys.Clear();
        }
    }

    private async Task StartServerAsync(string? publicHost)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls(publicHost is null ? "http://127.0.0.1:0" : "http://0.0.0.0:0");
        _app = builder.Build();

        _app.MapGet(MetadataPath, () =>
        {
            Interlocked.Increment(ref _metadataRequests);
            return Results.Text(Metadata().ToJsonString(), "application/json");
        });
        _app.MapGet(JwksPath, () =>
        {
            Interlocked.Increment(ref _jwksRequests);
            return Results.Text(Jwks().ToJsonString(), "application/json");
        });

        using var timeout = new CancellationTokenSource(StartStopTimeout);
        await _app.StartAsync(timeout.Token);

        var bound = new Uri(_app.Urls.Single());
        BaseAddress = publicHost is null
            ? $"http://{bound.Host}:{bound.Port}"
            : $"http://{publicHost}:{bound.Port}";
        if (publicHost is null && !IPAddress.IsLoopback(IPAddress.Parse(bound.Host)))
        {
            throw new InvalidOperationException($"The provider should listen on loopback, but bound {bound}.");
        }
    }

    private JsonObject Metadata() => new()
    {
        ["issuer"] = Issuer,
        ["jwks_uri"] = BaseAddress + JwksPath,
        ["authorization_endpoint"] = BaseAddress + "/authorize",
        ["token_endpoint"] = BaseAddress + "/token",
        ["response_types_supported"] = new JsonArray("code"),
        ["subject_types_supported"] = new JsonArray("public"),
        ["id_token_signing_alg_values_supported"] = new JsonArray(SecurityAlgorithms.RsaSha256, SecurityAlgorithms.EcdsaSha256),
    };

    /// <summary>The public halves only: built field by field, so no private parameter can leak into it.</summary>
    private JsonObject Jwks()
    {
        var keys = new JsonArray();
        lock (_lock)
        {
            foreach (var key in _published)
            {
                keys.Add(key switch
                {
                    RsaSecurityKey rsa => PublicJwk(JsonWebKeyConverter.ConvertFromRSASecurityKey(rsa), SecurityAlgorithms.RsaSha256),
                    ECDsaSecurityKey ec => PublicJwk(JsonWebKeyConverter.ConvertFromECDsaSecurityKey(ec), SecurityAlgorithms.EcdsaSha256),
                    _ => throw new InvalidOperationException($"Unexpected key type {key.GetType().Name}."),
                });
            }
        }
        return new JsonObject { ["keys"] = keys };
    }

    private static JsonObject PublicJwk(JsonWebKey jwk, string algorithm)
    {
        var result = new JsonObject
        {
            ["kty"] = jwk.Kty,
            ["use"] = "sig",
            ["alg"] = algorithm,
            ["kid"] = jwk.Kid,
        };
        if (jwk.Kty == JsonWebAlgorithmsKeyTypes.RSA)
        {
            result["n"] = jwk.N;
            result["e"] = jwk.E;
        }
        else
        {
            result["crv"] = jwk.Crv;
            result["x"] = jwk.X;
            result["y"] = jwk.Y;
        }
        return result;
    }

    private RsaSecurityKey NewRsaKey(string keyId)
    {
        var rsa = RSA.Create(2048);
        lock (_lock)
        {
            _ownedKeys.Add(rsa);
        }
        return new RsaSecurityKey(rsa) { KeyId = keyId };
    }

    private ECDsaSecurityKey NewEcKey(string keyId)
    {
        var ecdsa = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        lock (_lock)
        {
            _ownedKeys.Add(ecdsa);
        }
        return new ECDsaSecurityKey(ecdsa) { KeyId = keyId };
    }
}
