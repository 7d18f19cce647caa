using System.Buffers;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Realtime.Server.Operations;

/// <summary>
/// Reads a JSON request body within a size limit, turning every client mistake into a problem
/// response that names the field at fault (never an exception that would become a 500).
/// </summary>
internal static class RequestBody
{
    public const string WholeBodyField = "request";

    /// <summary>
    /// The wire types, refusing a key given twice (<c>{"userId":"bob","userId":"alice"}</c>):
    /// parsers disagree on which one wins, and a proxy may have checked the other.
    /// </summary>
    private static readonly ConditionalWeakTable<JsonSerializerOptions, JsonSerializerOptions> StrictOptions = new();

    private static JsonTypeInfo Strict<T>(JsonTypeInfo<T> typeInfo) =>
        StrictOptions.GetValue(typeInfo.Options, options => new JsonSerializerOptions(options) { AllowDuplicateProperties = false })
            .GetTypeInfo(typeof(T));

    public static async Task<(T? Value, ProblemHttpResult? Problem)> ReadJsonAsync<T>(HttpContext context, int maxBytes, JsonTypeInfo<T> typeInfo, CancellationToken cancellationToken)
        where T : class
    {
        var (bytes, problem) = await ReadBytesAsync(context, maxBytes, cancellationToken);
        if (problem is not null)
        {
            return (null, problem);
        }
        try
        {
            var value = (T?)JsonSerializer.Deserialize(bytes, Strict(typeInfo));
            return value is null ? (null, Invalid(WholeBodyField, "The body must be a JSON object.")) : (value, null);
        }
        catch (JsonException ex)
        {
            var field = FieldFromPath(ex.Path);
            return (null, Invalid(field, field == WholeBodyField ? "The body is not valid JSON." : $"{field} has the wrong type, is given twice or is not valid JSON."));
        }
        catch (InvalidOperationException)
        {
            // Text the reader cannot turn into a string (an escaped lone surrogate, for one).
            return (null, Invalid(WholeBodyField, "The body holds text that is not valid UTF-16 (an unpaired surrogate escape)."));
        }
    }

    /// <summary>The raw body within the size limit (413 beyond it); an empty body is a 400 naming <c>request</c>.</summary>
    public static async Task<(byte[] Value, ProblemHttpResult? Problem)> ReadBytesAsync(HttpContext context, int maxBytes, CancellationToken cancellationToken)
    {
        if (context.Request.ContentLength > maxBytes)
        {
            return ([], TooLarge(maxBytes));
        }
        // Kestrel's own limit would count chunked framing too; the limit is on body bytes, counted below.
        var sizeFeature = context.Features.Get<IHttpMaxRequestBodySizeFeature>();
        if (sizeFeature is { IsReadOnly: false })
        {
            sizeFeature.MaxRequestBodySize = null;
        }

        byte[] bytes;
        try
        {
            bytes = await ReadUpToAsync(context.Request, maxBytes, cancellationToken);
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return ([], TooLarge(maxBytes));
        }
        catch (RequestTooLargeException)
        {
            return ([], TooLarge(maxBytes));
        }

        return bytes.Length == 0 ? ([], Invalid(WholeBodyField, "A JSON body is required.")) : (bytes, null);
    }

    /// <summary><c>$.userIds[2]</c> → <c>userIds</c>; <c>$</c> → <c>request</c>.</summary>
    public static string FieldFromPath(string? path)
    {
        if (string.IsNullOrEmpty(path) || path == "$" || !path.StartsWith("$.", StringComparison.Ordinal))
        {
            return WholeBodyField;
        }
        var field = path[2..];
        var end = field.IndexOfAny(['.', '[']);
        return end < 0 ? field : field[..end];
    }

    /// <summary>
    /// The body, at most <paramref name="maxBytes"/>. With a <c>Content-Length</c> (already checked against the
    /// limit; the server ends the body there) it is read into one array of that size; a chunked body through
    /// a pooled buffer. No 16 KB buffer is allocated per request: every send reads its body here.
    /// </summary>
    internal static async Task<byte[]> ReadUpToAsync(HttpRequest request, int maxBytes, CancellationToken cancellationToken)
    {
        if (request.ContentLength is { } length and > 0 && length <= maxBytes)
        {
            var exact = new byte[length];
            var filled = 0;
            while (filled < exact.Length)
            {
                var got = await request.Body.ReadAsync(exact.AsMemory(filled), cancellationToken);
                if (got == 0)
                {
                    return exact[..filled];
                }
                filled += got;
            }
            return exact;
        }
        using var buffer = new MemoryStream();
        var chunk = ArrayPool<byte>.Shared.Rent(16 * 1024);
        try
        {
            int read;
            while ((read = await request.Body.ReadAsync(chunk, cancellationToken)) > 0)
            {
                if (buffer.Length + read > maxBytes)
                {
                    throw new RequestTooLargeException();
                }
                buffer.Write(chunk, 0, read);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(chunk);
        }
        return buffer.ToArray();
    }

    /// <summary>A validation problem (400 with <c>errors</c>), typed as a problem so endpoints have one type for every body fault.</summary>
    private static ProblemHttpResult Invalid(string field, string message) =>
        TypedResults.Problem(new HttpValidationProblemDetails(new Dictionary<string, string[]> { [field] = [message] }));

    private static ProblemHttpResult TooLarge(int maxBytes) => TypedResults.Problem(
        statusCode: StatusCodes.Status413PayloadTooLarge,
        title: "Request body too large",
        detail: $"The body must be at most {maxBytes} bytes.");

    private sealed class RequestTooLargeException : Exception;
}
