using System.Net;
using System.Net.Sockets;

namespace Insights.IntegrationTests.Infrastructure;

/// <summary>
/// A TCP forwarder on a loopback port in front of a real server (PostgreSQL, RabbitMQ), so a test can take that server
/// away from one host — every connection dropped, new ones refused, as when the server or the network goes down —
/// and bring it back, without disturbing the other tests that share the server.
/// </summary>
public sealed class TcpProxy : IAsyncDisposable
{
    private readonly EndPoint target;
    private readonly Lock gate = new();
    private readonly List<TcpClient> connections = [];
    private TcpListener? listener;
    private CancellationTokenSource? accepting;

    private TcpProxy(string targetHost, int targetPort)
    {
        target = new DnsEndPoint(targetHost, targetPort);
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        Port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
    }

    public int Port { get; }

    public bool IsUp => listener is not null;

    public static TcpProxy Start(string targetHost, int targetPort)
    {
        var proxy = new TcpProxy(targetHost, targetPort);
        proxy.Restore();
        return proxy;
    }

    /// <summary>Drops every connection and refuses new ones until <see cref="Restore"/>.</summary>
    public void Cut()
    {
        lock (gate)
        {
            accepting?.Cancel();
            listener?.Stop();
            listener = null;
            foreach (var connection in connections)
            {
                // A reset, as a dead server or link gives, not a polite close.
                connection.Client.LingerState = new LingerOption(true, 0);
                connection.Dispose();
            }

            connections.Clear();
        }
    }

    /// <summary>Accepts and forwards connections again, on the same port.</summary>
    public void Restore()
    {
        lock (gate)
        {
            if (listener is not null)
            {
                return;
            }

            listener = new TcpListener(IPAddress.Loopback, Port);
            listener.Server.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            listener.Start();
            accepting = new CancellationTokenSource();
            _ = AcceptAsync(listener, accepting.Token);
        }
    }

    private async Task AcceptAsync(TcpListener server, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await server.AcceptTcpClientAsync(cancellationToken);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            _ = ForwardAsync(client, cancellationToken);
        }
    }

    private async Task ForwardAsync(TcpClient client, CancellationToken cancellationToken)
    {
        var upstream = new TcpClient();
        try
        {
            await upstream.ConnectAsync(((DnsEndPoint)target).Host, ((DnsEndPoint)target).Port, cancellationToken);
            lock (gate)
            {
                cancellationToken.ThrowIfCancellationRequested();
                connections.Add(client);
                connections.Add(upstream);
            }

            var down = client.GetStream();
            var up = upstream.GetStream();
            await Task.WhenAny(down.CopyToAsync(up, cancellationToken), up.CopyToAsync(down, cancellationToken));
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or SocketException or ObjectDisposedException)
        {
            // Cut, or one side went away: the other side is closed below.
        }
        finally
        {
            lock (gate)
            {
                connections.Remove(client);
                connections.Remove(upstream);
            }

            client.Dispose();
            upstream.Dispose();
        }
    }

    public ValueTask DisposeAsync()
    {
        Cut();
        return ValueTask.CompletedTask;
    }
}
