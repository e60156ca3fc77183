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
    private readonly WriterMetrics _metrics;
    private readonly ILogger<SeriesWriter> _logger;
    private readonly TimeProvider _time;
    private readonly Channel<PointBatch> _channel;
    private readonly SemaphoreSlim _slots;
    private readonly Stack<FlushUnit> _units = new();
    private readonly long _refreshSeconds;
    private long _buffered;
    private long _inFlight;
    private int _generation;
    private volatile bool _abandon;
    private long _lastFailureLog;
    private readonly TaskCompletionSource _stopping = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task? _loop;
    private readonly Forwarding.CarbonForwarder? _forwarder;
    private readonly Events.EventPoints? _events;

    /// <summary>Creates a writer; call <see cref="Start"/> once the store is reachable.</summary>
    public SeriesWriter(StoreConnection store, WriterOptions options, SeriesOptions series, WriterMetrics metrics,
        ILogger<SeriesWriter> logger, TimeProvider? time = null, Forwarding.CarbonForwarder? forwarder = null, Events.EventPoints? events = null)
    {
        _events = events;
        _forwarder = forwarder is { Enabled: true } ? forwarder : null;
        _store = store;
        _options = options;
        _metrics = metrics;
        _logger = logger;
        _time = time ?? TimeProvider.System;
        var names = store.Names; // the index the process opened the store with
        var direct = options.DirectConnections ? RespEndpoint.From(store.Configuration) : null;
        _transport = direct is null
            ? new MultiplexerTransport(store.Database, names)
            : new ClusterFallbackTransport(new DirectTransport(direct, names), () => new MultiplexerTransport(store.Database, names), () => Log.ClusterDetected(logger));
        _refreshSeconds = (long)options.UniqueSetRefresh.TotalSeconds;
        Pool = new PointBatchPool(options.BatchSize, Math.Max(64, options.MaxBufferedPoints / options.BatchSize));
        _channel = Channel.CreateBounded<PointBatch>(new BoundedChannelOptions(Math.Max(1, options.MaxBufferedPoints / options.BatchSize))
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        _slots = new SemaphoreSlim(options.MaxInFlightFlushes, options.MaxInFlightFlushes);
        metrics.OnScrape(() =>
        {
            metrics.PointsBuffered.Set(BufferedPoints);
            metrics.PointsInFlight.Set(InFlightPoints);
            if (store.DiskGuard is { } guard)
            {
                metrics.StoreDiskFree.Set(guard.FreeBytes);
                metrics.StoreDiskFull.Set(guard.Full ? 1 : 0);
            }
        });
        for (var i = 0; i < options.MaxInFlightFlushes; i++)
        {
            _units.Push(new FlushUnit(options.FlushPoints + options.BatchSize));
        }
    }

    private readonly IFlushTransport _transport;
    private readonly FlushOrder _order = new();
    private readonly SemaphoreSlim _serial = new(1, 1);

    /// <summary>True while flushes go over Horizon's own RESP connections rather than StackExchange.Redis.</summary>
    public bool UsesDirectConnections => _transport is ClusterFallbackTransport { UsesDirect: true };

    /// <summary>The pool listeners rent their batches from.</summary>
    public PointBatchPool Pool { get; }

    /// <summary>Accepted points waiting to be sent.</summary>
    public long BufferedPoints => Interlocked.Read(ref _buffered);

    /// <summary>How long writes have been failing without a break (null: they are not).</summary>
    public TimeSpan? FailingFor => _order.FailingFor;

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
        _stopping.TrySetResult();
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
            if (_store.DiskGuard is { Full: true } guard && !_abandon)
            {
                // Points wait in the (bounded) buffer until the embedded store's disk has room.
                await Task.WhenAny(guard.WaitForRoomAsync(), _stopping.Task);
            }
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
            // Through StackExchange.Redis (a cluster) one flush at a time: when a node dies, a newer
            // flush in flight could reach the promoted replica before an older one's retry, and a
            // series would be appended out of order. Taken here, in flush order.
            var serial = !UsesDirectConnections;
            if (serial)
            {
                await _serial.WaitAsync();
            }
            _order.Open(unit);
            _ = SendAsync(unit, serial);
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
            _forwarder?.Offer(batch);
            var source = batch.Source;
            for (var i = 0; i < batch.Count; i++)
            {
                var key = batch.Keys[i];
                if (key.IsEvent)
                {
                    _events?.Offer(key, batch.Timestamps[i], batch.Values[i]);
                }
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
                Volatile.Write(ref key.UniqueSetStamp, now);
                u.NewNames.Add(key.RedisKey);
                u.NewNameKeys.Add(key);
            }
        }
    }

    private async Task SendAsync(FlushUnit u, bool serial)
    {
        var started = Stopwatch.GetTimestamp();
        Interlocked.Add(ref _inFlight, u.PointCount);
        _metrics.WriteBatches.Inc();
        _metrics.WriteBatchPoints.Observe(u.PointCount);
        _metrics.WriteBatchKeys.Observe(u.SlotCount);
        try
        {
            var pending = Enumerable.Range(0, u.SlotCount).ToList();
            var attempt = 0;
            await _order.TakeTurnAsync(u, resend: false);
            while (true)
            {
                if (attempt > 0)
                {
                    _transport.Resume();
                }
                var checkError = attempt > 0 ? await SkipAppliedAsync(u, pending) : null;
                var outcome = checkError is null ? await SendOnceAsync(u, pending) : new SendOutcome(pending, Retry: true, checkError);
                if (!outcome.Retry)
                {
                    _order.EndTurn(u, failed: false, done: true);
                    break;
                }
                if (outcome.Failed.Count == 0 && outcome.Error is null)
                {
                    // Only names of keys these APPENDs created are left to add: no need to wait.
                    pending = outcome.Failed;
                    continue;
                }
                var abandon = _abandon;
                _order.EndTurn(u, failed: true, done: abandon);
                if (abandon)
                {
                    Abandon(u, outcome.Failed);
                    break;
                }
                pending = outcome.Failed;
                attempt++;
                LogFailure(pending.Count, outcome.Error);
                await Task.Delay(RetryDelay(attempt), _time);
                await _order.TakeTurnAsync(u, resend: true);
            }
            CountOutcome(u);
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
            if (serial)
            {
                _serial.Release();
            }
        }
    }

    /// <summary>What one round left to do: the slots to resend, and whether anything (those, or
    /// names) is left at all.</summary>
    private readonly record struct SendOutcome(List<int> Failed, bool Retry, Exception? Error);

    // One round: send, then classify each reply (stored, refused for good, or to be resent).
    private async Task<SendOutcome> SendOnceAsync(FlushUnit u, List<int> pending)
    {
        var results = new AppendResult[pending.Count];
        var names = u.NewNames.Count > 0 ? u.NewNames : null;
        var saddCount = names?.Count ?? 0;
        // The transport queues the round before its first await: from then on this flush's place
        // in the store's order is fixed, and the next one may queue its own.
        var sending = _transport.SendAsync(u, pending, names, results);
        _order.Queued(u);
        var saddError = await sending;
        var failed = new List<int>();
        Exception? firstError = null;
        for (var i = 0; i < results.Length; i++)
        {
            var s = pending[i];
            if (results[i].Error is not { } error)
            {
                // APPEND returns the new length: equal to what was appended means this APPEND
                // created the key (new, deleted by Roomba, or the store came back empty). Its name
                // goes into the set after it, even if this round's SADD already sent it: Roomba may
                // have removed the name between that SADD and this APPEND (it forgets names whose
                // key it found missing).
                if (results[i].Length == u.SlotLengths[s])
                {
                    AddName(u, s);
                }
                continue;
            }
            firstError ??= error;
            if (StoreErrors.IsPermanent(error))
            {
                _metrics.WriteErrors.WithLabels("permanent").Inc();
                u.DropSlot(s);
                Log.PermanentFailure(_logger, u.Keys[s].ToString(), error.Message);
                continue;
            }
            _metrics.WriteErrors.WithLabels("retried").Inc();
            u.SlotMaybeApplied[s] |= results[i].MaybeApplied;
            failed.Add(s);
        }
        if (saddCount > 0)
        {
            if (saddError is null)
            {
                _metrics.UniqueSetAdds.Inc(saddCount);
                u.NewNames.RemoveRange(0, saddCount);
            }
            else if (StoreErrors.IsPermanent(saddError))
            {
                // The set key holds another type: retrying would stall every write behind it.
                _metrics.WriteErrors.WithLabels("permanent").Inc();
                Log.UniqueSetRefused(_logger, saddError.Message);
                u.NewNames.RemoveRange(0, saddCount);
            }
            else
            {
                firstError ??= saddError;
                _metrics.WriteErrors.WithLabels("retried").Inc();
            }
        }
        return new SendOutcome(failed, failed.Count > 0 || u.NewNames.Count > 0, firstError);
    }

    // Before resending APPENDs that may have reached the store (sent, no reply), looks at each
    // key's tail: if it ends with this flush's bytes for the key, followed by what newer flushes
    // may have appended after them, the store applied it and it is not sent again. The newer
    // flushes are the ones already sent: on one connection the store applies a prefix of what it
    // was sent, so those are the only bytes that can follow. Returns why the tails could not be read.
    private async Task<Exception?> SkipAppliedAsync(FlushUnit u, List<int> pending)
    {
        var check = pending.Where(s => u.SlotMaybeApplied[s]).ToList();
        if (check.Count == 0)
        {
            return null;
        }
        var later = _order.SentAfter(u);
        var follow = new List<ReadOnlyMemory<byte>>[check.Count];
        var reads = new Task<RedisValue>[check.Count];
        for (var i = 0; i < check.Count; i++)
        {
            var key = u.Keys[check[i]];
            follow[i] = [.. later.Select(l => (Unit: l, Slot: l.SlotOf(key))).Where(p => p.Slot >= 0).Select(p => p.Unit.Value(p.Slot))];
            var length = u.SlotLengths[check[i]] + follow[i].Sum(m => m.Length);
            reads[i] = _store.Database.StringGetRangeAsync(key.RedisKey, -length, -1);
        }
        try
        {
            await Task.WhenAll(reads);
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            // A key of another type is left to its APPEND's own (permanent) error; anything else
            // (a lost connection, LOADING) means the tails cannot be known yet.
            if (reads.Any(r => r.IsFaulted && !StoreErrors.IsWrongType(r.Exception!.GetBaseException())))
            {
                return e;
            }
        }
        for (var i = 0; i < check.Count; i++)
        {
            var s = check[i];
            if (!reads[i].IsCompletedSuccessfully || !EndsWithPrefixOf((byte[]?)reads[i].Result ?? [], u.Value(s).Span, follow[i]))
            {
                continue;
            }
            pending.Remove(s);
            AddName(u, s);
            _metrics.WriteResendsSkipped.Inc();
        }
        return null;
    }

    /// <summary>True when <paramref name="tail"/> ends with <paramref name="first"/> followed by the
    /// first j of <paramref name="then"/>, for some j.</summary>
    internal static bool EndsWithPrefixOf(ReadOnlySpan<byte> tail, ReadOnlySpan<byte> first, List<ReadOnlyMemory<byte>> then)
    {
        var total = first.Length + then.Sum(m => m.Length);
        for (var j = then.Count; j >= 0; j--)
        {
            if (tail.Length >= total && tail[(tail.Length - total)..].StartsWith(first) && Follows(tail[(tail.Length - total + first.Length)..], then, j))
            {
                return true;
            }
            if (j > 0)
            {
                total -= then[j - 1].Length;
            }
        }
        return false;

        static bool Follows(ReadOnlySpan<byte> rest, List<ReadOnlyMemory<byte>> then, int count)
        {
            for (var k = 0; k < count; k++)
            {
                if (!rest.StartsWith(then[k].Span))
                {
                    return false;
                }
                rest = rest[then[k].Length..];
            }
            return rest.IsEmpty;
        }
    }

    // The name of a slot's key is sent (again) in the next round.
    private static void AddName(FlushUnit u, int s)
    {
        u.NewNameKeys.Add(u.Keys[s]);
        u.NewNames.Add(u.Keys[s].RedisKey);
    }

    // Shutdown's deadline passed with the store still failing: what is left is dropped (counted),
    // and names not confirmed in the set are sent again by whoever writes them next.
    private static void Abandon(FlushUnit u, List<int> failed)
    {
        foreach (var s in failed)
        {
            u.DropSlot(s);
        }
        foreach (var key in u.NewNameKeys)
        {
            Volatile.Write(ref key.UniqueSetStamp, 0);
        }
    }

    private TimeSpan RetryDelay(int attempt) =>
        TimeSpan.FromMilliseconds(Math.Min(_options.MaxRetryDelay.TotalMilliseconds, 50 * Math.Pow(2, Math.Min(attempt, 10))));

    private void CountOutcome(FlushUnit u)
    {
        for (var source = 0; source < PointSources.Count; source++)
        {
            var stored = u.SourceCounts[source] - u.DroppedCounts[source];
            if (stored > 0)
            {
                _metrics.PointsStored.WithLabels(((PointSource)source).Label()).Inc(stored);
            }
            _metrics.AddDropped((PointSource)source, _abandon ? "shutdown" : "store_error", u.DroppedCounts[source]);
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _slots.Dispose();
        _serial.Dispose();
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

        [LoggerMessage(EventId = 205, Level = LogLevel.Error, Message = "The store refused to add names to the unique-metrics set for good (they are not retried): {Reason}")]
        public static partial void UniqueSetRefused(ILogger logger, string reason);
    }
}
