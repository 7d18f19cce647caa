using System.Net.WebSockets;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using Realtime.LoadTest.Measurement;

namespace Realtime.LoadTest.Clients;

/// <summary>
/// The official Microsoft.AspNetCore.SignalR.Client (HubConnection) over WebSockets, negotiation
/// skipped, JSON or MessagePack. Its own reconnect is off: the scenarios reconnect and resume.
/// </summary>
internal sealed class OfficialHubClient : ILiveClient
{
    private readonly HubConnection _connection;
    private readonly DeliveryLedger _ledger;
    private TaskCompletionSource _closed = New();
    private long _lastId;

    public OfficialHubClient(int index, Uri hubUrl, HttpMessageInvoker invoker, DeliveryLedger ledger, bool messagePack)
    {
        Index = index;
        _ledger = ledger;
        var builder = new HubConnectionBuilder().WithUrl(hubUrl, options =>
        {
            options.Transports = HttpTransportType.WebSockets;
            options.SkipNegotiation = true;
            options.WebSocketFactory = async (context, cancellationToken) =>
            {
                var socket = new ClientWebSocket();
                socket.Options.KeepAliveInterval = TimeSpan.Zero;
                await socket.ConnectAsync(context.Uri, invoker, cancellationToken);
                return socket;
            };
        });
        if (messagePack)
        {
            builder.AddMessagePackProtocol();
            _connection = builder.Build();
            _connection.On<Dictionary<object, object?>>("notification", OnMessagePack);
        }
        else
        {
            _connection = builder.Build();
            _connection.On<JsonElement>("notification", OnJson);
        }
        _connection.On<JsonElement>("unreadCount", _ => _ledger.RecordOther());
        _connection.Closed += _ =>
        {
            _closed.TrySetResult();
            return Task.CompletedTask;
        };
    }

    public int Index { get; }

    public bool IsConnected => _connection.State == HubConnectionState.Connected;

    public long LastId => Interlocked.Read(ref _lastId);

    public Task Closed => _closed.Task;

    public async Task ConnectAsync(long? resumeAfter, CancellationToken cancellationToken)
    {
        _closed = New();
        try
        {
            await _connection.StartAsync(cancellationToken);
            if (resumeAfter is { } after)
            {
                await _connection.InvokeAsync<int>("Resume", after, cancellationToken);
            }
        }
        catch
        {
            _closed.TrySetResult();
            throw;
        }
    }

    private void OnJson(JsonElement notification)
    {
        var id = notification.TryGetProperty("id", out var i) && i.ValueKind == JsonValueKind.Number ? i.GetInt64() : -1;
        long seq = -1, sentAt = -1;
        if (notification.TryGetProperty("data", out var data) && data.ValueKind == JsonValueKind.Object)
        {
            seq = data.TryGetProperty("seq", out var s) && s.ValueKind == JsonValueKind.Number ? s.GetInt64() : -1;
            sentAt = data.TryGetProperty("sentAt", out var t) && t.ValueKind == JsonValueKind.Number ? t.GetInt64() : -1;
        }
        Delivered(id, seq, sentAt);
    }

    private void OnMessagePack(Dictionary<object, object?> notification)
    {
        static long Number(IDictionary<object, object?> map, string key) =>
            map.TryGetValue(key, out var value) && value is IConvertible c ? c.ToInt64(null) : -1;
        var id = Number(notification, "id");
        long seq = -1, sentAt = -1;
        if (notification.TryGetValue("data", out var d) && d is IDictionary<object, object?> data)
        {
            seq = Number(data, "seq");
            sentAt = Number(data, "sentAt");
        }
        Delivered(id, seq, sentAt);
    }

    private void Delivered(long id, long seq, long sentAt)
    {
        long last;
        while (id > (last = Interlocked.Read(ref _lastId)) && Interlocked.CompareExchange(ref _lastId, id, last) != last)
        {
        }
        _ledger.RecordDelivery(seq, sentAt);
    }

    public ValueTask DisposeAsync() => _connection.DisposeAsync();

    private static TaskCompletionSource New() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
