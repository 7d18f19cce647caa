namespace Realtime.Server.Push;

/// <summary>Web Push's log messages: lifecycle at Information, per push at Debug. Never keys, endpoints' secrets or bodies.</summary>
internal static partial class PushLog
{
    [LoggerMessage(Level = LogLevel.Information, Message = "Web Push signs with the VAPID key pair from Push:PublicKey/Push:PrivateKey")]
    public static partial void VapidKeysConfigured(ILogger logger);

    [LoggerMessage(Level = LogLevel.Information, Message = "Web Push signs with the VAPID key pair {How}")]
    public static partial void VapidKeysStored(ILogger logger, string how);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Push:Subject is not set; VAPID tokens carry {Subject}. Set it to a contact address of yours: some push services refuse tokens without a reachable one")]
    public static partial void DefaultSubject(ILogger logger, string subject);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Push:AllowInsecureEndpoints is on: push requests may go to http:// and to loopback or private addresses (local testing only)")]
    public static partial void InsecureEndpointsAllowed(ILogger logger);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Planned notifications up to id {LastId}: {Jobs} push jobs")]
    public static partial void Planned(ILogger logger, long lastId, int jobs);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Push planning failed; retrying")]
    public static partial void PlanningFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Claiming push jobs failed; retrying")]
    public static partial void ClaimFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Push job {JobId} (notification {NotificationId}): {State}, status {Status}, attempt {Attempts}")]
    public static partial void JobDone(ILogger logger, long jobId, long notificationId, string state, int? status, int attempts);

    [LoggerMessage(Level = LogLevel.Information, Message = "Push subscription {SubscriptionId} is gone (push service answered {Status}); deleted")]
    public static partial void SubscriptionGone(ILogger logger, long subscriptionId, int status);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Push job {JobId} refused: {Reason}")]
    public static partial void EndpointRefused(ILogger logger, long jobId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Recording the outcomes of {Count} push jobs (first {JobId}) failed; retrying")]
    public static partial void RecordFailed(ILogger logger, long jobId, int count, Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "Push job {JobId} ended {State} but could not be recorded; it is tried again once its lease ends")]
    public static partial void RecordGaveUp(ILogger logger, long jobId, string state, Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "Push job {JobId} failed unexpectedly")]
    public static partial void JobCrashed(ILogger logger, long jobId, Exception exception);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Purged {Rows} finished push jobs and expired subscriptions")]
    public static partial void Purged(ILogger logger, int rows);
}
