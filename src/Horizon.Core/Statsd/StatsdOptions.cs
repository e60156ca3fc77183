namespace Horizon.Core.Statsd;

/// <summary>StatsD aggregation settings; defaults are StatsD's own (etsy/statsd with its Graphite
/// backend, legacyNamespace on as in StatsD: counters are <c>stats.&lt;name&gt;</c> and
/// <c>stats_counts.&lt;name&gt;</c>), so a StatsD replaced by Horizon keeps its names.</summary>
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

    /// <summary>StatsD's legacyNamespace (its default, true): counters are <c>stats.&lt;name&gt;</c>
    /// (rate) and <c>stats_counts.&lt;name&gt;</c>, timers, gauges and sets <c>stats.timers</c>,
    /// <c>stats.gauges</c>, <c>stats.sets</c> whatever the prefixes; false: <c>stats.counters.&lt;name&gt;.rate</c>
    /// and <c>.count</c>, and the Prefix* settings apply.</summary>
    public bool LegacyNamespace { get; init; } = true;

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

    /// <summary>Component of StatsD's own metrics (StatsD prefixStats, "statsd"): <c>statsd.packets_received</c>,
    /// <c>numStats</c>, <c>processing_time</c>, <c>graphiteStats.*</c>, <c>timestamp_lag</c>.</summary>
    public string PrefixStats { get; init; } = "statsd";

    /// <summary>Timer histograms (StatsD histogram): the first entry whose <c>Metric</c> is part of a
    /// timer's name (empty: every timer) gives its bins.</summary>
    public IReadOnlyList<StatsdHistogram> Histogram { get; init; } = [];

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
        if (string.IsNullOrEmpty(PrefixStats))
        {
            throw new ArgumentException("Statsd:PrefixStats must not be empty.");
        }
        foreach (var h in Histogram)
        {
            h.Validate();
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

/// <summary>One StatsD histogram setting: timers whose name contains <see cref="Metric"/> get a
/// count per bin, <c>stats.timers.&lt;name&gt;.histogram.bin_&lt;bound&gt;</c>.</summary>
public sealed record StatsdHistogram
{
    /// <summary>Part of the timer's name ("" or absent: every timer).</summary>
    public string Metric { get; init; } = "";

    /// <summary>Upper bounds, ascending, as numbers or <c>inf</c> (the rest). A bin counts the
    /// samples below its bound and at or above the one before; samples past the last bound are not
    /// counted, as in StatsD.</summary>
    public IReadOnlyList<string> Bins { get; init; } = [];

    /// <summary>The bounds as numbers (<c>inf</c>: positive infinity).</summary>
    internal double[] Bounds => [.. Bins.Select(b => b.Trim().Equals("inf", StringComparison.OrdinalIgnoreCase)
        ? double.PositiveInfinity
        : double.Parse(b, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture))];

    /// <summary>Fails fast on bins that are not ascending numbers (or <c>inf</c>).</summary>
    public void Validate()
    {
        double[] bounds;
        try
        {
            bounds = Bounds;
        }
        catch (FormatException)
        {
            throw new ArgumentException($"Statsd:Histogram bins [{string.Join(", ", Bins)}] must be numbers or inf.");
        }
        if (bounds.Length == 0 || bounds.Zip(bounds.Skip(1)).Any(p => p.Second <= p.First) || bounds.Any(double.IsNaN))
        {
            throw new ArgumentException($"Statsd:Histogram bins [{string.Join(", ", Bins)}] must be ascending numbers (inf last), at least one.");
        }
    }
}
