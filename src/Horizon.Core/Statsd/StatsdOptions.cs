namespace Horizon.Core.Statsd;

/// <summary>StatsD aggregation settings; defaults are StatsD's own (etsy/statsd, Graphite backend,
/// legacyNamespace off so names read <c>stats.counters.&lt;name&gt;.rate</c>).</summary>
public sealed record StatsdOptions
{
    /// <summary>How often aggregates are flushed (StatsD flushInterval, 10 s).</summary>
    public TimeSpan FlushInterval { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Timer percentiles (StatsD percentThreshold, [90]); negative values give "top" lower bounds.</summary>
    public IReadOnlyList<double> PercentThreshold { get; init; } = [90];

    /// <summary>Delete every kind of idle stat instead of sending zeros or last values (StatsD deleteIdleStats, false).</summary>
    public bool DeleteIdleStats { get; init; }

    /// <summary>Stop sending counters that received nothing since the last flush (StatsD deleteCounters, false).</summary>
    public bool DeleteCounters { get; init; }

    /// <summary>Stop sending idle timers (StatsD deleteTimers, false).</summary>
    public bool DeleteTimers { get; init; }

    /// <summary>Stop sending idle gauges (StatsD deleteGauges, false).</summary>
    public bool DeleteGauges { get; init; }

    /// <summary>Stop sending idle sets (StatsD deleteSets, false).</summary>
    public bool DeleteSets { get; init; }

    /// <summary>Also send <c>.count</c> for counters (StatsD flush_counts, true).</summary>
    public bool FlushCounts { get; init; } = true;

    /// <summary>StatsD's pre-0.6 names: <c>stats.&lt;name&gt;</c> and <c>stats_counts.&lt;name&gt;</c> for counters.</summary>
    public bool LegacyNamespace { get; init; }

    /// <summary>First name component of everything flushed (Graphite backend globalPrefix, "stats").</summary>
    public string GlobalPrefix { get; init; } = "stats";

    /// <summary>Counter component ("counters").</summary>
    public string PrefixCounter { get; init; } = "counters";

    /// <summary>Timer component ("timers").</summary>
    public string PrefixTimer { get; init; } = "timers";

    /// <summary>Gauge component ("gauges").</summary>
    public string PrefixGauge { get; init; } = "gauges";

    /// <summary>Set component ("sets").</summary>
    public string PrefixSet { get; init; } = "sets";

    /// <summary>Bound on distinct StatsD keys held between flushes (memory bound; StatsD has none).</summary>
    public int MaxKeys { get; init; } = 1_000_000;

    /// <summary>Fails fast on settings that cannot work.</summary>
    public void Validate()
    {
        if (FlushInterval < TimeSpan.FromMilliseconds(100))
        {
            throw new ArgumentException("Statsd:FlushInterval must be at least 100 ms.");
        }
        if (MaxKeys < 1)
        {
            throw new ArgumentException("Statsd:MaxKeys must be positive.");
        }
        foreach (var p in PercentThreshold)
        {
            if (p == 0 || Math.Abs(p) > 100 || !double.IsFinite(p))
            {
                throw new ArgumentException($"Statsd:PercentThreshold {p} must be in [-100, 0) or (0, 100].");
            }
        }
    }

    internal bool DeletesCounters => DeleteIdleStats || DeleteCounters;

    internal bool DeletesTimers => DeleteIdleStats || DeleteTimers;

    internal bool DeletesGauges => DeleteIdleStats || DeleteGauges;

    internal bool DeletesSets => DeleteIdleStats || DeleteSets;
}
