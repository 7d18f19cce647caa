namespace Realtime.Server.Auth;

internal static class Scopes
{
    public const string Send = "notifications:send";
    public const string Broadcast = "notifications:broadcast";
    public const string Templates = "templates:write";
}

internal static class Roles
{
    public const string Admin = "admin";
}

internal static class Policies
{
    public const string Send = "send";
    public const string Broadcast = "broadcast";
    public const string Admin = "admin";
    public const string Templates = "templates";
}
