using Microsoft.AspNetCore.SignalR;
using Realtime.Server.Auth;

namespace Realtime.Server.Live;

/// <summary>A hub connection's user is the token's <c>sub</c> (SignalR's default reads a claim we don't map).</summary>
internal sealed class SubjectUserIdProvider : IUserIdProvider
{
    public string? GetUserId(HubConnectionContext connection) =>
        connection.User.FindFirst(ClaimsPrincipalExtensions.SubjectClaim)?.Value;
}
