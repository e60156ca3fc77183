using System.Diagnostics;
using System.Threading.Channels;
using Horizon.Core.Metrics;
using Horizon.Core.Points;
using Horizon.Core.Series;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Horizon.Storage;

/// <summary>Writes accepted points to the store in Skyline's layout. Listeners hand over batches
/// through a bounded buffer; one loop gathers them into flushes in which all points of a key
/// become a single APPEND of their msgpack bytes, sends each flush as one pipeline (with a SADD
/// of names not recently added), and keeps a bounded number of flushes awaiting replies. A failed
/// command is retried until the store is back, so a slow or absent store fills the buffer and
/// slows the TCP readers instead of growing memory or losing points.</summary>
public sealed partial class SeriesWriter : IDisposable
{
    private readonly StoreConnection _store;
    private readonly WriterOptions _options;
    private readonly HorizonMetrics _metrics;
    private readonly ILogger<SeriesWriter> _logger;
    private readonly TimeProvider _time;
    private readonly byte[] _uniqueSet;
    private readonly Channel<PointBatch> _channel;
    private readonly SemaphoreSlim _slots;
    private readonly Stack<FlushUnit> _units = new();
    private readonly long _refreshSeconds;
    private long _buffered;
    private long _inFlight;
    private int _generation;
    private volatile bool _abandon;
    private long _lastFailureLog;
    private Task? _loop;

