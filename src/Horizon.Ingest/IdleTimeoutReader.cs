using System.Collections.Concurrent;
using System.IO.Pipelines;

namespace Horizon.Ingest;

/// <summary>Wraps a connection's reader so that a read waiting longer than the idle timeout for data
/// ends as cancelled (the protocol loop then stops and the connection closes). A read that finds
/// data at once costs nothing more; one that waits stamps when it started and clears the stamp when
/// it ends (a pooled state machine, no allocation), and <see cref="IdleSweeper"/> looks at the
/// waiting readers once a second. Time the loop spends handing points over (back-pressure from a
/// slow store) is not waiting for the peer and never counts against it.</summary>
internal sealed class IdleTimeoutReader(PipeReader inner) : PipeReader
{
    private long _waitingSince; // Environment.TickCount64 when the pending read started; 0: none pending
    private volatile bool _timedOut;

    /// <summary>True once a read waited past the timeout.</summary>
    public bool TimedOut => _timedOut;

    /// <summary>Ends the pending read if it has waited longer than <paramref name="timeout"/> (milliseconds).</summary>
    public void CancelIfIdle(long now, long timeout)
    {
        var since = Volatile.Read(ref _waitingSince);
        if (since != 0 && now - since > timeout && !_timedOut)
        {
            _timedOut = true;
            inner.CancelPendingRead();
        }
    }

    public override ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default)
    {
        var read = inner.ReadAsync(cancellationToken);
        if (read.IsCompleted)
        {
            return read;
        }
        Volatile.Write(ref _waitingSince, Environment.TickCount64);
        return WaitAsync(read);
    }

    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<ReadResult> WaitAsync(ValueTask<ReadResult> read)
    {
        try
        {
            return await read;
        }
        finally
        {
            Volatile.Write(ref _waitingSince, 0);
        }
    }

    public override bool TryRead(out ReadResult result) => inner.TryRead(out result);

    public override void AdvanceTo(SequencePosition consumed) => inner.AdvanceTo(consumed);

    public override void AdvanceTo(SequencePosition consumed, SequencePosition examined) => inner.AdvanceTo(consumed, examined);

    public override void CancelPendingRead() => inner.CancelPendingRead();

    public override void Complete(Exception? exception = null) => inner.Complete(exception);

    public override ValueTask CompleteAsync(Exception? exception = null) => inner.CompleteAsync(exception);
}

/// <summary>Closes ingest connections that wait for data longer than
/// <see cref="ListenerOptions.IdleTimeout"/>: one timer for every connection, once a second.</summary>
public sealed class IdleSweeper : IDisposable
{
    private readonly ConcurrentDictionary<object, byte> _readers = new(ReferenceEqualityComparer.Instance);
    private readonly long _timeout;
    private readonly Timer? _timer;

    /// <summary>A sweeper for <paramref name="timeout"/> (zero: connections never time out).</summary>
    public IdleSweeper(TimeSpan timeout)
    {
        _timeout = (long)timeout.TotalMilliseconds;
        if (_timeout > 0)
        {
            var period = TimeSpan.FromMilliseconds(Math.Min(1000, Math.Max(50, _timeout / 4)));
            _timer = new Timer(_ => Sweep(), null, period, period);
        }
    }

    internal IdleTimeoutReader Watch(PipeReader input)
    {
        var reader = new IdleTimeoutReader(input);
        if (_timer is not null)
        {
            _readers.TryAdd(reader, 0);
        }
        return reader;
    }

    internal void Forget(IdleTimeoutReader reader) => _readers.TryRemove(reader, out _);

    private void Sweep()
    {
        var now = Environment.TickCount64;
        foreach (var reader in _readers.Keys)
        {
            ((IdleTimeoutReader)reader).CancelIfIdle(now, _timeout);
        }
    }

    /// <inheritdoc />
    public void Dispose() => _timer?.Dispose();
}
