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

    /// <summary>Enough to overlap a transaction's round trip and flush with the next ones; few enough to keep batches large under load.</summary>
    public const int DefaultMaxTransactionsInFlight = 4;
}

/// <summary>The commit queue is full: the node is behind; the caller should retry later (503).</summary>
internal sealed class CommitQueueFullException() : Exception("Too many sends are waiting to be committed; retry later.");
