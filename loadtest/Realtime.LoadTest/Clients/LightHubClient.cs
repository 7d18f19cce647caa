using System.Buffers;
using System.Globalization;
using System.Net.WebSockets;
using System.Text;
using Realtime.LoadTest.Measurement;

namespace Realtime.LoadTest.Clients;

/// <summary>
/// This tool's own SignalR client for the JSON hub protocol over a WebSocket connected directly
/// (no negotiate): the handshake, 0x1E-separated records, pings (sent by <see cref="ClientPool"/>
/// every 15 s, a share each second; the server's are ignored), <c>Resume</c> invocations and their completions, and
/// <c>notification</c> invocations read with <see cref="NotificationScanner"/>. A connection costs
/// a socket, a ClientWebSocket and a 4 KB receive buffer, so 18,000 fit in one process where the
/// official client would need several hundred MB more.
/// </summary>
internal sealed class LightHubClient(int index, Uri hubUrl, HttpMessageInvoker invoker, DeliveryLedger ledger) : ILiveClient
{
    private const byte RecordSeparator = 0x1E;
    private const int ReceiveBufferBytes = 4096;
    private static readonly byte[] Handshake = "{\"protocol\":\"json\",\"version\":1}\u001e"u8.ToArray();
    private static readonly byte[] PingMessage = "{\"type\":6}\u001e"u8.ToArray();

    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private ClientWebSocket? _socket;
    private TaskCompletionSource _closed = NewClosed();
    private TaskCompletionSource<long>? _invocation;
    private int _invocationId;
    private long _lastId;
    private byte[] _carry = [];
    private int _carryLength;

    public int Index => index;

    public bool IsConnected { get; private set; }

    public long LastId => Interlocked.Read(ref _lastId);

    public Task Closed => _closed.Task;

    public async Task ConnectAsync(long? resumeAfter, CancellationToken cancellationToken)
    {
        _closed = NewClosed();
        _carryLength = 0;
        var socket = new ClientWebSocket();
        socket.Options.KeepAliveInterval = TimeSpan.Zero; // SignalR pings keep it alive
        socket.Options.SetBuffer(ReceiveBufferBytes, 1024);
        _socket = socket;
        try
        {
            await socket.ConnectAsync(hubUrl, invoker, cancellationToken);
            await socket.SendAsync(Handshake, WebSocketMessageType.Text, true, cancellationToken);
            var buffer = new byte[ReceiveBufferBytes];
            var (answer, rest) = await ReceiveHandshakeAsync(socket, buffer, cancellationToken);
            if (answer.Length != 2)
            {
                throw new InvalidOperationException("handshake refused: " + Encoding.UTF8.GetString(answer));
            }
            IsConnected = true;
            Process(rest);
            _ = ReceiveLoopAsync(socket, buffer);
            if (resumeAfter is { } after)
            {
                await InvokeResumeAsync(after, cancellationToken);
            }
        }
        catch
        {
            IsConnected = false;
            socket.Abort();
            socket.Dispose();
            _closed.TrySetResult();
            throw;
        }
    }

    /// <summary>Sends a SignalR ping (the server closes a client silent for 30 s).</summary>
    public async Task PingAsync()
    {
        if (!IsConnected || _socket is not { } socket)
        {
            return;
        }
        try
        {
            await SendAsync(socket, PingMessage, CancellationToken.None);
        }
        catch (Exception ex) when (ex is WebSocketException or ObjectDisposedException or OperationCanceledException)
        {
        }
    }

    private async Task<long> InvokeResumeAsync(long afterId, CancellationToken cancellationToken)
    {
        var id = Interlocked.Increment(ref _invocationId).ToString(CultureInfo.InvariantCulture);
        var invocation = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        _invocation = invocation;
        var message = Encoding.UTF8.GetBytes(
            $"{{\"type\":1,\"invocationId\":\"{id}\",\"target\":\"Resume\",\"arguments\":[{afterId.ToString(CultureInfo.InvariantCulture)}]}}\u001e");
        await SendAsync(_socket!, message, cancellationToken);
        return await invocation.Task.WaitAsync(cancellationToken);
    }

