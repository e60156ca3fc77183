namespace Horizon.Storage;

/// <summary>
/// Keeps flushes from overtaking each other when the store fails. Flushes are numbered as they are
/// filled; while every send succeeds they are pipelined, several in flight. Once one has a failed
/// command, no flush makes its first send until every failed flush is done, and failed flushes
/// resend one at a time, oldest first, each only when nothing else is in flight; first sends, too,
/// are queued in the transport oldest first. Together with the
/// transports' halt (rounds queued behind a failure are not sent) this keeps each series' points in
/// the order they were accepted through any outage.
/// </summary>
internal sealed class FlushOrder
{
    private readonly Lock _lock = new();
    // At most Writer:MaxInFlightFlushes entries.
    private readonly SortedDictionary<long, FlushUnit> _open = [];
    private long _next;
    private int _sending;
    private int _failing;
    private long _failingSince; // Stopwatch timestamp; 0 while no flush is failing
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Numbers a filled flush; called by the single loop that fills them, in order.</summary>
    public void Open(FlushUnit u)
    {
        lock (_lock)
        {
            u.Sequence = _next++;
            u.Failing = false;
            u.Queued = false;
            _open.Add(u.Sequence, u);
        }
    }

    /// <summary>Waits until <paramref name="u"/> may send: a first send once no flush is failing and
    /// every older one has been queued, a resend once it is the oldest open flush and nothing is in
    /// flight.</summary>
    public async Task TakeTurnAsync(FlushUnit u, bool resend)
    {
        while (true)
        {
            Task changed;
            lock (_lock)
            {
                if (resend ? _open.First().Key == u.Sequence && _sending == 0 : _failing == 0 && OlderAllQueued(u))
                {
                    _sending++;
                    return;
                }
                changed = _changed.Task;
            }
            await changed;
        }
    }

    /// <summary>Marks <paramref name="u"/>'s round as queued in the transport (its place in the
    /// order the store sees is fixed): newer flushes may now queue theirs.</summary>
    public void Queued(FlushUnit u)
    {
        lock (_lock)
        {
            if (u.Queued)
            {
                return;
            }
            u.Queued = true;
            var changed = _changed;
            _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            changed.SetResult();
        }
    }

    // A flush's turn is granted before it encodes its round, and rounds take their place in the
    // transport's order when queued: an older flush must be queued before a newer one may be granted.
    private bool OlderAllQueued(FlushUnit u)
    {
        foreach (var (sequence, open) in _open)
        {
            if (sequence >= u.Sequence)
            {
                return true;
            }
            if (!open.Queued)
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>Ends a send: <paramref name="failed"/> marks the flush as failing (it resends later),
    /// <paramref name="done"/> closes it.</summary>
    public void EndTurn(FlushUnit u, bool failed, bool done)
    {
        lock (_lock)
        {
            _sending--;
            if (failed && !u.Failing)
            {
                u.Failing = true;
                if (_failing++ == 0)
                {
                    _failingSince = System.Diagnostics.Stopwatch.GetTimestamp();
                }
            }
            if (done)
            {
                _open.Remove(u.Sequence);
                if (u.Failing)
                {
                    u.Failing = false;
                    if (--_failing == 0)
                    {
                        _failingSince = 0;
                    }
                }
            }
            var changed = _changed;
            _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            changed.SetResult();
        }
    }

    /// <summary>How long some flush has been failing without a break, or null while none is.</summary>
    public TimeSpan? FailingFor
    {
        get
        {
            lock (_lock)
            {
                return _failingSince == 0 ? null : System.Diagnostics.Stopwatch.GetElapsedTime(_failingSince);
            }
        }
    }

    /// <summary>The open flushes newer than <paramref name="u"/> that have been queued at least once,
    /// oldest first (what may have reached the store after it).</summary>
    public List<FlushUnit> SentAfter(FlushUnit u)
    {
        lock (_lock)
        {
            return [.. _open.Values.Where(o => o.Sequence > u.Sequence && o.Queued)];
        }
    }
}
