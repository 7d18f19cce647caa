namespace Realtime.Server.Notifications;

/// <summary>
/// PostgreSQL refused to store one send's data (something validation could not foresee). The
/// send fails alone, answered <c>422</c>; the sends it shared a transaction with are committed.
/// </summary>
internal sealed class SendRefusedException(Exception inner)
    : Exception("PostgreSQL refused to store this notification.", inner)
{
    /// <summary>The SQLSTATE, for the answer's detail (never the message: it may quote internals).</summary>
    public string? SqlState => (InnerException as Npgsql.PostgresException)?.SqlState;
}
