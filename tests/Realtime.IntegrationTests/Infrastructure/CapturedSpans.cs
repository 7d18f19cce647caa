using System.Diagnostics;

namespace Realtime.IntegrationTests.Infrastructure;

/// <summary>
/// Where OpenTelemetry's in-memory exporter puts finished spans, readable while it writes.
/// Listeners are process-wide: it also gets spans of other nodes of the process (and of other
/// tests' nodes), so a test picks its own by trace id.
/// </summary>
public sealed class CapturedSpans : ICollection<Activity>
{
    private readonly Lock _gate = new();
    private readonly List<Activity> _spans = [];

    public IReadOnlyList<Activity> InTrace(ActivityTraceId traceId)
    {
        lock (_gate)
        {
            return _spans.Where(s => s.TraceId == traceId).ToArray();
        }
    }

    public Activity? Find(Func<Activity, bool> match)
    {
        lock (_gate)
        {
            return _spans.FirstOrDefault(match);
        }
    }

    public void Add(Activity item)
    {
        lock (_gate)
        {
            _spans.Add(item);
        }
    }

    public void Clear()
    {
        lock (_gate)
        {
            _spans.Clear();
        }
    }

    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _spans.Count;
            }
        }
    }

    public bool IsReadOnly => false;

    public bool Contains(Activity item)
    {
        lock (_gate)
        {
            return _spans.Contains(item);
        }
    }

    public void CopyTo(Activity[] array, int arrayIndex)
    {
        lock (_gate)
        {
            _spans.CopyTo(array, arrayIndex);
        }
    }

    public bool Remove(Activity item)
    {
        lock (_gate)
        {
            return _spans.Remove(item);
        }
    }

    public IEnumerator<Activity> GetEnumerator()
    {
        lock (_gate)
        {
            return _spans.ToList().GetEnumerator();
        }
    }

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
}
