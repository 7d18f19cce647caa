using System.Net.Sockets;
using Npgsql;

namespace Realtime.Server.Storage;

/// <summary>Tells "the database is unreachable or overloaded, try later" apart from bugs.</summary>
internal static class DatabaseErrors
{
    public static bool IsUnavailable(Exception exception) => exception switch
    {
        PostgresException pg => pg.SqlState is
            "57P01" or "57P02" or "57P03" // admin shutdown, crash shutdown, cannot connect now
            or "53300"                    // too many connections
            or "08000" or "08003" or "08006" or "08001" or "08004", // connection exceptions
        NpgsqlException { InnerException: SocketException or IOException or TimeoutException } => true,
        NpgsqlException npgsql when npgsql.IsTransient => true,
        TimeoutException => true,
        SocketException => true,
        _ => exception.InnerException is not null && IsUnavailable(exception.InnerException),
    };

    /// <summary>
    /// PostgreSQL refused the data itself: a data exception (class 22: a value out of range, bad
    /// text), an integrity violation (23), a program limit (54: an index row too large) or an
    /// error raised by a trigger (P0). Retrying the same data fails the same way.
    /// </summary>
    public static bool IsRefusedData(Exception exception) => exception switch
    {
        PostgresException pg => pg.SqlState.Length == 5 && pg.SqlState[..2] is "22" or "23" or "54" or "P0",
        _ => exception.InnerException is not null && IsRefusedData(exception.InnerException),
    };
}