    /// <summary>Creates a writer; call <see cref="Start"/> once the store is reachable.</summary>
    public SeriesWriter(StoreConnection store, WriterOptions options, SeriesOptions series, HorizonMetrics metrics,
        ILogger<SeriesWriter> logger, TimeProvider? time = null)
    {
        options.Validate(series);
        _store = store;
        _options = options;
        _metrics = metrics;
        _logger = logger;
        _time = time ?? TimeProvider.System;
        _uniqueSet = System.Text.Encoding.UTF8.GetBytes(series.UniqueMetricsKey);
        var direct = options.DirectConnections ? RespEndpoint.From(store.Configuration) : null;
        _transport = direct is null ? new MultiplexerTransport(store.Database, _uniqueSet) : new DirectTransport(direct, _uniqueSet);
        _refreshSeconds = (long)options.UniqueSetRefresh.TotalSeconds;
        Pool = new PointBatchPool(options.BatchSize, Math.Max(64, options.MaxBufferedPoints / options.BatchSize));
        _channel = Channel.CreateBounded<PointBatch>(new BoundedChannelOptions(Math.Max(1, options.MaxBufferedPoints / options.BatchSize))
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        _slots = new SemaphoreSlim(options.MaxInFlightFlushes, options.MaxInFlightFlushes);
        for (var i = 0; i < options.MaxInFlightFlushes; i++)
        {
            _units.Push(new FlushUnit(options.FlushPoints + options.BatchSize));
        }
    }

    // Replaced once, by the multiplexer, if the direct connections find a cluster node.
    private IFlushTransport _transport;

    /// <summary>True while flushes go over Horizon's own RESP connections rather than StackExchange.Redis.</summary>
    public bool UsesDirectConnections => Volatile.Read(ref _transport) is DirectTransport;

    /// <summary>The pool listeners rent their batches from.</summary>
    public PointBatchPool Pool { get; }

    /// <summary>Accepted points waiting to be sent.</summary>
    public long BufferedPoints => Interlocked.Read(ref _buffered);

    /// <summary>Points sent and not yet acknowledged.</summary>
    public long InFlightPoints => Interlocked.Read(ref _inFlight);

    /// <summary>Starts the write loop.</summary>
    public void Start() => _loop ??= Task.Run(ConsumeAsync);

    /// <summary>Hands over a batch, waiting while the buffer is full (TCP listeners: this is the
    /// back-pressure). The batch belongs to the writer afterwards. After shutdown began, the
    /// points are counted as dropped.</summary>
    public ValueTask SubmitAsync(PointBatch batch, CancellationToken cancellationToken = default)
    {
        if (batch.Count == 0)
        {
            Pool.Return(batch);
            return default;
        }
        Interlocked.Add(ref _buffered, batch.Count);
        var write = _channel.Writer.WriteAsync(batch, cancellationToken);
        return write.IsCompletedSuccessfully ? default : AwaitSubmit(write, batch);
    }

    private async ValueTask AwaitSubmit(ValueTask write, PointBatch batch)
    {
        try
        {
            await write;
        }
        catch (Exception e) when (e is ChannelClosedException or OperationCanceledException)
        {
            Interlocked.Add(ref _buffered, -batch.Count);
            _metrics.AddDropped(batch.Source, "shutdown", batch.Count);
            Pool.Return(batch);
        }
    }

    /// <summary>Hands over a batch without waiting (UDP listeners). Returns false when the buffer
    /// is full; the caller then counts the points as dropped and keeps the batch.</summary>
    public bool TrySubmit(PointBatch batch)
    {
        if (batch.Count == 0)
        {
            return true;
        }
        Interlocked.Add(ref _buffered, batch.Count);
        if (_channel.Writer.TryWrite(batch))
        {
            return true;
        }
        Interlocked.Add(ref _buffered, -batch.Count);
        return false;
    }

    /// <summary>Stops accepting batches and waits until everything accepted is stored. If the
    /// store is still failing when <paramref name="deadline"/> passes, the remaining points are
    /// counted as dropped and logged.</summary>
    public async Task StopAsync(TimeSpan deadline)
    {
        _channel.Writer.TryComplete();
        if (_loop is null)
        {
            return;
        }
        if (await Task.WhenAny(_loop, Task.Delay(deadline)) != _loop)
        {
            _abandon = true;
            Log.ShutdownDeadline(_logger, BufferedPoints + InFlightPoints);
            // Drain the buffer without the store so the loop can finish.
            await _loop.WaitAsync(TimeSpan.FromSeconds(30));
        }
    }

    private async Task ConsumeAsync()
    {
        var reader = _channel.Reader;
        while (await reader.WaitToReadAsync())
        {
            await _slots.WaitAsync();
            FlushUnit unit;
            lock (_units)
            {
                unit = _units.Pop();
            }
            Fill(unit, reader);
            if (unit.PointCount == 0)
            {
                ReturnUnit(unit);
                continue;
            }
            _ = SendAsync(unit);
        }
        for (var i = 0; i < _options.MaxInFlightFlushes; i++)
        {
            await _slots.WaitAsync();
        }
    }

    // Runs on the single consumer loop only: the per-key scratch fields are its alone.
    private void Fill(FlushUnit u, ChannelReader<PointBatch> reader)
    {
        var generation = ++_generation;
        if (generation == 0)
        {
            generation = ++_generation;
        }
        var now = _time.GetUtcNow().ToUnixTimeSeconds();
        while (u.PointCount < _options.FlushPoints && reader.TryRead(out var batch))
        {
            Interlocked.Add(ref _buffered, -batch.Count);
            var source = batch.Source;
            for (var i = 0; i < batch.Count; i++)
            {
                var key = batch.Keys[i];
                if (key.FlushGeneration != generation)
                {
                    key.FlushGeneration = generation;
                    key.FlushSlot = u.AddSlot(key);
                }
                u.AddPoint(key.FlushSlot, batch.Timestamps[i], batch.Values[i], source);
            }
            u.SourceCounts[(int)source] += batch.Count;
            Pool.Return(batch);
        }
        u.Encode();
        for (var s = 0; s < u.SlotCount; s++)
        {
            var key = u.Keys[s];
            Volatile.Write(ref key.LastWritten, now);
            if (now - Volatile.Read(ref key.UniqueSetStamp) >= _refreshSeconds)
            {
                u.SlotNamed[s] = true;
                Volatile.Write(ref key.UniqueSetStamp, now);
                u.NewNames.Add(key.RedisKey);
                u.NewNameKeys.Add(key);
            }
        }
    }

    private async Task SendAsync(FlushUnit u)
    {
        var started = Stopwatch.GetTimestamp();
        Interlocked.Add(ref _inFlight, u.PointCount);
        _metrics.WriteBatches.Inc();
        _metrics.WriteBatchPoints.Observe(u.PointCount);
        _metrics.WriteBatchKeys.Observe(u.SlotCount);
        try
        {
            var pending = Enumerable.Range(0, u.SlotCount).ToList();
            var addNames = u.NewNames.Count > 0;
            var attempt = 0;
            while (true)
            {
                var results = new AppendResult[pending.Count];
                var saddCount = addNames ? u.NewNames.Count : 0;
                var transport = Volatile.Read(ref _transport);
                var saddError = await transport.SendAsync(u, pending, addNames ? u.NewNames : null, results);
                var failed = new List<int>();
                Exception? firstError = null;
                for (var i = 0; i < results.Length; i++)
                {
                    var s = pending[i];
                    if (results[i].Error is not { } error)
                    {
                        // APPEND returns the new length: equal to what was appended means this
                        // APPEND created the key (new, deleted by Roomba, or the store came back
                        // empty), so the name must go into the set even if it was added before.
                        if (results[i].Length == u.SlotLengths[s] && !u.SlotNamed[s])
                        {
                            u.SlotNamed[s] = true;
                            u.NewNameKeys.Add(u.Keys[s]);
                            u.NewNames.Add(u.Keys[s].RedisKey);
                            addNames = true;
                        }
                        continue;
                    }
                    firstError ??= error;
                    if (IsPermanent(error))
                    {
                        _metrics.WriteErrors.WithLabels("permanent").Inc();
                        u.DropSlot(s);
                        Log.PermanentFailure(_logger, u.Keys[s].ToString(), error.Message);
                    }
                    else
                    {
                        _metrics.WriteErrors.WithLabels("retried").Inc();
                        failed.Add(s);
                    }
                }
                if (saddCount > 0)
                {
                    if (saddError is not null)
                    {
                        firstError ??= saddError;
                        _metrics.WriteErrors.WithLabels("retried").Inc();
                    }
                    else
                    {
                        _metrics.UniqueSetAdds.Inc(saddCount);
                        u.NewNames.RemoveRange(0, saddCount);
                        addNames = u.NewNames.Count > 0;
                    }
                }
                if (transport is DirectTransport { ClusterDetected: true } &&
                    Interlocked.CompareExchange(ref _transport, new MultiplexerTransport(_store.Database, _uniqueSet), transport) == transport)
                {
                    // The store is a cluster node: redirected keys go to their owners from now on.
                    transport.Dispose();
                    Log.ClusterDetected(_logger);
                }
                if (failed.Count == 0 && !addNames)
                {
                    break;
                }
                if (failed.Count == 0 && saddCount == 0)
                {
                    // Only names of keys these APPENDs created are left to add: no need to wait.
                    pending = failed;
                    continue;
                }
                if (_abandon)
                {
                    foreach (var s in failed)
                    {
                        u.DropSlot(s);
                    }
                    foreach (var key in u.NewNameKeys)
                    {
                        Volatile.Write(ref key.UniqueSetStamp, 0);
                    }
                    break;
                }
                pending = failed;
                attempt++;
                LogFailure(failed.Count, firstError);
                var delay = TimeSpan.FromMilliseconds(Math.Min(_options.MaxRetryDelay.TotalMilliseconds, 50 * Math.Pow(2, Math.Min(attempt, 10))));
                await Task.Delay(delay, _time);
            }
            for (var source = 0; source < PointSources.Count; source++)
            {
                var stored = u.SourceCounts[source] - u.DroppedCounts[source];
                if (stored > 0)
                {
                    _metrics.PointsStored.WithLabels(((PointSource)source).Label()).Inc(stored);
                }
                var dropped = u.DroppedCounts[source];
                if (dropped > 0)
                {
                    _metrics.AddDropped((PointSource)source, _abandon ? "shutdown" : "store_error", dropped);
                }
            }
        }
        catch (Exception e)
        {
            // A bug, not a store failure: log it loudly rather than lose the loop.
            Log.Unexpected(_logger, e);
        }
        finally
        {
            _metrics.WriteDuration.Observe(Stopwatch.GetElapsedTime(started).TotalSeconds);
            Interlocked.Add(ref _inFlight, -u.PointCount);
            ReturnUnit(u);
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _slots.Dispose();
        _transport.Dispose();
    }

    private void ReturnUnit(FlushUnit u)
    {
        u.Reset();
        lock (_units)
        {
            _units.Push(u);
        }
        _slots.Release();
    }

    // A command the store will refuse however often it is sent (the key holds another type, or
    // the string reached Redis's size limit): retrying would wedge the writer.
    private static bool IsPermanent(Exception e) =>
        e is RedisServerException server &&
        (server.Message.StartsWith("WRONGTYPE", StringComparison.Ordinal) ||
         server.Message.Contains("maximum allowed size", StringComparison.OrdinalIgnoreCase));

    private void LogFailure(int commands, Exception? error)
    {
        var now = Environment.TickCount64;
        var last = Interlocked.Read(ref _lastFailureLog);
        if (now - last >= 5000 && Interlocked.CompareExchange(ref _lastFailureLog, now, last) == last)
        {
            Log.Retrying(_logger, commands, BufferedPoints, InFlightPoints, error?.Message ?? "unknown error");
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 200, Level = LogLevel.Warning, Message = "Store writes failing; retrying {Commands} commands ({Buffered} points buffered, {InFlight} in flight): {Reason}")]
        public static partial void Retrying(ILogger logger, int commands, long buffered, long inFlight, string reason);

        [LoggerMessage(EventId = 201, Level = LogLevel.Error, Message = "The store refused the points of {Metric} for good, they are dropped: {Reason}")]
        public static partial void PermanentFailure(ILogger logger, string metric, string reason);

        [LoggerMessage(EventId = 202, Level = LogLevel.Error, Message = "Shutdown deadline passed with {Points} points not yet stored; they are counted as dropped")]
        public static partial void ShutdownDeadline(ILogger logger, long points);

        [LoggerMessage(EventId = 203, Level = LogLevel.Error, Message = "Unexpected error in the series writer")]
        public static partial void Unexpected(ILogger logger, Exception exception);

        [LoggerMessage(EventId = 204, Level = LogLevel.Information, Message = "The store redirected keys (a cluster node): writes go through the cluster-aware client from now on")]
        public static partial void ClusterDetected(ILogger logger);
    }
}
