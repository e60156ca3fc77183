using Horizon.Algorithms.Kernels;
using MathNet.Numerics.Distributions;

namespace Horizon.Algorithms.Detection;

/// <summary>The detectors of means: a held shift (sustained) and a jumpier metric (volatility).</summary>
public sealed partial class EnsembleDetector
{
    // The sustained detector's scales: the long one, then the short one (0: none).
    private int SustainedScale(int scale) => scale == 0 ? _settings.SustainedPoints : _settings.SustainedShortPoints;

    private double[] _stepSizes = [];

    /// <summary>The mean size of the last <see cref="EnsembleSettings.VolatilityPoints"/> steps
    /// (|y[i] - y[i-1]|, clipped to their own robust 5-sigma band) against every such mean earlier
    /// in the window, as the sustained detector judges means of values, record bound included:
    /// a metric that became jumpier (jitter, flapping, an oscillation starting) at the same level.
    /// Only jumpier counts (a calmer spell is no alarm; a value held still is the flatline's).
    /// <paramref name="steps"/>: its baseline and clip band, for the pre-screen.</summary>
    private (double, double) Volatility(ReadOnlySpan<double> y, in Window w, out (MeansBaseline Baseline, (double Lo, double Hi) Band) steps)
    {
        steps = (MeansBaseline.None, default);
        var m = _settings.VolatilityPoints;
        if (m == 0 || y.Length < 3)
        {
            return (0, double.NaN);
        }
        if (_stepSizes.Length < y.Length)
        {
            _stepSizes = new double[y.Length];
        }
        var d = StepSizes(y, _stepSizes);
        var (typical, sigma) = TypicalStep(d[..^1]);
        var band = ClipBand(typical, sigma);
        // Clipped in place: the step sizes are this detector's own buffer.
        var (median, z) = Sustained(Clipping.Clip(d, band, d), m, out var baseline);
        steps = (baseline, band);
        return (median, Math.Max(z, 0));
    }

    // The robust median and sigma of the step sizes, from at most about 256 steps spread over the
    // window: only the clip band depends on it, and over every step it doubled the detector's cost.
    private (double Median, double Sigma) TypicalStep(ReadOnlySpan<double> d)
    {
        var stride = Math.Max(1, d.Length / 256);
        var n = ((d.Length - 1) / stride) + 1;
        if (_stepSample.Length < n)
        {
            _stepSample = new double[n];
        }
        var sample = _stepSample.AsSpan(0, n);
        for (var i = 0; i < n; i++)
        {
            sample[i] = d[i * stride];
        }
        return Robust(sample);
    }

    private double[] _stepSample = [];

    // |y[i + 1] - y[i]| for each step of y, into buffer.
    private static Span<double> StepSizes(ReadOnlySpan<double> y, Span<double> buffer)
    {
        var d = buffer[..(y.Length - 1)];
        for (var i = 0; i < d.Length; i++)
        {
            d[i] = Math.Abs(y[i + 1] - y[i]);
        }
        return d;
    }

    /// <summary>The mean of the last <see cref="EnsembleSettings.SustainedPoints"/> points (the judged
    /// one included), and of the last <see cref="EnsembleSettings.SustainedShortPoints"/>, each
    /// against the median and robust spread of the means of as many points over the rest of the
    /// window (every window ending before the recent one starts), so a shift that no single point
    /// shows, held for a while, stands out. The scale that deviates most is reported.
    /// <paramref name="means"/>: each scale's baseline, for the pre-screen.</summary>
    private (double, double) Sustained(ReadOnlySpan<double> y, in Window w, Span<MeansBaseline> means)
    {
        var best = (y[^1], double.NaN);
        var clipped = Clipping.Clip(y, ClipBand(w.Median, w.Sigma), _clipped);
        for (var scale = 0; scale < 2; scale++)
        {
            var m = SustainedScale(scale);
            if (m == 0)
            {
                continue;
            }
            var found = Sustained(clipped, m, out means[scale]);
            if (!(Math.Abs(best.Item2) >= Math.Abs(found.Item2)))
            {
                best = found;
            }
        }
        return best;
    }

    // The points are clipped first (to the robust 5-sigma band of what is averaged, by Clip), so a
    // spike moves a mean by at most 5 sigma / m: means are about shifts, not about spikes (which the level judges).
    private (double, double) Sustained(ReadOnlySpan<double> y, int m, out MeansBaseline baseline)
    {
        baseline = MeansBaseline.None;
        var count = y.Length - (2 * m) + 1; // means of windows that end before the recent one
        if (m < 2 || count < _settings.MinPoints)
        {
            return (y[^1], double.NaN);
        }
        // Neighbouring means share all but one point: every (m / 4)-th (and no more than about 256
        // in all) is as good a sample of their spread, for a fraction of the selection work.
        var stride = Math.Max(Math.Max(1, m / 4), count / 256);
        // Each kept mean is summed afresh (vectorised): a running sum over every point was a chain of
        // dependent additions through the whole window for the few means kept, and it carried the
        // rounding of every point that left it (means of zeros came out as 1e-9 after large bursts).
        var means = _steps.AsSpan(0, ((count - 1) / stride) + 1);
        for (var j = 0; j < means.Length; j++)
        {
            means[j] = LaneSum.Sum(y.Slice(j * stride, m)) / m;
        }
        var recent = LaneSum.Sum(y[^m..]) / m;
        var (median, q01, q99) = Selection.MedianAndTails(means, Rank(means, 0.01), Rank(means, 0.99), _scratch);
        // Both sides' scales, for the pre-screen; the judgement uses the side the mean is on.
        var floor = Spread(means, median);
        baseline = new MeansBaseline(median, Math.Max(floor, (q99 - median) / Q99Sigma), Math.Max(floor, (median - q01) / Q99Sigma));
        // A recent mean the window's earlier means already reached is no news either.
        return (median, BoundByRecord((recent - median) / (recent >= median ? baseline.Up : baseline.Down), means, recent, median));
    }

    // The band the sustained detector clips points to: a spike counts as 5 robust sigmas at most.
    private static (double Lo, double Hi) ClipBand(double median, double sigma) => (median - (5 * sigma), median + (5 * sigma));
}
