using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;

namespace Realtime.IntegrationTests.Infrastructure;

/// <summary>The official client with <c>AddMessagePackProtocol()</c>, over a WebSocket (no negotiation).</summary>
public static class MessagePackHub
{
    /// <summary>Connects as <paramref name="user"/>; <paramref name="handlers"/> registers the client's handlers before it starts.</summary>
    public static async Task<HubConnection> ConnectAsync(RealtimeServer server, string user, Action<HubConnection> handlers, TimeSpan timeout)
    {
        var url = new Uri(server.BaseAddress, HubClient.HubPath + "?access_token=" + Uri.EscapeDataString(server.Tokens.User(user)));
        var connection = new HubConnectionBuilder()
            .WithUrl(url, HttpTransportType.WebSockets, options => options.SkipNegotiation = true)
            .AddMessagePackProtocol()
            .Build();
        handlers(connection);
        try
        {
            using var cancel = new CancellationTokenSource(timeout);
            await connection.StartAsync(cancel.Token);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }
}
