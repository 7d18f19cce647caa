namespace Realtime.Server.Demo;

/// <summary><c>Realtime__DemoPage=true</c> serves the demo inbox page at <c>/</c> and its dev-token endpoint.</summary>
internal sealed class DemoOptions
{
    public const string SectionName = "Realtime";

    /// <summary>Off by default: the token endpoint hands anyone a token for any user (development only).</summary>
    public bool DemoPage { get; set; }
}
