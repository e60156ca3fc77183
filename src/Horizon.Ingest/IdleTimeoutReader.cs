using System.IO.Pipelines;

namespace Horizon.Ingest;

/// <summary>Wraps a connection's reader so that waiting longer than the idle timeout for data ends
/// the read as cancelled (the protocol loop then stops and the connection closes). The clock runs
/// only while a read waits: time the loop spends handing points over (back-pressure from a slow
/// store) never counts against the peer.</summary>
internal sealed class IdleTimeoutReader : PipeReader, IDisposable
{
    private readonly PipeReader _inner;
    private readonly TimeSpan _timeout;
    private readonly CancellationTokenSource _idle = new();
    private readonly CancellationTokenRegistration _registration;
    private volatile bool _timedOut;

    /// <summary>Wraps <paramref name="inner"/>; a zero timeout never fires.</summary>
    public IdleTimeoutReader(PipeReader inner, TimeSpan timeout)
    {
        _inner = inner;
        _timeout = timeout;
        _registration = _idle.Token.Register(static state =>
        {
            var reader = (IdleTimeoutReader)state!;
            reader._timedOut = true;
            reader._inner.CancelPendingRead();
        }, this);
    }

    /// <summary>True once a read waited past the timeout.</summary>
    public bool TimedOut => _timedOut;

    public override async ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default)
    {
        if (_timeout <= TimeSpan.Zero || _timedOut)
        {
            return await _inner.ReadAsync(cancellationToken);
        }
        _idle.CancelAfter(_timeout);
        try
        {
            return await _inner.ReadAsync(cancellationToken);
        }
        finally
        {
            if (!_timedOut)
            {
                _idle.CancelAfter(Timeout.InfiniteTimeSpan);
            }
        }
    }

    public override bool TryRead(out ReadResult result) => _inner.TryRead(out result);

    public override void AdvanceTo(SequencePosition consumed) => _inner.AdvanceTo(consumed);

    public override void AdvanceTo(SequencePosition consumed, SequencePosition examined) => _inner.AdvanceTo(consumed, examined);

    public override void CancelPendingRead() => _inner.CancelPendingRead();

    public override void Complete(Exception? exception = null) => _inner.Complete(exception);

    public override ValueTask CompleteAsync(Exception? exception = null) => _inner.CompleteAsync(exception);

    public void Dispose()
    {
        _registration.Dispose();
        _idle.Dispose();
    }
}
