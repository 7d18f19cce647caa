using OpenTelemetry.Resources;
using Realtime.Server.Bus;

namespace Realtime.Server.Observability;

/// <summary><c>service.instance.id</c> is the node id (as in presence and stats): which node a span or a series comes from.</summary>
internal sealed class NodeResource(NodeIdentity node) : IResourceDetector
{
    public Resource Detect() => new([new KeyValuePair<string, object>("service.instance.id", node.Id)]);
}
