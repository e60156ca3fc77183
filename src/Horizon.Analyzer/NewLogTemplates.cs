using Horizon.Storage.Logs;

namespace Horizon.Analyzer;

/// <summary>Log templates that appeared after their source's warm-up (recorded by the ingest
/// processes in the store) become findings, one per template, each pass on one shard: "this
/// service started saying something it never said", grouped into incidents with the metrics that
/// moved at the same time. A template's rate jumping is found the ordinary way, from its series.</summary>
public sealed class NewLogTemplates(LogTemplateStore store, long since)
{
    // Records are read back ten minutes (an ingest flush and a pass race within a second) and
    // each is reported once.
    private const long Lookback = 600;
    private readonly Dictionary<string, long> _reported = new(StringComparer.Ordinal);

    /// <summary>The findings for templates recorded since the last call.</summary>
    public async Task<List<AnomalyRecord>> FindAsync(long now)
    {
        var found = await store.NewAsync(Math.Max(since, now - Lookback), long.MaxValue);
        foreach (var old in _reported.Where(r => r.Value < now - (2 * Lookback)).Select(r => r.Key).ToList())
        {
            _reported.Remove(old);
        }
        return [.. found.Where(t => _reported.TryAdd(t.Series, now)).Select(t => new AnomalyRecord(
            t.Series, t.FirstSeen, t.Lines, Votes: 0, Consensus: 0, Algorithms: [], DetectedAt: now,
            Reasons: [$"new log template ({t.Severity}) from {t.Source}: {t.Template}", .. t.Samples.Take(1).Select(s => $"first line: {s}")]))];
    }
}
