namespace Horizon.Graphite;

/// <summary>Where a render finds the series a path pattern names, for a time range.</summary>
public interface ISeriesSource
{
    /// <summary>Every series <paramref name="pattern"/> matches, over (<paramref name="from"/>,
    /// <paramref name="until"/>], at its own step; none when nothing matches.</summary>
    IReadOnlyList<TimeSeries> Fetch(string pattern, long from, long until);
}

/// <summary>Stored points in Graphite's slots, as whisper returns them.</summary>
public static class Slots
{
    /// <summary>The first slot a fetch from <paramref name="from"/> returns (whisper's "from" is exclusive).</summary>
    public static long First(long from, long step) => from - Mod(from, step) + step;

    /// <summary>The slot after the last one a fetch until <paramref name="until"/> returns.</summary>
    public static long End(long until, long step) => until - Mod(until, step) + step;

    /// <summary>The points (timestamps ascending) in slots of <paramref name="step"/> seconds over
    /// (<paramref name="from"/>, <paramref name="until"/>]; a slot with several keeps the last (as
    /// whisper's last write wins), one with none is NaN.</summary>
    public static TimeSeries FromPoints(string name, ReadOnlySpan<long> timestamps, ReadOnlySpan<double> values, long from, long until, long step, string? pathExpression = null)
    {
        var start = First(from, step);
        var end = Math.Max(start, End(until, step));
        var slots = new double[(end - start) / step];
        Array.Fill(slots, double.NaN);
        var i = LowerBound(timestamps, start);
        for (; i < timestamps.Length && timestamps[i] < end; i++)
        {
            slots[(timestamps[i] - start) / step] = values[i];
        }
        return new TimeSeries(name, start, step, slots, pathExpression);
    }

    /// <summary>The step of raw points: the median gap between their times (60 s for fewer than two).</summary>
    public static long StepOf(ReadOnlySpan<long> timestamps)
    {
        if (timestamps.Length < 2)
        {
            return 60;
        }
        var gaps = new long[Math.Min(timestamps.Length - 1, 1000)];
        var skip = timestamps.Length - 1 - gaps.Length;
        for (var i = 0; i < gaps.Length; i++)
        {
            gaps[i] = timestamps[skip + i + 1] - timestamps[skip + i];
        }
        Array.Sort(gaps);
        return Math.Max(1, gaps[gaps.Length / 2]);
    }

    private static long Mod(long t, long step) => ((t % step) + step) % step;

    private static int LowerBound(ReadOnlySpan<long> timestamps, long t)
    {
        int lo = 0, hi = timestamps.Length;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (timestamps[mid] < t)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }
        return lo;
    }
}
