using System.Net.Sockets;
using System.Threading.Channels;
using Horizon.Core.Points;
using Horizon.Core.Protocols;
using Microsoft.Extensions.Logging;
using Prometheus;

namespace Horizon.Storage.Forwarding;

/// <summary>
/// Sends every accepted point on to carbon destinations (<see cref="ForwardOptions"/>), each with
/// its own bounded queue and connection: a destination that is slow or down fills its queue, then
/// loses (and counts) its newest points, and is reconnected with a growing pause (1 s to 30 s);
/// neither the listeners nor the store wait for it. A write that fails is sent again on the next
/// connection (carbon keeps one value per timestamp, so a repeat changes nothing).
/// </summary>
public sealed partial class CarbonForwarder : IAsyncDisposable
{
    private readonly ForwardOptions _options;
    private readonly ILogger _logger;
    private readonly Destination[] _destinations;
    private readonly CancellationTokenSource _stop = new();
    private readonly CancellationTokenSource _closing = new();
    private Task? _loops;

    /// <summary>A forwarder to <see cref="ForwardOptions.Destinations"/>; none: <see cref="Enabled"/> is false.</summary>
    public CarbonForwarder(ForwardOptions options, CollectorRegistry registry, ILogger<CarbonForwarder> logger)
    {
        _options = options;
        _logger = logger;
        var f = Prometheus.Metrics.WithCustomRegistry(registry);
        var points = f.CreateCounter("horizon_forward_points_total", "Points forwarded to a carbon destination, by destination and outcome (sent, dropped: its queue was full or it was still down at shutdown).", "destination", "outcome");
        var queued = f.CreateGauge("horizon_forward_queue_points", "Points waiting for a carbon destination.", "destination");
        var connected = f.CreateGauge("horizon_forward_connected", "1 while the carbon destination's connection is up.", "destination");
        _destinations = [.. options.Parsed.Select(d => new Destination(d, points.WithLabels(d.ToString(), "sent"), points.WithLabels(d.ToString(), "dropped"),
            queued.WithLabels(d.ToString()), connected.WithLabels(d.ToString())))];
    }

    /// <summary>Whether any destination is configured.</summary>
    public bool Enabled => _destinations.Length > 0;

    /// <summary>Points waiting, over every destination.</summary>
    public long QueuedPoints => _destinations.Sum(d => Interlocked.Read(ref d.Queued));

    /// <summary>Starts a connection loop per destination.</summary>
    public void Start() => _loops ??= Task.WhenAll(_destinations.Select(d => Task.Run(() => RunAsync(d, _stop.Token))));

    /// <summary>Queues a batch's points for every destination (encoded once per format); a
    /// destination whose queue has no room for them drops them, counted.</summary>
    public void Offer(PointBatch batch)
    {
        if (batch.Count == 0)
        {
            return;
        }
        byte[]? plaintext = null, pickle = null;
        foreach (var d in _destinations)
        {
            if (Interlocked.Read(ref d.Queued) + batch.Count > _options.QueuePoints)
            {
                d.Dropped.Inc(batch.Count);
                continue;
            }
            var bytes = d.Target.Pickle ? pickle ??= CarbonEncoding.Pickle(batch) : plaintext ??= CarbonEncoding.Plaintext(batch);
            Interlocked.Add(ref d.Queued, batch.Count);
            d.QueuedGauge.Set(Interlocked.Read(ref d.Queued));
            d.Queue.Writer.TryWrite(new Chunk(bytes, batch.Count));
        }
    }

