using System.Buffers.Text;
using System.Globalization;
using System.Net.Http.Headers;
using Realtime.LoadTest.Measurement;

namespace Realtime.LoadTest.Clients;

/// <summary>
/// An SSE reader of <c>/api/notifications/stream</c>: one HTTP/1.1 connection per stream, reads
/// <c>event:</c> / <c>id:</c> / <c>data:</c> lines; resumes with <c>lastEventId</c>.
/// </summary>
internal sealed class SseClient(int index, Uri baseUrl, string token, HttpClient http, DeliveryLedger ledger) : ILiveClient
{
    private const int BufferBytes = 4096;
    private TaskCompletionSource _closed = New();
    private CancellationTokenSource? _stop;
    private long _lastId;

    public int Index => index;

    public bool IsConnected { get; private set; }

    public long LastId => Interlocked.Read(ref _lastId);

    public Task Closed => _closed.Task;

    public async Task ConnectAsync(long? resumeAfter, CancellationToken cancellationToken)
    {
        _closed = New();
        _stop = new CancellationTokenSource();
        var path = "/api/notifications/stream" + (resumeAfter is { } after ? "?lastEventId=" + after.ToString(CultureInfo.InvariantCulture) : "");
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(baseUrl, path));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        HttpResponseMessage? response = null;
        try
        {
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stop.Token);
            response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, linked.Token);
            if (!response.IsSuccessStatusCode)
            {
                throw new HttpRequestException($"SSE stream answered {(int)response.StatusCode}", null, response.StatusCode);
            }
            var stream = await response.Content.ReadAsStreamAsync(linked.Token);
            IsConnected = true;
            _ = ReadLoopAsync(response, stream, _stop.Token);
        }
        catch
        {
            response?.Dispose();
            _closed.TrySetResult();
            throw;
        }
    }

    private async Task ReadLoopAsync(HttpResponseMessage response, Stream stream, CancellationToken cancellationToken)
    {
        var buffer = new byte[BufferBytes];
        var length = 0;
        var isNotification = false;
        try
        {
            while (true)
            {
                if (length == buffer.Length)
                {
                    Array.Resize(ref buffer, buffer.Length * 2);
                }
                var read = await stream.ReadAsync(buffer.AsMemory(length), cancellationToken);
                if (read == 0)
                {
                    break;
                }
                length += read;
                var start = 0;
                int newline;
                while ((newline = Array.IndexOf(buffer, (byte)'\n', start, length - start)) >= 0)
                {
                    var line = buffer.AsSpan(start, newline - start);
                    start = newline + 1;
                    if (line.StartsWith("event: "u8))
                    {
                        isNotification = line.EndsWith("notification"u8);
                    }
                    else if (line.StartsWith("id: "u8) && Utf8Parser.TryParse(line[4..], out long id, out _))
                    {
                        Interlocked.Exchange(ref _lastId, Math.Max(id, LastId));
                    }
                    else if (line.StartsWith("data: "u8))
                    {
                        if (isNotification)
                        {
                            NotificationScanner.Scan(line, out _, out var seq, out var sentAt);
                            ledger.RecordDelivery(seq, sentAt);
                        }
                        else
                        {
                            ledger.RecordOther();
                        }
                    }
                    else if (line.IsEmpty)
                    {
                        isNotification = false;
                    }
                }
                Array.Copy(buffer, start, buffer, 0, length - start);
                length -= start;
            }
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or ObjectDisposedException or HttpRequestException)
        {
        }
        finally
        {
            IsConnected = false;
            response.Dispose();
            _closed.TrySetResult();
        }
    }

    public ValueTask DisposeAsync()
    {
        _stop?.Cancel();
        _stop?.Dispose();
        return ValueTask.CompletedTask;
    }

    private static TaskCompletionSource New() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
