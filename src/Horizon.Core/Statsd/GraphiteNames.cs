using System.Globalization;
using System.Text;
using Horizon.Core.Metrics;
using Horizon.Core.Protocols;

namespace Horizon.Core.Statsd;

/// <summary>How StatsD's Graphite backend names what a flush produces: <c>stats.counters.&lt;key&gt;.rate</c>
/// and <c>.count</c> (or the legacy <c>stats.&lt;key&gt;</c> and <c>stats_counts.&lt;key&gt;</c>),
/// <c>stats.timers.&lt;key&gt;.upper_90</c> and the rest, <c>stats.gauges.&lt;key&gt;</c>,
/// <c>stats.sets.&lt;key&gt;.count</c>. Each output's key is resolved in the registry once per
/// StatsD key and slot, then reused every flush.</summary>
internal sealed class GraphiteNames
{
    private readonly StatsdOptions _options;
    private readonly MetricRegistry _registry;

    public GraphiteNames(StatsdOptions options, MetricRegistry registry)
    {
        _options = options;
        _registry = registry;
        CounterPrefix = options.GlobalPrefix + "." + options.PrefixCounter;
        TimerPrefix = options.GlobalPrefix + "." + options.PrefixTimer;
        GaugePrefix = options.GlobalPrefix + "." + options.PrefixGauge;
        SetPrefix = options.GlobalPrefix + "." + options.PrefixSet;
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
            Emit(keys, 0, output, ref rejects, _options.GlobalPrefix, name, null, value / flushSeconds);
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
        var s = suffix is null ? 0 : Encoding.UTF8.GetByteCount(suffix) + 1;
        var result = new byte[p + 1 + name.Length + s];
        Encoding.UTF8.GetBytes(prefix, result);
        result[p] = (byte)'.';
        name.CopyTo(result, p + 1);
        if (suffix is not null)
        {
            result[p + 1 + name.Length] = (byte)'.';
            Encoding.UTF8.GetBytes(suffix, result.AsSpan(p + 2 + name.Length));
        }
        return result;
    }

    // StatsD: ('' + pct).replace('.', '_').replace('-', 'top')
    private static string CleanPercent(double pct)
    {
        var text = pct.ToString("R", CultureInfo.InvariantCulture);
        var dot = text.IndexOf('.', StringComparison.Ordinal);
        if (dot >= 0)
        {
            text = string.Concat(text.AsSpan(0, dot), "_", text.AsSpan(dot + 1));
        }
        var minus = text.IndexOf('-', StringComparison.Ordinal);
        if (minus >= 0)
        {
            text = string.Concat(text.AsSpan(0, minus), "top", text.AsSpan(minus + 1));
        }
        return text;
    }
}
