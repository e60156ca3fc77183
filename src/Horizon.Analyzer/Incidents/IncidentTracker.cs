namespace Horizon.Analyzer.Incidents;

/// <summary>Runs the incident book once per pass against the store. Analyzer shards share the
/// incidents: each pass takes the incidents' lock (a key with an expiry), takes up the open
/// incidents again when another shard (or an earlier run) changed them, applies the
/// acknowledgements and silences written through the API, writes what changed (incidents, their
/// history), drops resolved incidents past <see cref="IncidentOptions.KeepResolved"/> (hourly),
/// and hands the state to Alertmanager and the transitions to the receivers. Findings are matched
/// with the events (deploys) before them. A pass that cannot
/// get the lock keeps its findings for the next.</summary>
public sealed class IncidentTracker(IncidentStore store, IncidentOptions options, Shard shard, AlertmanagerNotifier? alertmanager = null, IncidentDispatcher? receivers = null,
    Horizon.Storage.Events.EventStore? eventStore = null, CollectionStore? collections = null)
{
    /// <summary>Findings kept for the next pass when the lock could not be had (beyond: the oldest dropped).</summary>
    public const int MaxPending = 10_000;

    private readonly IncidentBook _book = new(options, shard.ToString());
    private readonly string _holder = $"{shard} {Guid.NewGuid():N}";
    private readonly List<AnomalyRecord> _pending = [];
    private bool _restored;
    private long _version = -1;
    private long _lastExpiry = long.MinValue;

    /// <summary>How long a pass waits for another shard to give the incidents' lock back.</summary>
    public TimeSpan LockWait { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>The open incidents.</summary>
    public IReadOnlyCollection<Incident> Open => _book.Open;

    /// <summary>One pass's findings at pass time <paramref name="now"/>, and the metrics still
    /// abnormal though not reported; returns what happened (nothing when the lock was held elsewhere).</summary>
    public async Task<List<IncidentEvent>> TrackAsync(IReadOnlyList<AnomalyRecord> findings, long now, IReadOnlyCollection<string>? abnormal = null)
    {
        if (!await store.LockAsync(_holder, LockWait))
        {
            _pending.AddRange(findings);
            if (_pending.Count > MaxPending)
            {
                _pending.RemoveRange(0, _pending.Count - MaxPending);
            }
            return [];
        }
        try
        {
            if (_pending.Count > 0)
            {
                findings = [.. _pending, .. findings];
                _pending.Clear();
            }
            List<Incident>? stored = null;
            var version = await store.VersionAsync();
            if (!_restored)
            {
                stored = await store.IncidentsAsync();
                _book.Restore(stored);
                await store.MarkOpenAsync(_book.Open.Select(i => i.Id));
                _restored = true;
            }
            else if (version != _version)
            {
                _book.Restore(await store.OpenIncidentsAsync());
            }
            var silences = await store.SilencesAsync();
            var acknowledgements = await store.AcknowledgementsAsync();
            // The events (deploys) the findings may have followed.
            var around = eventStore is null || findings.Count == 0 ? []
                : await eventStore.RangeAsync(findings.Min(f => f.Timestamp) - (long)options.EventWindow.TotalSeconds, Math.Max(now, findings.Max(f => f.Timestamp)));
            var events = _book.Observe(findings, now, silences, acknowledgements, out var changed, abnormal, around);
            // New incidents (and ones that grew) are matched against the saved shapes.
            var fresh = changed.Where(i => i.State == IncidentState.Open && i.Kind == FindingKind.Anomaly && i.LooksLike is null).ToList();
            if (collections is not null && fresh.Count > 0 && await collections.AllAsync() is { Count: > 0 } saved)
            {
                foreach (var incident in fresh)
                {
                    incident.LooksLike = CollectionStore.Match(incident, saved);
                }
            }
            var expired = new List<string>();
            if (now - _lastExpiry >= 3600)
            {
                _lastExpiry = now;
                stored ??= await store.IncidentsAsync();
                expired = [.. stored.Where(i => i.State == IncidentState.Resolved && i.Shard == shard.ToString()
                    && now - i.ResolvedAt > options.KeepResolved.TotalSeconds).Select(i => i.Id)];
            }
            // Sent once stored (a receiver following the link finds the incident), and sent even
            // when storing failed: the message is what pages someone.
            var send = receivers?.Prepare(events, changed);
            try
            {
                _version = await store.SaveAsync(changed, events, options.HistoryLength, expired);
            }
            finally
            {
                send?.Invoke();
            }
            alertmanager?.Update(_book.Open, changed.Where(i => i.State == IncidentState.Resolved), now);
            return events;
        }
        finally
        {
            await store.UnlockAsync(_holder);
        }
    }
}
