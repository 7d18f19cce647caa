using System.Security.Claims;
using Microsoft.IdentityModel.Tokens;

namespace Realtime.Server.Auth;

/// <summary>
/// The user of a request that lasts as long as its connection (a hub connection, an SSE stream): only
/// the claims such a connection reads again (<c>sub</c>, roles, scopes, <c>exp</c>), in an identity of
/// its own. The token handler's identity keeps the validated token (its encoded string, parsed header
/// and payload) and every claim of it, about 3 KB held for the life of each connection; nothing of a
/// connection reads them after authentication (its expiry is the ticket's, <c>ExpiresUtc</c>).
/// Short requests keep the handler's identity as it is.
/// </summary>
internal static class LongLivedPrincipal
{
    public static bool Applies(HttpContext context) => AccessTokenQuery.IsAllowed(context.Request.Path);

    /// <summary>A copy of <paramref name="identity"/> with the claims a connection reads; its claim look-ups stay case-sensitive.</summary>
    public static ClaimsPrincipal From(ClaimsIdentity identity) =>
        new(new CaseSensitiveClaimsIdentity(
            identity.Claims.Where(claim => claim.Type is ClaimsPrincipalExtensions.SubjectClaim or ClaimsPrincipalExtensions.RoleClaim
                or ClaimsPrincipalExtensions.ScopeClaim or ClaimsPrincipalExtensions.ScpClaim or ExpiryClaim),
            identity.AuthenticationType, identity.NameClaimType, identity.RoleClaimType));

    private const string ExpiryClaim = "exp";
}
