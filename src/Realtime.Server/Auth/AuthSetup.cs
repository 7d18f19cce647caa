using System.Security.Claims;
using System.Text;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Realtime.Server.Auth;

/// <summary>
/// JWT bearer authentication: HS256 tokens signed with <c>Auth__SigningKey</c> and/or tokens from
/// an OpenID Connect authority. Each kind has its own scheme with its own keys, issuer and
/// algorithms, so a token is only ever checked against the keys meant for its algorithm.
/// </summary>
internal static class AuthSetup
{
    public const string SelectorScheme = "Bearer";
    public const string SigningKeyScheme = "SigningKey";
    public const string AuthorityScheme = "Authority";

    /// <summary>The contract allows at most 30 s (the library default is 5 min).</summary>
    public static readonly TimeSpan ClockSkew = TimeSpan.FromSeconds(30);

    private static readonly string[] AuthorityAlgorithms =
    [
        SecurityAlgorithms.RsaSha256, SecurityAlgorithms.RsaSha384, SecurityAlgorithms.RsaSha512,
        SecurityAlgorithms.EcdsaSha256, SecurityAlgorithms.EcdsaSha384, SecurityAlgorithms.EcdsaSha512,
    ];

    public static WebApplicationBuilder AddAuth(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<AuthOptions>().BindConfiguration(AuthOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        var options = builder.Configuration.GetSection(AuthOptions.SectionName).Get<AuthOptions>() ?? new AuthOptions();

        var authentication = builder.Services.AddAuthentication(DefaultScheme(options))
            .AddPolicyScheme(SelectorScheme, "JWT bearer", policy => policy.ForwardDefaultSelector = context => SelectScheme(context, options));

        if (!string.IsNullOrEmpty(options.SigningKey))
        {
            authentication.AddJwtBearer(SigningKeyScheme, jwt =>
            {
                ConfigureCommon(jwt, options);
                jwt.TokenValidationParameters.ValidIssuer = options.Issuer;
                jwt.TokenValidationParameters.IssuerSigningKey = new SymmetricSecurityKey(Encoding.UTF8.GetBytes(options.SigningKey));
                jwt.TokenValidationParameters.ValidAlgorithms = [SecurityAlgorithms.HmacSha256];
            });
            // The key never changes while the node runs, so a service token found valid stays valid until its exp.
            builder.Services.AddOptions<JwtBearerOptions>(SigningKeyScheme).Configure<TimeProvider>((jwt, time) =>
            {
                jwt.TokenHandlers.Clear();
                jwt.TokenHandlers.Add(new ServiceTokenCache(time) { MapInboundClaims = jwt.MapInboundClaims });
            });
        }

        if (!string.IsNullOrEmpty(options.Authority))
        {
            authentication.AddJwtBearer(AuthorityScheme, jwt =>
            {
                ConfigureCommon(jwt, options);
                jwt.Authority = options.Authority;
                // Plain-HTTP metadata only from this machine (AuthOptions refuses anything else at start-up).
                var authority = new Uri(options.Authority);
                jwt.RequireHttpsMetadata = !(authority.Scheme == Uri.UriSchemeHttp && authority.IsLoopback);
                jwt.TokenValidationParameters.ValidAlgorithms = AuthorityAlgorithms;
            });
        }

        builder.Services.AddAuthorizationBuilder()
            .SetFallbackPolicy(new Microsoft.AspNetCore.Authorization.AuthorizationPolicyBuilder().RequireAuthenticatedUser().Build())
            .AddPolicy(Policies.Send, policy => policy.RequireAuthenticatedUser().RequireAssertion(c => c.User.HasScope(Scopes.Send)))
            .AddPolicy(Policies.Broadcast, policy => policy.RequireAuthenticatedUser()
                .RequireAssertion(c => c.User.IsInRole(Roles.Admin) || c.User.HasScope(Scopes.Broadcast)))
            .AddPolicy(Policies.Templates, policy => policy.RequireAuthenticatedUser()
                .RequireAssertion(c => c.User.IsInRole(Roles.Admin) || c.User.HasScope(Scopes.Templates)))
            .AddPolicy(Policies.Admin, policy => policy.RequireAuthenticatedUser().RequireRole(Roles.Admin));

        return builder;
    }

    private static void ConfigureCommon(JwtBearerOptions jwt, AuthOptions options)
    {
        jwt.MapInboundClaims = false;
        // Nothing reads the token back from the ticket (GetTokenAsync), and a hub connection or SSE stream
        // keeps its ticket for as long as it lasts: saved, the token would be one more copy held per connection.
        jwt.SaveToken = false;
        jwt.TokenValidationParameters.ValidAudience = options.Audience;
        jwt.TokenValidationParameters.ValidateIssuer = true;
        jwt.TokenValidationParameters.ValidateAudience = true;
        jwt.TokenValidationParameters.ValidateLifetime = true;
        jwt.TokenValidationParameters.ValidateIssuerSigningKey = true;
        jwt.TokenValidationParameters.RequireExpirationTime = true;
        jwt.TokenValidationParameters.RequireSignedTokens = true;
        jwt.TokenValidationParameters.ClockSkew = ClockSkew;
        jwt.TokenValidationParameters.NameClaimType = ClaimsPrincipalExtensions.SubjectClaim;
        jwt.TokenValidationParameters.RoleClaimType = ClaimsPrincipalExtensions.RoleClaim;
        jwt.Events = new JwtBearerEvents
        {
            OnMessageReceived = context =>
            {
                if (string.IsNullOrEmpty(context.Token) && AccessTokenQuery.IsAllowed(context.Request.Path))
                {
                    context.Token = AccessTokenFromQuery(context.Request);
                }
                return Task.CompletedTask;
            },
            OnTokenValidated = context =>
            {
                if (context.Principal?.Identity is not ClaimsIdentity identity || string.IsNullOrEmpty(identity.FindFirst(ClaimsPrincipalExtensions.SubjectClaim)?.Value))
                {
                    context.Fail("The token has no sub claim.");
                    return Task.CompletedTask;
                }
                // The user id goes into PostgreSQL rows, indexes, channel names and logs: one rule for all (UserIdRules).
                var subjects = identity.FindAll(ClaimsPrincipalExtensions.SubjectClaim).ToList();
                if (subjects.Count != 1 || !UserIdRules.IsValid(subjects[0].Value))
                {
                    context.Fail("The token's sub is not a valid user id.");
                    return Task.CompletedTask;
                }
                AddRoleClaims(identity, options.RoleClaim);
                if (LongLivedPrincipal.Applies(context.HttpContext))
                {
                    context.Principal = LongLivedPrincipal.From(identity);
                }
                return Task.CompletedTask;
            },
        };
    }

    /// <summary>Copies roles from <c>roles</c> (and the configured claim) into <c>role</c>, so IsInRole sees them all.</summary>
    private static void AddRoleClaims(ClaimsIdentity identity, string? extraRoleClaim)
    {
        var sources = identity.Claims.Where(c => c.Type == "roles" || (!string.IsNullOrEmpty(extraRoleClaim) && c.Type == extraRoleClaim)).ToList();
        foreach (var claim in sources)
        {
            if (!identity.HasClaim(ClaimsPrincipalExtensions.RoleClaim, claim.Value))
            {
                identity.AddClaim(new Claim(ClaimsPrincipalExtensions.RoleClaim, claim.Value));
            }
        }
    }

    private static string? AccessTokenFromQuery(HttpRequest request)
    {
        var token = request.Query[AccessTokenQuery.ParameterName].ToString();
        return string.IsNullOrEmpty(token) ? null : token;
    }

    /// <summary>
    /// With one kind of token configured, its scheme is the default itself: the selector's handler
    /// would otherwise be made, and kept, for every request (a hub connection is a request that lasts
    /// as long as the connection). With both, the selector picks by the token's algorithm.
    /// </summary>
    internal static string DefaultScheme(AuthOptions options) =>
        (string.IsNullOrEmpty(options.SigningKey), string.IsNullOrEmpty(options.Authority)) switch
        {
            (false, true) => SigningKeyScheme,
            (true, false) => AuthorityScheme,
            _ => SelectorScheme,
        };

    /// <summary>Picks the scheme by the token's algorithm; with one scheme configured, always that one.</summary>
    private static string SelectScheme(HttpContext context, AuthOptions options)
    {
        var hasKey = !string.IsNullOrEmpty(options.SigningKey);
        var hasAuthority = !string.IsNullOrEmpty(options.Authority);
        if (hasKey != hasAuthority)
        {
            return hasKey ? SigningKeyScheme : AuthorityScheme;
        }

        var token = BearerToken(context.Request);
        if (token is not null && new JsonWebTokenHandler().CanReadToken(token))
        {
            try
            {
                var algorithm = new JsonWebToken(token).Alg;
                return algorithm is not null && algorithm.StartsWith("HS", StringComparison.Ordinal) ? SigningKeyScheme : AuthorityScheme;
            }
            catch (ArgumentException)
            {
                // Malformed: either scheme rejects it.
            }
        }
        return SigningKeyScheme;
    }

    private static string? BearerToken(HttpRequest request)
    {
        var header = request.Headers.Authorization.ToString();
        if (header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return header["Bearer ".Length..].Trim();
        }
        return AccessTokenQuery.IsAllowed(request.Path) ? AccessTokenFromQuery(request) : null;
    }
}
