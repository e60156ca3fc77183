using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Horizon.Core.Points;
using Horizon.Core.Protocols;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Prometheus;

namespace Horizon.Ingest;

/// <summary>Handles the datagrams of one receive loop (one instance per loop, so no locking).</summary>
public interface IDatagramHandler
{
    /// <summary>One datagram.</summary>
    void Handle(ReadOnlySpan<byte> datagram, SocketAddress peer);

    /// <summary>The socket has nothing more queued: hand over what is pending.</summary>
    void Flush();
}

/// <summary>A UDP listener: several sockets bound to one port with SO_REUSEPORT (the kernel
/// spreads datagrams over them), each with a large receive buffer and its own receive loop.
/// The port is this process's alone (<see cref="PortLock"/>): a port held by anyone else fails the
/// bind. The kernel's drop count for the port is exported as a gauge.</summary>
public sealed partial class UdpListener : BackgroundService
{
    private readonly string _name;
    private readonly Func<IDatagramHandler> _handlerFactory;
    private readonly IngestServices _services;
    private readonly ILogger _logger;
    private readonly List<Socket> _sockets = [];
    private readonly Counter.Child _datagrams;
    private readonly PortLock? _lock;

    /// <summary>Binds the sockets now, so the port is known (and a conflict fails start-up).</summary>
    public UdpListener(string name, IPEndPoint endpoint, Func<IDatagramHandler> handlerFactory, IngestServices services)
    {
        _name = name;
        _handlerFactory = handlerFactory;
        _services = services;
        _logger = services.LoggerFactory.CreateLogger<UdpListener>();
        _datagrams = services.Metrics.Datagrams.WithLabels(name);
        var loops = services.Listeners.EffectiveUdpLoops;
        var bind = endpoint;
        if (endpoint.Port != 0)
        {
            _lock = PortLock.Acquire(endpoint);
            try
            {
                PortLock.ProbeExclusive(endpoint);
            }
            catch
            {
                _lock.Dispose();
                throw;
            }
        }
        for (var i = 0; i < loops; i++)
        {
            var socket = new Socket(bind.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
            try
            {
                if (OperatingSystem.IsLinux())
                {
                    socket.SetRawSocketOption(1 /* SOL_SOCKET */, 15 /* SO_REUSEPORT */, BitConverter.GetBytes(1));
                }
                SetReceiveBuffer(socket, services.Listeners.UdpReceiveBufferBytes);
                socket.Bind(bind);
                if (bind.Port == 0)
                {
                    // A port the kernel chose: claimed like a configured one.
                    _lock = PortLock.Acquire((IPEndPoint)socket.LocalEndPoint!);
                }
            }
            catch
            {
                socket.Dispose();
                foreach (var s in _sockets)
                {
                    s.Dispose();
                }
                _lock?.Dispose();
                throw;
            }
            _sockets.Add(socket);
            bind = (IPEndPoint)socket.LocalEndPoint!; // later sockets join the port the first one got
            if (!OperatingSystem.IsLinux())
            {
                break;
            }
        }
        LocalEndPoint = bind;
        var gauge = services.Metrics.UdpKernelDrops.WithLabels(name);
        services.Metrics.OnScrape(() => gauge.Set(KernelDrops(LocalEndPoint.Port)));
        Log.Listening(_logger, name, LocalEndPoint.ToString(), _sockets.Count, _sockets[0].ReceiveBufferSize);
    }

    /// <summary>The bound endpoint.</summary>
    public IPEndPoint LocalEndPoint { get; }

    /// <inheritdoc />
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(_sockets.Select(s => Task.Run(() => ReceiveLoopAsync(s, stoppingToken), CancellationToken.None)));

    private async Task ReceiveLoopAsync(Socket socket, CancellationToken stoppingToken)
    {
        var handler = _handlerFactory();
        var buffer = GC.AllocateUninitializedArray<byte>(65536, pinned: true);
        var peer = new SocketAddress(socket.AddressFamily);
        while (!stoppingToken.IsCancellationRequested)
        {
            int received;
            try
            {
                // The SocketAddress overload fills a reused address: no allocation per datagram.
                received = await socket.ReceiveFromAsync(buffer, SocketFlags.None, peer, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                break;
            }
            catch (SocketException e)
            {
                // ICMP errors and the like concern one datagram, never the listener.
                Log.ReceiveError(_logger, _name, e.SocketErrorCode.ToString());
                continue;
            }
            _datagrams.Inc();
            handler.Handle(buffer.AsSpan(0, received), peer);
            if (socket.Available == 0)
            {
                handler.Flush();
            }
        }
        handler.Flush();
    }

    /// <inheritdoc />
    public override void Dispose()
    {
        foreach (var socket in _sockets)
        {
            socket.Dispose();
        }
        _lock?.Dispose();
        base.Dispose();
    }

    private void SetReceiveBuffer(Socket socket, int bytes)
    {
        // SO_RCVBUFFORCE (33) goes past net.core.rmem_max when running with CAP_NET_ADMIN.
        try
        {
            if (OperatingSystem.IsLinux())
            {
                socket.SetRawSocketOption(1 /* SOL_SOCKET */, 33 /* SO_RCVBUFFORCE */, BitConverter.GetBytes(bytes));
                return;
            }
        }
        catch (SocketException)
        {
        }
        socket.ReceiveBufferSize = bytes;
        if (socket.ReceiveBufferSize < bytes / 2)
        {
            Log.SmallBuffer(_logger, _name, socket.ReceiveBufferSize, bytes);
        }
    }

    /// <summary>Sum of the kernel's drop counters of every UDP socket bound to
    /// <paramref name="port"/> (the last column of /proc/net/udp and udp6); 0 elsewhere.</summary>
    public static long KernelDrops(int port)
    {
        long drops = 0;
        var hexPort = ":" + port.ToString("X4", CultureInfo.InvariantCulture);
        foreach (var file in new[] { "/proc/net/udp", "/proc/net/udp6" })
        {
            if (!File.Exists(file))
            {
                continue;
            }
            foreach (var line in File.ReadLines(file).Skip(1))
            {
                var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (fields.Length > 12 && fields[1].EndsWith(hexPort, StringComparison.Ordinal) &&
                    long.TryParse(fields[^1], CultureInfo.InvariantCulture, out var d))
                {
                    drops += d;
                }
            }
        }
        return drops;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 420, Level = LogLevel.Information, Message = "{Listener}: listening on udp://{EndPoint} with {Loops} receive loops, {Buffer} byte receive buffers")]
        public static partial void Listening(ILogger logger, string listener, string endPoint, int loops, int buffer);

        [LoggerMessage(EventId = 421, Level = LogLevel.Debug, Message = "{Listener}: receive error {Error}")]
        public static partial void ReceiveError(ILogger logger, string listener, string error);

        [LoggerMessage(EventId = 422, Level = LogLevel.Warning, Message = "{Listener}: the kernel granted a {Actual} byte receive buffer instead of {Requested}; raise net.core.rmem_max to absorb bursts")]
        public static partial void SmallBuffer(ILogger logger, string listener, int actual, int requested);
    }
}

