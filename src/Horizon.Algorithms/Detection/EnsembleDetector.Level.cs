using Horizon.Algorithms.Kernels;
using MathNet.Numerics.Distributions;

namespace Horizon.Algorithms.Detection;

/// <summary>The level: the value against distribution-aware bounds of the window, bounded by the record.</summary>
public sealed partial class EnsembleDetector
{
    /// <summary>Distribution-aware bounds: the spread above the median comes from the upper tail,
    /// the spread below from the lower tail, so a skewed metric (latency, counters) is not judged by
    /// one symmetric sigma. The window's own record bounds that: a value that k earlier points
    /// reached (going no more than three times as far) is no rarer than k in the window's n, so
    /// its deviation is at most the normal quantile of 1 - k / (n + 1) (3.2 sigma for one of 1440,
    /// 2.4 for ten): a fitted tail that underrates a heavy-tailed metric's extremes does not call
    /// its usual bursts anomalies. Beyond everything in the window, the fitted tail alone decides.
    /// With <see cref="EnsembleSettings.RecordFromRollups"/>, the roll-ups before the window add to
    /// the record (a non-seasonal metric's): a slot whose mean reached the value held a point that
    /// did, and each slot counts as the points it averages.</summary>
    private (double, double) Level(ReadOnlySpan<double> past, double x, in Window w)
    {
        var (median, sigma) = (w.Median, w.Sigma);
        var scale = x >= median
            ? Math.Max(sigma, (Quantile(past, 0.99) - median) / Q99Sigma)
            : Math.Max(sigma, (median - Quantile(past, 0.01)) / Q99Sigma);
        return (median, BoundByRecord((x - median) / scale, past, x, median, OlderRecord(x, median, w)));
    }

    // For the level's record: the roll-up slots before the window whose means reached the value
    // (as BoundByRecord counts reaching), and how many points they average.
    private static (int Reached, double Points) OlderRecord(double value, double centre, in Window w)
    {
        var h = w.OlderRecord;
        if (h is null)
        {
            return (0, 0);
        }
        var (lo, hi) = Reaching(value, centre);
        var before = (int)Math.Clamp(h.SlotOf(w.Start) - h.FirstSlot, 0, h.Count);
        var (reached, held) = Extremes.CountWithin(h.Slots[..before], (float)lo, (float)hi);
        return (reached, held * Math.Max(1.0, h.SlotSeconds / w.Interval));
    }

    /// <summary>A deviation <paramref name="z"/> of <paramref name="value"/> from <paramref name="centre"/>,
    /// bounded by how rare the value is in <paramref name="sample"/>: k values at least as far out
    /// (but no more than three times as far: much larger spikes are incidents of their own, not
    /// evidence that this value is usual) make it no rarer than k in n + 1, at most the normal
    /// quantile of 1 - k / (n + 1). Beyond everything in the sample, z stands. <paramref name="older"/>
    /// adds evidence from before the sample (the level's roll-up slots): how many reached the value,
    /// and how many points they stand for.</summary>
    private static double BoundByRecord(double z, ReadOnlySpan<double> sample, double value, double centre, (int Reached, double Points) older = default)
    {
        var (lo, hi) = Reaching(value, centre);
        var reached = older.Reached + Extremes.CountWithin(sample, lo, hi);
        if (reached == 0)
        {
            return z;
        }
        var rarest = Math.Max(0, Normal.InvCDF(0, 1, 1 - (reached / (sample.Length + older.Points + 1.0))));
        return Math.Clamp(z, -rarest, rarest);
    }

    // The values that count as reaching value for the record: at least as far
    // from the centre, and no more than three times as far.
    private static (double Lo, double Hi) Reaching(double value, double centre)
    {
        var far = centre + (3 * (value - centre));
        return value >= centre ? (value, far) : (far, value);
    }
}
