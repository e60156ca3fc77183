namespace Horizon.Graphite;

/// <summary>One series as Graphite hands it around: a value (NaN for none) every <see cref="Step"/>
/// seconds from <see cref="Start"/>; its name, the path expression it was fetched by (what
/// aggregates are named after), and how it is consolidated to fit <c>maxDataPoints</c>. Its
/// <see cref="End"/> is kept apart from its values, as graphite-web keeps it: a response lists the
/// values that have a timestamp from <see cref="Start"/> to <see cref="End"/>.</summary>
public sealed class TimeSeries(string name, long start, long step, double[] values, string? pathExpression = null, long? end = null)
{
    /// <summary>The name (the target in the JSON).</summary>
    public string Name { get; set; } = name;

    /// <summary>The pattern it was fetched by (a plain series: its own name).</summary>
    public string PathExpression { get; set; } = pathExpression ?? name;

    /// <summary>The time of the first value (Unix seconds).</summary>
    public long Start { get; } = start;

    /// <summary>Seconds between values.</summary>
    public long Step { get; } = step;

    /// <summary>The values; NaN where there is none.</summary>
    public double[] Values { get; } = values;

    /// <summary>The end: by default <see cref="Start"/> + count x <see cref="Step"/> (what a fetch
    /// returns); after some functions, as graphite-web sets it.</summary>
    public long End { get; } = end ?? start + (values.LongLength * step);

    /// <summary>How many values a response lists: those with a timestamp up to <see cref="End"/>.</summary>
    public int Listed => (int)Math.Max(0, Math.Min(Values.LongLength, End < Start ? 0 : ((End - Start) / Step) + 1));

    /// <summary>How values are combined when consolidated: average (Graphite's default), sum, min, max, last.</summary>
    public string ConsolidateBy { get; set; } = "average";

    /// <summary>Graphite 1.1's tags: at least the name.</summary>
    public Dictionary<string, string> Tags { get; } = new(StringComparer.Ordinal) { ["name"] = pathExpression ?? name };

    /// <summary>A copy with other values and name, same times.</summary>
    public TimeSeries With(string newName, double[] newValues) =>
        new(newName, Start, Step, newValues, PathExpression, End) { ConsolidateBy = ConsolidateBy };

    /// <summary>Combines <paramref name="values"/> by <paramref name="how"/> (NaN skipped; NaN when none is left).</summary>
    public static double Aggregate(ReadOnlySpan<double> values, string how)
    {
        var count = 0;
        double sum = 0, min = double.PositiveInfinity, max = double.NegativeInfinity, last = double.NaN;
        foreach (var v in values)
        {
            if (double.IsNaN(v))
            {
                continue;
            }
            count++;
            sum += v;
            min = Math.Min(min, v);
            max = Math.Max(max, v);
            last = v;
        }
        if (count == 0)
        {
            return double.NaN;
        }
        return how switch
        {
            "sum" or "total" => sum,
            "min" => min,
            "max" => max,
            "last" => last,
            "count" => count,
            _ => sum / count,
        };
    }

    /// <summary>Consolidated for <c>maxDataPoints</c> exactly as graphite-web's JSON renderer does it:
    /// when the response's <paramref name="timeRange"/> (its latest end less its earliest start) holds
    /// more of this series' steps than <paramref name="maxDataPoints"/>, every n values become one by
    /// <see cref="ConsolidateBy"/>, the start nudged so the bands fall on multiples of the new step
    /// (the same bands at every refresh), timestamps running to <see cref="End"/>.</summary>
    public TimeSeries Consolidate(int maxDataPoints, long timeRange)
    {
        if (maxDataPoints < 1 || Values.Length == 0)
        {
            return this;
        }
        int per;
        var start = Start;
        var values = Values.AsSpan();
        if (maxDataPoints == 1)
        {
            per = Values.Length;
        }
        else
        {
            var points = (double)timeRange / Step;
            if (!(maxDataPoints < points))
            {
                return this;
            }
            per = (int)Math.Ceiling(points / maxDataPoints);
            var seconds = per * Step;
            var nudge = seconds + Mod(Start, Step) - Mod(Start, seconds);
            start += nudge;
            // graphite-web moves the start by nudge/step values but drops one fewer of them.
            values = values[(int)Math.Min(values.Length, Math.Max(0, (nudge / Step) - 1))..];
        }
        var consolidated = new TimeSeries(Name, start, Step * per, Grouped(values.ToArray(), per, ConsolidateBy), PathExpression, End) { ConsolidateBy = ConsolidateBy };
        foreach (var (k, v) in Tags)
        {
            consolidated.Tags[k] = v;
        }
        return consolidated;
    }

    /// <summary>Every <paramref name="per"/> values (from the first) combined by <paramref name="how"/>,
    /// as graphite-web's consolidating iterator yields them.</summary>
    public static double[] Grouped(double[] values, int per, string how)
    {
        if (per <= 1)
        {
            return values;
        }
        var result = new double[(values.Length + per - 1) / per];
        for (var i = 0; i < result.Length; i++)
        {
            var from = i * per;
            result[i] = Aggregate(values.AsSpan(from, Math.Min(per, values.Length - from)), how);
        }
        return result;
    }

    private static long Mod(long t, long step) => ((t % step) + step) % step;
}
