using System.Buffers.Text;

namespace Realtime.LoadTest.Clients;

/// <summary>
/// Reads the three numbers the tool needs from a notification's JSON without parsing all of it:
/// its <c>id</c> and the <c>data.seq</c> / <c>data.sentAt</c> the tool put in. Cheap on purpose: the
/// load generator shares the machine with the server.
/// </summary>
internal static class NotificationScanner
{
    public static void Scan(ReadOnlySpan<byte> json, out long id, out long seq, out long sentAt)
    {
        id = Number(json, "\"id\":"u8);
        seq = Number(json, "\"seq\":"u8);
        sentAt = Number(json, "\"sentAt\":"u8);
    }

    /// <summary>The integer after the first <paramref name="key"/>, or -1.</summary>
    public static long Number(ReadOnlySpan<byte> json, ReadOnlySpan<byte> key)
    {
        var at = json.IndexOf(key);
        if (at < 0)
        {
            return -1;
        }
        var rest = json[(at + key.Length)..].TrimStart(" "u8);
        return Utf8Parser.TryParse(rest, out long value, out _) ? value : -1;
    }
}
