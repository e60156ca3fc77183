namespace Horizon.Analyzer.Incidents;

/// <summary>Runs the incident book once per pass against the store: takes up the incidents an
/// earlier run left open, applies the acknowledgements and silences written through the API,
/// writes what changed (incidents, their history), drops resolved incidents past
/// <see cref="IncidentOptions.KeepResolved"/> (hourly), and hands the state to Alertmanager and the
/// transitions to the receivers.</summary>
public sealed class IncidentTracker(IncidentStore store, IncidentOptions options, Shard shard, AlertmanagerNotifier? alertmanager = null, IncidentDispatcher? receivers = null)
{
    private readonly IncidentBook _book = new(options, shard.ToString());
    private bool _restored;
    private long _lastExpiry = long.MinValue;

    /// <summary>The open incidents.</summary>
    public IReadOnlyCollection<Incident> Open => _book.Open;

    /// <summary>One pass's findings at pass time <paramref name="now"/>, and the metrics still
    /// abnormal though not reported; returns what happened.</summary>
    public async Task<List<IncidentEvent>> TrackAsync(IReadOnlyList<AnomalyRecord> findings, long now, IReadOnlyCollection<string>? abnormal = null)
    {
        List<Incident>? stored = null;
        if (!_restored)
        {
            stored = await store.IncidentsAsync();
            _book.Restore(stored);
            _restored = true;
        }
        var silences = await store.SilencesAsync();
        var acknowledgements = await store.AcknowledgementsAsync();
        var events = _book.Observe(findings, now, silences, acknowledgements, out var changed, abnormal);
        var expired = new List<string>();
        if (now - _lastExpiry >= 3600)
        {
            _lastExpiry = now;
            stored ??= await store.IncidentsAsync();
            expired = [.. stored.Where(i => i.State == IncidentState.Resolved && i.Shard == shard.ToString()
                && now - i.ResolvedAt > options.KeepResolved.TotalSeconds).Select(i => i.Id)];
        }
        receivers?.Dispatch(events, changed);
        await store.SaveAsync(changed, events, options.HistoryLength, expired);
        alertmanager?.Update(_book.Open, changed.Where(i => i.State == IncidentState.Resolved), now);
        return events;
    }
}
