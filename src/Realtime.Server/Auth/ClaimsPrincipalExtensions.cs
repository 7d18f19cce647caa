using System.Security.Claims;

namespace Realtime.Server.Auth;

internal static class ClaimsPrincipalExtensions
{
    public const string SubjectClaim = "sub";
    public const string RoleClaim = "role";
    public const string ScopeClaim = "scope";
    public const string ScpClaim = "scp";

    /// <summary>The user id: the token's <c>sub</c>.</summary>
    public static string UserId(this ClaimsPrincipal user) =>
        user.FindFirst(SubjectClaim)?.Value ?? throw new InvalidOperationException("The token has no sub claim.");

    /// <summary>Scopes from <c>scope</c> (one space-separated string) or <c>scp</c> (an array, or a space-separated string).</summary>
    public static bool HasScope(this ClaimsPrincipal user, string scope) =>
        user.FindAll(c => c.Type is ScopeClaim or ScpClaim)
            .SelectMany(c => c.Value.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Contains(scope, StringComparer.Ordinal);
}
