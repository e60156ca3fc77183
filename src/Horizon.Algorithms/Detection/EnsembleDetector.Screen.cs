using Horizon.Algorithms.Kernels;
using MathNet.Numerics.Distributions;

namespace Horizon.Algorithms.Detection;

/// <summary>The pre-screen: points near the last full baseline skip the detectors.</summary>
public sealed partial class EnsembleDetector
{
    /// <summary>
    /// The pre-screen: a point within a margin of the metric's last full baseline cannot reach the
    /// threshold while that baseline holds, so the detectors are skipped and the point gets an
    /// upper bound of its score against it. The gated score is at most the larger of the level
    /// score (bounded by the deviation in the robust sigma alone, which its scale is at least) and
    /// the weighted sustained score (bounded by the deviation of each span's mean in the scale the
    /// detector used on that side). Only with a recent baseline (at most
    /// <see cref="EnsembleSettings.ScreenPoints"/> judgements old), the level in use and no detector
    /// list of the metric's own. A baseline moves between full judgements (the short span's tails
    /// most), so this is an approximation: docs/DETECTION.md has how far it is from judging in full.
    /// </summary>
    private bool Screen(ReadOnlySpan<long> timestamps, ReadOnlySpan<double> values, RollupHistory? history, long period, MetricMetadata metadata,
        NoveltyFilter? novelty, ScreenBaseline screen, Judgement judgement)
    {
        if (novelty is null || _settings.ScreenPoints <= 0 || screen.Age >= _settings.ScreenPoints || screen.Period != period
            || metadata.Detectors.Count > 0 || !_inDefault[(int)Detector.Level] || !metadata.Uses(Detector.Level)
            || _settings.Combination != Combination.Gate)
        {
            return false;
        }
        // The points the bounds look at: the judged one, the sustained spans and the volatility's steps; for a seasonal
        // metric, their residuals from the same slot on earlier periods, as the full judgement has them.
        var take = Math.Min(values.Length, Math.Max(_settings.VolatilityPoints + 1, Math.Max(SustainedScale(0), SustainedScale(1))));
        if (_recent.Length < take)
        {
            _recent = new double[take];
        }
        var recent = _recent.AsSpan(0, take);
        values[^take..].CopyTo(recent);
        if (period > 0 && !Residuals(timestamps[^take..], recent, history!, period))
        {
            return false;
        }
        var score = 0.0;
        if (!UnderScreenLimit(Math.Abs(recent[^1] - screen.Median) / screen.Sigma, 1, metadata, screen.Rate, ref score))
        {
            return false;
        }
        var w = _settings.SustainedWeight;
        if (_inDefault[(int)Detector.Sustained] && metadata.Uses(Detector.Sustained) && w > 0)
        {
            var (lo, hi) = ClipBand(screen.Median, screen.Sigma); // as the detector clips
            for (var scale = 0; scale < 2; scale++)
            {
                var m = SustainedScale(scale);
                if (m == 0)
                {
                    continue;
                }
                var baseline = screen.Means[scale];
                if (double.IsNaN(baseline.Median) || values.Length < m)
                {
                    // No baseline of means yet: judge in full once the window is long enough for one.
                    if (values.Length - (2 * m) + 1 >= _settings.MinPoints)
                    {
                        return false;
                    }
                    continue;
                }
                // The scale the detector divides by, on the side the mean is on: the bound is exact
                // while the baseline is fresh (a looser one would feed the novelty filter scores
                // far above the real ones, and damp later real anomalies).
                var deviation = (Clipping.ClippedSum(recent[^m..], lo, hi) / m) - baseline.Median;
                var zm = Math.Abs(deviation) / (deviation >= 0 ? baseline.Up : baseline.Down);
                if (!UnderScreenLimit(zm, w, metadata, screen.Rate, ref score))
                {
                    return false;
                }
            }
        }
        var v = _settings.VolatilityPoints;
        if (v > 0 && _inDefault[(int)Detector.Volatility] && metadata.Uses(Detector.Volatility) && w > 0)
        {
            // The same bound for the mean of the last steps' sizes, on the scale the detector used.
            var baseline = screen.Steps;
            if (double.IsNaN(baseline.Median) || recent.Length < v + 1)
            {
                if (values.Length - (2 * v) >= _settings.MinPoints)
                {
                    return false;
                }
            }
            else
            {
                if (_stepSizes.Length < v + 1)
                {
                    _stepSizes = new double[v + 1];
                }
                var (lo, hi) = screen.StepBand;
                var zv = Math.Max((Clipping.ClippedSum(StepSizes(recent[^(v + 1)..], _stepSizes), lo, hi) / v) - baseline.Median, 0) / baseline.Up;
                if (!UnderScreenLimit(zv, w, metadata, screen.Rate, ref score))
                {
                    return false;
                }
            }
        }
        screen.Age++;
        judgement.SeasonalPeriod = period;
        judgement.JudgementRate = screen.Rate;
        judgement.RawScore = score;
        judgement.Score = novelty.Apply(judgement.RawScore);
        judgement.Screened = true;
        return true;
    }

    // The deviation below which a score weighted by weight stays under 0.8 of the threshold.
    private double ScreenLimit(double weight, double sensitivity) =>
        0.8 * _settings.HalfScoreSigma * _settings.Threshold / (weight - _settings.Threshold) / sensitivity;

    // Whether a deviation z, scored times weight, stays under the screen's limit (none when even
    // a full score times weight cannot reach the threshold); if so, score is raised to what it bounds.
    private bool UnderScreenLimit(double z, double weight, MetricMetadata metadata, double rate, ref double score)
    {
        var limit = weight > _settings.Threshold ? ScreenLimit(weight, Math.Max(metadata.Sensitivity, 1e-9)) : double.PositiveInfinity;
        if (!(z < limit))
        {
            return false;
        }
        score = Math.Max(score, weight * Bounded(Calibrated(z, rate) * metadata.Sensitivity, _settings.HalfScoreSigma));
        return true;
    }
}
