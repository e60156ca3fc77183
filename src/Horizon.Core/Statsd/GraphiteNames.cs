using System.Globalization;
using System.Text;
using Horizon.Core.Metrics;
using Horizon.Core.Protocols;

namespace Horizon.Core.Statsd;

/// <summary>How StatsD's Graphite backend names what a flush produces: <c>stats.counters.&lt;key&gt;.rate</c>
/// and <c>.count</c> (or the legacy <c>stats.&lt;key&gt;</c> and <c>stats_counts.&lt;key&gt;</c>),
/// <c>stats.timers.&lt;key&gt;.upper_90</c> and the rest, <c>stats.gauges.&lt;key&gt;</c>,
/// <c>stats.sets.&lt;key&gt;.count</c>, and StatsD's own metrics (<see cref="StatsdOwnStat"/>). Each output's key is resolved in the registry once per
/// StatsD key and slot, then reused every flush.</summary>
internal sealed class GraphiteNames
{
    private readonly StatsdOptions _options;
    private readonly MetricRegistry _registry;

    public GraphiteNames(StatsdOptions options, MetricRegistry registry)
    {
        _options = options;
        _registry = registry;
        var global = options.GlobalPrefix;
        // StatsD's namespaces: the legacy one ignores the Prefix* settings (counters sit right under
        // the global prefix); the other joins the non-empty components.
        CounterPrefix = options.LegacyNamespace ? global : Join(global, options.PrefixCounter);
        TimerPrefix = Join(global, options.LegacyNamespace ? "timers" : options.PrefixTimer);
        GaugePrefix = Join(global, options.LegacyNamespace ? "gauges" : options.PrefixGauge);
        SetPrefix = Join(global, options.LegacyNamespace ? "sets" : options.PrefixSet);
        var stats = Join(global, options.PrefixStats);
        // The graphite backend writes the legacy names of its own metrics with a literal "stats.".
        var legacyStats = "stats." + options.PrefixStats;
        OwnNames =
        [
            Encoding.UTF8.GetBytes(options.LegacyNamespace ? options.PrefixStats + ".numStats" : stats + ".numStats"),
            Encoding.UTF8.GetBytes((options.LegacyNamespace ? legacyStats : stats) + ".graphiteStats.calculationtime"),
            Encoding.UTF8.GetBytes((options.LegacyNamespace ? legacyStats : stats) + ".processing_time"),
            Encoding.UTF8.GetBytes(stats + ".graphiteStats.last_exception"),
            Encoding.UTF8.GetBytes(stats + ".graphiteStats.last_flush"),
            Encoding.UTF8.GetBytes(stats + ".graphiteStats.flush_time"),
            Encoding.UTF8.GetBytes(stats + ".graphiteStats.flush_length"),
            Encoding.UTF8.GetBytes(Join(GaugePrefix, options.PrefixStats + ".timestamp_lag")),
        ];
        _histograms = [.. options.Histogram.Select(h => (h.Metric, h.Bounds, h.Bounds.Select(b => "histogram." + BinName(b)).ToArray()))];
        var suffixes = new List<string>();
        foreach (var pct in options.PercentThreshold)
        {
            var clean = CleanPercent(pct);
            suffixes.Add("count_" + clean);
            suffixes.Add("mean_" + clean);
            suffixes.Add((pct > 0 ? "upper_" : "lower_") + clean);
            suffixes.Add("sum_" + clean);
            suffixes.Add("sum_squares_" + clean);
        }
        PercentOutputs = suffixes.Count;
        suffixes.AddRange(["std", "upper", "lower", "count", "count_ps", "sum", "sum_squares", "mean", "median"]);
        TimerSuffixes = [.. suffixes];
    }

    private readonly (string Metric, double[] Bounds, string[] Suffixes)[] _histograms;

    /// <summary>The full names of StatsD's own metrics, by <see cref="StatsdOwnStat"/>.</summary>
    public byte[][] OwnNames { get; }

    /// <summary>A timer's histogram (StatsD: the first setting whose metric is part of the name), or null.</summary>
    public (double[] Bounds, string[] Suffixes)? HistogramFor(ReadOnlySpan<byte> name)
    {
        if (_histograms.Length == 0)
        {
            return null;
        }
        var text = Encoding.UTF8.GetString(name);
        foreach (var (metric, bounds, suffixes) in _histograms)
        {
            if (text.Contains(metric, StringComparison.Ordinal))
            {
                return (bounds, suffixes);
            }
        }
        return null;
    }

    private static string Join(string a, string b) => a.Length == 0 ? b : b.Length == 0 ? a : a + "." + b;

    public string CounterPrefix { get; }

    public string TimerPrefix { get; }

    public string GaugePrefix { get; }

    public string SetPrefix { get; }

    /// <summary>A timer's output suffixes: five per percent threshold, then the nine overall ones.</summary>
    public string[] TimerSuffixes { get; }

    /// <summary>How many of <see cref="TimerSuffixes"/> belong to the percent thresholds.</summary>
    public int PercentOutputs { get; }

