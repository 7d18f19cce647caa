using Microsoft.AspNetCore.Http.Features;
using Realtime.Server.Observability;
using System.Collections;
using System.Text.RegularExpressions;

namespace Realtime.Server.Operations;

/// <summary>Echoes the caller's <c>X-Correlation-ID</c> (or a new one) and puts it on every log line of the request.</summary>
internal static partial class CorrelationId
{
    public const string HeaderName = "X-Correlation-ID";

    /// <summary>Takes the request's id (the caller's when safe, else a new one), echoes it and tags the request's span with it.</summary>
    public static string Assign(HttpContext context)
    {
        var given = context.Request.Headers[HeaderName].ToString();
        var id = SafeId().IsMatch(given) ? given : Guid.NewGuid().ToString("N");
        context.TraceIdentifier = id;
        context.Response.Headers[HeaderName] = id;
        // On the request's span (ASP.NET Core's), so a trace can be found from the id a caller logged.
        context.Features.Get<IHttpActivityFeature>()?.Activity.SetTag(RealtimeTracing.CorrelationIdTag, id);
        return id;
    }

    /// <summary>Only short, printable ids are echoed, so a header cannot inject into logs or responses.</summary>
    [GeneratedRegex("^[A-Za-z0-9._:-]{1,100}$")]
    private static partial Regex SafeId();

    /// <summary>
    /// The logging scope's state: one property. Smaller than a dictionary, and a hub connection holds
    /// its request's scope for as long as it lasts.
    /// </summary>
    internal sealed class Scope(string id) : IReadOnlyList<KeyValuePair<string, object>>
    {
        public const string PropertyName = "CorrelationId";

        public int Count => 1;

        public KeyValuePair<string, object> this[int index] =>
            index == 0 ? new(PropertyName, id) : throw new ArgumentOutOfRangeException(nameof(index));

        public IEnumerator<KeyValuePair<string, object>> GetEnumerator()
        {
            yield return this[0];
        }

        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

        public override string ToString() => $"{PropertyName}:{id}";
    }
}
