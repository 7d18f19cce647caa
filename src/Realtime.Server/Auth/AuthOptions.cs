using System.ComponentModel.DataAnnotations;
using System.Text;

namespace Realtime.Server.Auth;

internal sealed class AuthOptions : IValidatableObject
{
    public const string SectionName = "Auth";

    /// <summary>HS256 key, UTF-8 text; at least 32 bytes (RFC 7518 §3.2: a key as long as the hash).</summary>
    public string? SigningKey { get; set; }

    public string? Issuer { get; set; }

    public string? Audience { get; set; }

    /// <summary>OpenID Connect authority whose JWKS signs RS256/ES256 tokens.</summary>
    public string? Authority { get; set; }

    /// <summary>An extra claim to read roles from, beside <c>role</c> and <c>roles</c>.</summary>
    public string? RoleClaim { get; set; }

    public const int MinimumSigningKeyBytes = 32;

    /// <summary>Signing keys are fetched from the authority: over https, or plain http from a local development provider.</summary>
    public static bool AllowsMetadataOver(Uri authority) => authority.Scheme == "https" || authority.IsLoopback;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (string.IsNullOrEmpty(SigningKey) && string.IsNullOrEmpty(Authority))
        {
            yield return new ValidationResult("Set Auth__SigningKey (HS256) or Auth__Authority (OpenID Connect).", [nameof(SigningKey)]);
        }

        if (!string.IsNullOrEmpty(SigningKey))
        {
            if (Encoding.UTF8.GetByteCount(SigningKey) < MinimumSigningKeyBytes)
            {
                yield return new ValidationResult($"Auth__SigningKey must be at least {MinimumSigningKeyBytes} bytes of UTF-8.", [nameof(SigningKey)]);
            }

            if (string.IsNullOrEmpty(Issuer))
            {
                yield return new ValidationResult("Auth__Issuer is required with Auth__SigningKey.", [nameof(Issuer)]);
            }
        }

        if (string.IsNullOrEmpty(Audience))
        {
            yield return new ValidationResult("Auth__Audience is required.", [nameof(Audience)]);
        }

        if (!string.IsNullOrEmpty(Authority)
            && !(Uri.TryCreate(Authority, UriKind.Absolute, out var authority) && authority.Scheme is "http" or "https" && authority.Host.Length > 0))
        {
            yield return new ValidationResult("Auth__Authority must be an absolute http(s) URL.", [nameof(Authority)]);
        }
        else if (!string.IsNullOrEmpty(Authority) && !AllowsMetadataOver(new Uri(Authority)))
        {
            yield return new ValidationResult("Auth__Authority must use https (plain http only on this machine's loopback).", [nameof(Authority)]);
        }
    }
}
