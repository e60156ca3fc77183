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

    /// <summary>The level detector's expected band over a window (<paramref name="past"/>, oldest
    /// first) for the next value, for a chart: the median, and the values below and above it at which
    /// the level alone scores the threshold (its distribution-aware spread on each side, the
    /// deviation calibrated for a metric judged <paramref name="rate"/> times as often as the
    /// calibration interval, divided by the metric's <paramref name="sensitivity"/>). A value beyond
    /// it is flagged unless the window already reached it (the record); seasonality and counters'
    /// increases are not in it. Null for counters (judged by their increase) and short windows.</summary>
    public (double Low, double Expected, double High)? LevelBand(ReadOnlySpan<double> past, double rate, double sensitivity = 1)
    {
        if (past.Length < _settings.MinPoints || (_settings.CounterRates && IsCounter(past, _settings.Window)) || !(sensitivity > 0))
        {
            return null;
        }
        past = past[^Math.Min(past.Length, _settings.Window)..];
        Ensure(past.Length);
        var (median, sigma) = Robust(past);
        var up = Math.Max(sigma, (Quantile(past, 0.99) - median) / Q99Sigma);
        var down = Math.Max(sigma, (median - Quantile(past, 0.01)) / Q99Sigma);
        // The score is bad / (bad + half), bad the calibrated deviation times the sensitivity.
        var bad = _settings.Threshold * _settings.HalfScoreSigma / (1 - _settings.Threshold) / sensitivity;
        var z = Uncalibrated(bad, rate);
        return (median - (z * down), median, median + (z * up));
    }

    /// <summary>The deviation whose <see cref="Calibrated"/> value is <paramref name="calibrated"/> (positive)
    /// for a metric judged <paramref name="rate"/> times as often.</summary>
    public static double Uncalibrated(double calibrated, double rate)
    {
        if (rate <= 1)
        {
            return calibrated;
        }
        var tail = 2 * Normal.CDF(0, 1, -calibrated) / rate;
        return tail > 0 ? -Normal.InvCDF(0, 1, tail / 2) : Math.Sqrt((calibrated * calibrated) + (2 * Math.Log(rate)));
    }

    /// <summary>How many times as often as at the calibration interval a metric sampled at these timestamps is judged (at least 1).</summary>
    public double RateOf(ReadOnlySpan<long> timestamps) => JudgementRate(timestamps);

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
    private double BoundByRecord(double z, ReadOnlySpan<double> sample, double value, double centre, (int Reached, double Points) older = default)
    {
        var (lo, hi) = Reaching(value, centre);
        var reached = older.Reached + Extremes.CountWithin(sample, lo, hi);
        if (reached == 0)
        {
            return _settings.TailHeaviness > 0 ? BoundByTail(z, sample, value, centre) : z;
        }
        var rarest = Math.Max(0, Normal.InvCDF(0, 1, 1 - (reached / (sample.Length + older.Points + 1.0))));
        return Math.Clamp(z, -rarest, rarest);
    }

    /// <summary>Beyond everything in <paramref name="sample"/>: where the sample's tail on the value's side is
    /// heavier than a normal one (the mean excess over its top 1 %, their two largest left out, is more
    /// than <see cref="EnsembleSettings.TailHeaviness"/> times a normal tail's through the same point), the deviation is at most what an exponential tail fitted to those exceedances makes of
    /// the value (peaks over threshold): p = k / (n + 1) * exp(-(d - u) / scale), as sigmas. A heavy-tailed
    /// metric's new records keep coming; a normal metric's spike is judged as before.</summary>
    private double BoundByTail(double z, ReadOnlySpan<double> sample, double value, double centre)
    {
        var side = value >= centre ? 1.0 : -1.0;
        var deviation = side * (value - centre);
        var d = _steps.AsSpan(0, sample.Length);
        var count = 0;
        var farthest = 0.0;
        foreach (var v in sample)
        {
            var e = side * (v - centre);
            if (e > 0)
            {
                d[count++] = e;
                farthest = Math.Max(farthest, e);
            }
        }
        var k = Math.Max(5, (sample.Length + 99) / 100);
        // Below a much larger spike of the sample's (an incident of its own), the tail those spikes
        // would fit says nothing about this value.
        if (count <= k || farthest >= deviation)
        {
            return z;
        }
        var u = Selection.QuickSelect(d[..count], count - k);
        // The exponential's scale: the mean excess of the top ones (above position count - k after
        // the selection) but their two largest, so one or two earlier spikes among them (incidents
        // of their own) do not make a tail heavy.
        Span<double> excesses = stackalloc double[k - 1];
        d[(count - k + 1)..count].CopyTo(excesses);
        excesses.Sort();
        var excess = 0.0;
        for (var i = 0; i < excesses.Length - 2; i++)
        {
            excess += excesses[i] - u;
        }
        excess /= excesses.Length - 2;
        if (!(excess > 0) || !(u > 0))
        {
            return z;
        }
        var rate = k / (sample.Length + 1.0);
        var q = Normal.InvCDF(0, 1, 1 - rate);
        var normalExcess = u / q * ((Normal.PDF(0, 1, q) / rate) - q);
        if (excess <= _settings.TailHeaviness * normalExcess)
        {
            return z;
        }
        var p = rate * Math.Exp(-(deviation - u) / excess);
        return p > 0 ? Math.CopySign(Math.Min(Math.Abs(z), -Normal.InvCDF(0, 1, p)), z) : z;
    }

    // The values that count as reaching value for the record: at least as far
    // from the centre, and no more than three times as far.
    private static (double Lo, double Hi) Reaching(double value, double centre)
    {
        var far = centre + (3 * (value - centre));
        return value >= centre ? (value, far) : (far, value);
    }
}
