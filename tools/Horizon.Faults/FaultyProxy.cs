using System.Net;
using System.Net.Sockets;

namespace Horizon.Faults;

/// <summary>A TCP proxy on loopback in front of a real server, for faults a server does not make by
/// itself: replies held back (a slow store), or commands delivered and their replies lost (the
/// connection cut after the store applied them).</summary>
public sealed class FaultyProxy : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly IPEndPoint _target;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<(TcpClient Client, TcpClient Server)> _pairs = [];
    private readonly Task _accepting;
    private volatile bool _holdReplies;
    private volatile int _replyDelayMilliseconds;

    private FaultyProxy(IPEndPoint target)
    {
        _target = target;
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        _accepting = AcceptAsync();
    }

    /// <summary>Starts a proxy to <paramref name="targetPort"/> on loopback.</summary>
    public static FaultyProxy Start(int targetPort) => new(new IPEndPoint(IPAddress.Loopback, targetPort));

    /// <summary>The proxy's port.</summary>
    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>While true, commands still reach the server but no reply reaches the client.</summary>
    public bool HoldReplies { get => _holdReplies; set => _holdReplies = value; }

    /// <summary>Each chunk of replies waits this long before it is forwarded (a slow store).</summary>
    public int ReplyDelayMilliseconds { get => _replyDelayMilliseconds; set => _replyDelayMilliseconds = value; }

    /// <summary>Resets every open connection (what the client sees when a network path dies), and
    /// returns how many there were. New connections are proxied again.</summary>
    public int CutAll()
    {
        lock (_pairs)
        {
            foreach (var (client, server) in _pairs)
            {
                try
                {
                    client.Client?.LingerState = new LingerOption(true, 0); // RST, not FIN
                }
                catch (Exception e) when (e is SocketException or ObjectDisposedException)
                {
                }
                client.Dispose();
                server.Dispose();
            }
            var count = _pairs.Count;
            _pairs.Clear();
            return count;
        }
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }
            var server = new TcpClient { NoDelay = true };
            try
            {
                await server.ConnectAsync(_target, _stop.Token);
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException)
            {
                client.Dispose();
                server.Dispose();
                continue;
            }
            client.NoDelay = true;
            lock (_pairs)
            {
                _pairs.Add((client, server));
            }
            _ = PumpAsync(client, server, replies: false);
            _ = PumpAsync(server, client, replies: true);
        }
    }

    private async Task PumpAsync(TcpClient from, TcpClient to, bool replies)
    {
        var buffer = new byte[1 << 16];
        try
        {
            var input = from.GetStream();
            var output = to.GetStream();
            while (true)
            {
                var n = await input.ReadAsync(buffer, _stop.Token);
                if (n == 0)
                {
                    break;
                }
                if (replies)
                {
                    while (_holdReplies)
                    {
                        await Task.Delay(5, _stop.Token); // the connection is about to be cut
                    }
                    if (_replyDelayMilliseconds > 0)
                    {
                        await Task.Delay(_replyDelayMilliseconds, _stop.Token);
                    }
                }
                await output.WriteAsync(buffer.AsMemory(0, n), _stop.Token);
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or OperationCanceledException or SocketException or InvalidOperationException)
        {
        }
        finally
        {
            from.Dispose();
            to.Dispose();
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        CutAll();
        try
        {
            await _accepting;
        }
        catch (OperationCanceledException)
        {
        }
        _stop.Dispose();
    }
}
