using System.Reflection;
using System.Security.Cryptography;

namespace Realtime.Server.Demo;

/// <summary>
/// The demo page's files, embedded in the server (<c>Demo/Page</c>), so a plain build serves
/// them without Node: the page, its script and style, the SDK's browser bundle and its service
/// worker (both built from <c>client-js</c> and checked against a fresh build by its tests).
/// </summary>
internal sealed class DemoAssets
{
    private const string ResourcePrefix = "Realtime.Server.Demo.Page.";

    private static readonly Dictionary<string, string> ContentTypes = new(StringComparer.OrdinalIgnoreCase)
    {
        [".html"] = "text/html; charset=utf-8",
        [".js"] = "text/javascript; charset=utf-8",
        [".css"] = "text/css; charset=utf-8",
        [".svg"] = "image/svg+xml",
    };

    private readonly Dictionary<string, Asset> assets = new(StringComparer.Ordinal);

    public DemoAssets()
    {
        var assembly = typeof(DemoAssets).Assembly;
        foreach (var name in assembly.GetManifestResourceNames().Where(n => n.StartsWith(ResourcePrefix, StringComparison.Ordinal)))
        {
            var fileName = name[ResourcePrefix.Length..];
            using var stream = assembly.GetManifestResourceStream(name)!;
            using var buffer = new MemoryStream();
            stream.CopyTo(buffer);
            var bytes = buffer.ToArray();
            var etag = $"\"{Convert.ToHexStringLower(SHA256.HashData(bytes))[..16]}\"";
            var type = ContentTypes.GetValueOrDefault(Path.GetExtension(fileName), "application/octet-stream");
            assets[fileName] = new Asset(bytes, type, etag);
        }
    }

    public IEnumerable<string> Names => assets.Keys;

    /// <summary>The file, with an ETag so that a reload revalidates instead of downloading it again.</summary>
    public IResult Serve(HttpContext context, string fileName)
    {
        if (!assets.TryGetValue(fileName, out var asset))
        {
            return TypedResults.NotFound();
        }
        context.Response.Headers.ETag = asset.ETag;
        context.Response.Headers.CacheControl = "no-cache";
        if (context.Request.Headers.IfNoneMatch == asset.ETag)
        {
            return TypedResults.StatusCode(StatusCodes.Status304NotModified);
        }
        return TypedResults.Bytes(asset.Bytes, asset.ContentType);
    }

    private sealed record Asset(byte[] Bytes, string ContentType, string ETag);
}