    /// <summary>Stops taking points and sends what is queued for up to <paramref name="deadline"/>
    /// (a destination that is down gets one more connection attempt, not the whole deadline); what
    /// is still queued then is counted as dropped.</summary>
    public async Task StopAsync(TimeSpan deadline)
    {
        foreach (var d in _destinations)
        {
            d.Queue.Writer.TryComplete();
        }
        await _closing.CancelAsync();
        if (_loops is null)
        {
            return;
        }
        if (await Task.WhenAny(_loops, Task.Delay(deadline)) != _loops)
        {
            await _stop.CancelAsync();
            await _loops.WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
        foreach (var d in _destinations)
        {
            var left = Interlocked.Exchange(ref d.Queued, 0);
            if (left > 0)
            {
                d.Dropped.Inc(left);
                Log.DroppedAtShutdown(_logger, d.Target.ToString(), left);
            }
        }
    }

    private async Task RunAsync(Destination d, CancellationToken stop)
    {
        var pause = TimeSpan.FromSeconds(1);
        var reader = d.Queue.Reader;
        TcpClient? client = null;
        var down = false;
        try
        {
            while (await reader.WaitToReadAsync(stop))
            {
                if (client is null)
                {
                    try
                    {
                        client = new TcpClient { NoDelay = true };
                        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stop);
                        timeout.CancelAfter(_options.ConnectTimeout);
                        await client.ConnectAsync(d.Target.Host, d.Target.Port, timeout.Token);
                        d.Connected.Set(1);
                        pause = TimeSpan.FromSeconds(1);
                        if (down)
                        {
                            Log.Reconnected(_logger, d.Target.ToString(), Interlocked.Read(ref d.Queued));
                            down = false;
                        }
                    }
                    catch (Exception e) when (e is SocketException or OperationCanceledException or IOException && !stop.IsCancellationRequested)
                    {
                        client?.Dispose();
                        client = null;
                        if (!down)
                        {
                            Log.Down(_logger, d.Target.ToString(), e.Message);
                            down = true;
                        }
                        if (_closing.IsCancellationRequested)
                        {
                            break;
                        }
                        await Task.Delay(pause, _closing.Token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                        pause = TimeSpan.FromSeconds(Math.Min(30, pause.TotalSeconds * 2));
                        continue;
                    }
                }
                var stream = client.GetStream();
                try
                {
                    while (reader.TryPeek(out var chunk))
                    {
                        await stream.WriteAsync(chunk.Bytes, stop);
                        reader.TryRead(out _);
                        d.Sent.Inc(chunk.Points);
                        d.QueuedGauge.Set(Interlocked.Add(ref d.Queued, -chunk.Points));
                    }
                }
                catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException && !stop.IsCancellationRequested)
                {
                    // Sent again on the next connection.
                    client.Dispose();
                    client = null;
                    d.Connected.Set(0);
                    Log.Down(_logger, d.Target.ToString(), e.Message);
                    down = true;
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
        finally
        {
            client?.Dispose();
            d.Connected.Set(0);
        }
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        await _closing.CancelAsync();
        await _stop.CancelAsync();
        if (_loops is not null)
        {
            await _loops.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
        _stop.Dispose();
        _closing.Dispose();
    }

    private sealed record Chunk(byte[] Bytes, int Points);

    private sealed class Destination(ForwardDestination target, Counter.Child sent, Counter.Child dropped, Gauge.Child queued, Gauge.Child connected)
    {
        public long Queued;

        public ForwardDestination Target { get; } = target;

        public Channel<Chunk> Queue { get; } = Channel.CreateUnbounded<Chunk>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });

        public Counter.Child Sent { get; } = sent;

        public Counter.Child Dropped { get; } = dropped;

        public Gauge.Child QueuedGauge { get; } = queued;

        public Gauge.Child Connected { get; } = connected;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 700, Level = LogLevel.Warning, Message = "Forwarding to {Destination} is down ({Reason}); points queue for it (Forward:QueuePoints) and it is retried")]
        public static partial void Down(ILogger logger, string destination, string reason);

        [LoggerMessage(EventId = 701, Level = LogLevel.Information, Message = "Forwarding to {Destination} reconnected; {Queued} points queued for it")]
        public static partial void Reconnected(ILogger logger, string destination, long queued);

        [LoggerMessage(EventId = 702, Level = LogLevel.Warning, Message = "Forwarding to {Destination}: {Points} queued points not sent at shutdown (the destination was down, or the drain deadline passed), dropped")]
        public static partial void DroppedAtShutdown(ILogger logger, string destination, long points);
    }
}
