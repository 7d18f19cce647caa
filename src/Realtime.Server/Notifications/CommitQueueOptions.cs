using System.ComponentModel.DataAnnotations;

namespace Realtime.Server.Notifications;

/// <summary>Bounds of the group-commit queue (section <c>Notifications</c>).</summary>
internal sealed class CommitQueueOptions
{
    public const string SectionName = "Notifications";

    /// <summary>Sends waiting for a transaction; one more is answered 503 with Retry-After at once.</summary>
    [Range(1, 1_000_000)]
    public int MaxQueuedSends { get; set; } = 20_000;

    /// <summary>
    /// Group-commit transactions running at once, each on a pooled connection: the next starts
    /// while the previous one commits (1: one at a time). Measured in BENCHMARKS.md (Latency).
    /// </summary>
    [Range(1, 32)]
    public int MaxTransactionsInFlight { get; set; } = DefaultMaxTransactionsInFlight;

    /// <summary>
    /// One at a time: measured on a quiet machine against 4 in one invocation (BENCHMARKS.md,
    /// Latency), one gave the lower p99 at 1,000 sends/s (76 against 93 ms) and less CPU per bulk
    /// notification (16.6 against 23.6 ms per 1,000): transactions in flight wait on one another's
    /// id lock, and the batches they split the queue into are smaller.
    /// </summary>
    public const int DefaultMaxTransactionsInFlight = 1;
}

/// <summary>The commit queue is full: the node is behind; the caller should retry later (503).</summary>
internal sealed class CommitQueueFullException() : Exception("Too many sends are waiting to be committed; retry later.");