    private async Task SendAsync(ClientWebSocket socket, byte[] message, CancellationToken cancellationToken)
    {
        await _sendLock.WaitAsync(cancellationToken);
        try
        {
            await socket.SendAsync(message, WebSocketMessageType.Text, true, cancellationToken);
        }
        finally
        {
            _sendLock.Release();
        }
    }

    private static async Task<(byte[] Answer, byte[] Remainder)> ReceiveHandshakeAsync(ClientWebSocket socket, byte[] buffer, CancellationToken cancellationToken)
    {
        var length = 0;
        while (true)
        {
            var result = await socket.ReceiveAsync(buffer.AsMemory(length), cancellationToken);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                throw new WebSocketException("closed during the handshake");
            }
            length += result.Count;
            var end = Array.IndexOf(buffer, RecordSeparator, 0, length);
            if (end >= 0)
            {
                return (buffer[..end], buffer[(end + 1)..length]);
            }
            if (length == buffer.Length)
            {
                throw new InvalidOperationException("handshake answer too long");
            }
        }
    }

    private async Task ReceiveLoopAsync(ClientWebSocket socket, byte[] buffer)
    {
        try
        {
            while (true)
            {
                var result = await socket.ReceiveAsync(buffer.AsMemory(), CancellationToken.None);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    break;
                }
                Process(buffer.AsSpan(0, result.Count));
            }
        }
        catch (Exception ex) when (ex is WebSocketException or ObjectDisposedException or OperationCanceledException or IOException)
        {
        }
        finally
        {
            IsConnected = false;
            _invocation?.TrySetException(new WebSocketException("connection closed"));
            socket.Dispose();
            _closed.TrySetResult();
        }
    }

    private void Process(ReadOnlySpan<byte> data)
    {
        while (data.Length > 0)
        {
            var end = data.IndexOf(RecordSeparator);
            if (end < 0)
            {
                Append(data);
                return;
            }
            if (_carryLength > 0)
            {
                Append(data[..end]);
                Handle(_carry.AsSpan(0, _carryLength));
                _carryLength = 0;
            }
            else
            {
                Handle(data[..end]);
            }
            data = data[(end + 1)..];
        }
    }

    private void Append(ReadOnlySpan<byte> data)
    {
        if (_carryLength + data.Length > _carry.Length)
        {
            var bigger = ArrayPool<byte>.Shared.Rent(Math.Max(_carryLength + data.Length, 8192));
            _carry.AsSpan(0, _carryLength).CopyTo(bigger);
            if (_carry.Length > 0)
            {
                ArrayPool<byte>.Shared.Return(_carry);
            }
            _carry = bigger;
        }
        data.CopyTo(_carry.AsSpan(_carryLength));
        _carryLength += data.Length;
    }

    private void Handle(ReadOnlySpan<byte> record)
    {
        switch (NotificationScanner.Number(record, "\"type\":"u8))
        {
            case 1:
                if (record.IndexOf("\"target\":\"notification\""u8) >= 0)
                {
                    NotificationScanner.Scan(record, out var id, out var seq, out var sentAt);
                    if (id > 0)
                    {
                        long last;
                        while (id > (last = Interlocked.Read(ref _lastId)) && Interlocked.CompareExchange(ref _lastId, id, last) != last)
                        {
                        }
                    }
                    ledger.RecordDelivery(seq, sentAt);
                }
                else
                {
                    ledger.RecordOther();
                }
                break;
            case 3:
                if (record.IndexOf("\"error\""u8) >= 0)
                {
                    _invocation?.TrySetException(new InvalidOperationException(Encoding.UTF8.GetString(record)));
                }
                else
                {
                    _invocation?.TrySetResult(NotificationScanner.Number(record, "\"result\":"u8));
                }
                break;
            case 7:
                _socket?.Abort();
                break;
        }
    }

    public ValueTask DisposeAsync()
    {
        IsConnected = false;
        _socket?.Abort();
        _socket?.Dispose();
        if (_carry.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(_carry);
            _carry = [];
        }
        return ValueTask.CompletedTask;
    }

    private static TaskCompletionSource NewClosed() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