/// <summary>StatsD datagrams: aggregated in memory, flushed every interval.</summary>
public sealed class StatsdDatagramHandler(IngestServices services) : IDatagramHandler
{
    /// <inheritdoc />
    public void Handle(ReadOnlySpan<byte> datagram, SocketAddress peer)
    {
        var rejects = default(RejectTally);
        var accepted = services.Statsd.Process(datagram, ref rejects);
        services.Count(PointSource.StatsdUdp, accepted + rejects.Total, rejects);
        if (!rejects.IsEmpty)
        {
            services.RejectLog(PointSource.StatsdUdp).Rejected(rejects.First, datagram, peer);
        }
    }

    /// <inheritdoc />
    public void Flush()
    {
    }
}

/// <summary>Skyline's msgpack datagrams: one point each, batched per receive loop.</summary>
public sealed class MsgpackDatagramHandler(IngestServices services) : IDatagramHandler
{
    private PointBatch _batch = services.Writer.Pool.Rent(PointSource.Msgpack);
    private RejectTally _rejects;
    private int _received;

    /// <inheritdoc />
    public void Handle(ReadOnlySpan<byte> datagram, SocketAddress peer)
    {
        _received++;
        var error = MsgpackDatagramParser.Parse(datagram, out var name, out var ts, out var value);
        if (error == RejectReason.None)
        {
            error = services.Gate.Admit(name, ts, services.NowSeconds(), out var key);
            if (error == RejectReason.None)
            {
                _batch.Add(key!, ts, value);
                if (_batch.IsFull)
                {
                    Flush();
                }
                return;
            }
        }
        _rejects.Add(error);
        services.RejectLog(PointSource.Msgpack).Rejected(error, name.IsEmpty ? datagram : name, peer);
    }

    /// <inheritdoc />
    public void Flush()
    {
        services.Count(PointSource.Msgpack, _received, _rejects);
        _received = 0;
        _rejects = default;
        if (_batch.Count == 0)
        {
            return;
        }
        if (services.Writer.TrySubmit(_batch))
        {
            _batch = services.Writer.Pool.Rent(PointSource.Msgpack);
            return;
        }
        // UDP cannot push back: with the buffer full, these points are lost, and counted.
        services.WriterMetrics.AddDropped(PointSource.Msgpack, "buffer_full", _batch.Count);
        _batch.Clear();
    }
}