    /// <summary>A counter's rate per second over the interval and, with FlushCounts, its count.</summary>
    public void EmitCounter(byte[] name, MetricKey?[] keys, double value, double flushSeconds, List<StatsdOutput> output, ref RejectTally rejects)
    {
        if (_options.LegacyNamespace)
        {
            Emit(keys, 0, output, ref rejects, CounterPrefix, name, null, value / flushSeconds);
            if (_options.FlushCounts)
            {
                Emit(keys, 1, output, ref rejects, "stats_counts", name, null, value);
            }
            return;
        }
        Emit(keys, 0, output, ref rejects, CounterPrefix, name, "rate", value / flushSeconds);
        if (_options.FlushCounts)
        {
            Emit(keys, 1, output, ref rejects, CounterPrefix, name, "count", value);
        }
    }

    /// <summary>Adds <c>prefix.name[.suffix]</c> = <paramref name="value"/> to the output, resolving
    /// the name into <paramref name="keys"/>[<paramref name="slot"/>] the first time.</summary>
    public void Emit(MetricKey?[] keys, int slot, List<StatsdOutput> output, ref RejectTally rejects,
        string prefix, byte[] name, string? suffix, double value)
    {
        if (!double.IsFinite(value))
        {
            // A sum of squares (or a sum) of huge samples overflows; nothing stores infinities.
            rejects.Add(RejectReason.NonFiniteValue);
            return;
        }
        var key = keys[slot];
        if (key is null)
        {
            var full = BuildName(prefix, name, suffix);
            var error = MetricName.Validate(full);
            if (error == RejectReason.None)
            {
                error = _registry.GetOrAdd(full, out key);
            }
            if (error != RejectReason.None || key is null)
            {
                rejects.Add(error == RejectReason.None ? RejectReason.TooManyMetrics : error);
                return;
            }
            keys[slot] = key;
        }
        output.Add(new StatsdOutput(key, value));
    }

    private static byte[] BuildName(string prefix, byte[] name, string? suffix)
    {
        var p = Encoding.UTF8.GetByteCount(prefix);
        var dot = p == 0 ? 0 : 1;
        var s = suffix is null ? 0 : Encoding.UTF8.GetByteCount(suffix) + 1;
        var result = new byte[p + dot + name.Length + s];
        Encoding.UTF8.GetBytes(prefix, result);
        if (dot == 1)
        {
            result[p] = (byte)'.';
        }
        name.CopyTo(result, p + dot);
        if (suffix is not null)
        {
            result[p + dot + name.Length] = (byte)'.';
            Encoding.UTF8.GetBytes(suffix, result.AsSpan(p + dot + 1 + name.Length));
        }
        return result;
    }

    // StatsD: ('' + pct).replace('.', '_').replace('-', 'top')
    private static string CleanPercent(double pct) =>
        ReplaceFirst(ReplaceFirst(pct.ToString("R", CultureInfo.InvariantCulture), '.', "_"), '-', "top");

    // StatsD: ('bin_' + bound).replace('.', '_'): bin_10, bin_0_5, bin_inf.
    private static string BinName(double bound) =>
        double.IsPositiveInfinity(bound) ? "bin_inf" : ReplaceFirst("bin_" + bound.ToString("R", CultureInfo.InvariantCulture), '.', "_");

    // JavaScript's string replace: the first occurrence only.
    private static string ReplaceFirst(string text, char what, string with)
    {
        var at = text.IndexOf(what, StringComparison.Ordinal);
        return at < 0 ? text : string.Concat(text.AsSpan(0, at), with, text.AsSpan(at + 1));
    }
}

/// <summary>StatsD's own metrics besides its counters, as its Graphite backend names them
/// (non-legacy names shown): <c>stats.statsd.numStats</c> (keys in the flush),
/// <c>stats.statsd.graphiteStats.calculationtime</c> (ms naming the flush), <c>stats.statsd.processing_time</c>
/// (ms aggregating it), <c>stats.statsd.graphiteStats.last_exception</c>, <c>last_flush</c> (Unix
/// seconds), <c>flush_time</c> (ms), <c>flush_length</c> (bytes, as carbon plaintext), and the gauge
/// <c>stats.gauges.statsd.timestamp_lag</c> (seconds the flush ran late).</summary>
public enum StatsdOwnStat
{
    /// <summary>Keys in the flush.</summary>
    NumStats,

    /// <summary>Milliseconds naming and batching the flush.</summary>
    CalculationTime,

    /// <summary>Milliseconds aggregating the flush.</summary>
    ProcessingTime,

    /// <summary>When the store last failed a write (Unix seconds; start-up until then).</summary>
    LastException,

    /// <summary>When the last flush was handed over (Unix seconds).</summary>
    LastFlush,

    /// <summary>Milliseconds the last flush took to hand over.</summary>
    FlushTime,

    /// <summary>Bytes of the last flush as carbon plaintext lines.</summary>
    FlushLength,

    /// <summary>Seconds between this flush and the last one beyond the flush interval.</summary>
    TimestampLag,
}
