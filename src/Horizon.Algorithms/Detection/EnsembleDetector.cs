using Horizon.Algorithms.Kernels;
using MathNet.Numerics.Distributions;

namespace Horizon.Algorithms.Detection;

/// <summary>
/// Horizon's ensemble: each detector scores the last point of a series against a baseline built only
/// from the points before it (causal); the scores combine into one in [0, 1] with the reasons kept.
/// Baselines are robust (median, MAD, tail quantiles, winsorised fits), so earlier spikes do not
/// inflate them; seasonal metrics are judged on their residual from the same time of day or week
/// in the long-term roll-ups. One instance per thread: it owns its scratch buffers, and keeps
/// nothing about any metric (that is <see cref="EnsembleState"/>). This file judges and combines;
/// the detectors, seasonality, the pre-screen and the roll-up findings have a file each.
/// </summary>
public sealed partial class EnsembleDetector
{
    private const double MadToSigma = 1.4826;
    private const double MeanAbsToSigma = 1.2533;
    private const double Q99Sigma = 2.3263;

    private readonly EnsembleSettings _settings;
    private readonly double[] _combine = new double[DetectorNames.Count];
    private readonly bool[] _inDefault = new bool[DetectorNames.Count];

    // Scratch buffers, sized to the longest window seen.
    private double[] _y = [];
    private double[] _work = [];
    private double[] _scratch = [];
    private double[] _steps = [];
    private double[] _residuals = [];
    private double[] _clipped = [];

    /// <summary>An ensemble with the given settings (validated where they are bound: <see cref="EnsembleSettings.Validate"/>).</summary>
    public EnsembleDetector(EnsembleSettings? settings = null)
    {
        _settings = settings ?? new EnsembleSettings();
        foreach (var detector in _settings.Detectors)
        {
            _inDefault[(int)detector] = true;
        }
    }

    /// <summary>The settings.</summary>
    public EnsembleSettings Settings => _settings;

    /// <summary>What the detectors judge against, worked out once per judgement from the window's
    /// points before the judged one: their median and robust sigma, for the level's record the
    /// roll-ups before the window with the window's start and mean point interval, and whether the
    /// window is sparse (more than half its points equal the median: an error count or a disk's
    /// writes, mostly 0 between bursts).</summary>
    private readonly record struct Window(double Median, double Sigma, RollupHistory? OlderRecord, long Start, double Interval, bool Sparse);

    /// <summary>
    /// Judges the last point of <paramref name="values"/> (timestamps ascending) with what
    /// <paramref name="state"/> remembers of the metric (its roll-ups, recent scores, last
    /// baseline). <paramref name="remember"/> false judges the same point again without touching the
    /// recent scores or the baseline (the analyzer repeats a judgement when Skyline's vote asks).
    /// </summary>
    public void Judge(ReadOnlySpan<long> timestamps, ReadOnlySpan<double> values, EnsembleState state, MetricMetadata metadata, Judgement judgement, bool remember = true)
    {
        var history = state.Rollup;
        var rollups = state.Rollups;
        var novelty = remember ? state.Novelty : null;
        judgement.Reset();
        if (_settings.CounterRates && values.Length > _settings.MinPoints && IsCounter(values, _settings.Window))
        {
            // Judged on its increases: the roll-ups hold its raw values, which do not mix with them
            // (no seasonality, record from the roll-ups, drift or flatline for a counter).
            judgement.Counter = true;
            history = null;
            var tail = Math.Min(values.Length, _settings.Window + 1);
            values = Rates(timestamps[^tail..], values[^tail..]);
            timestamps = timestamps[^values.Length..];
        }
        if (history is not null)
        {
            judgement.Drift = Drift(history, rollups, values.Length > 0 ? values[^1] : double.NaN, metadata);
        }
        if (values.Length < _settings.MinPoints)
        {
            return;
        }
        if (history is not null && _settings.FlatlineMinSeconds > 0)
        {
            judgement.Flatline = Flatline(timestamps, values, history, rollups);
        }
        var n = Math.Min(values.Length, _settings.Window);
        timestamps = timestamps[^n..];
        values = values[^n..];
        Ensure(n);
        var y = _y.AsSpan(0, n);
        var period = 0L;
        if (history is not null)
        {
            if (rollups.PeriodAt != (history.EndSlot, metadata.Seasonality))
            {
                rollups.Period = SeasonalPeriod(history, metadata.Seasonality);
                rollups.PeriodAt = (history.EndSlot, metadata.Seasonality);
            }
            period = rollups.Period;
        }
        if (judgement.Flatline is not { Crossed: true } && Screen(timestamps, values, history, period, metadata, novelty, state.Screen, judgement))
        {
            return;
        }
        if (period > 0 && Deseasonalise(timestamps, values, history!, period, y))
        {
            judgement.SeasonalPeriod = period;
        }
        else
        {
            values.CopyTo(y);
        }

        var past = y[..^1];
        var x = y[^1];
        var median = Selection.Median(past, _scratch);
        var sigma = Spread(past, median, out var sparse);
        var w = new Window(median, sigma,
            _settings.RecordFromRollups && judgement.SeasonalPeriod == 0 ? history : null,
            timestamps[0], Math.Max(1.0, (timestamps[^1] - timestamps[0]) / Math.Max(1.0, timestamps.Length - 1)), sparse);
        var rate = JudgementRate(timestamps);
        judgement.JudgementRate = rate;
        var screen = state.Screen;
        if (novelty is not null)
        {
            (screen.Median, screen.Sigma) = (median, sigma);
            screen.Age = 0;
            screen.Period = judgement.SeasonalPeriod;
            screen.Rate = rate;
        }
        // The baselines of the sustained (per scale) and volatility detectors, for the next pre-screens.
        Span<MeansBaseline> means = [MeansBaseline.None, MeansBaseline.None];
        var steps = (Baseline: MeansBaseline.None, Band: default((double Lo, double Hi)));
        var sensitivity = metadata.Sensitivity;
        // A metric's metadata may name any detector; otherwise the default set runs.
        var named = metadata.Detectors.Count > 0;
        for (var d = 0; d < DetectorNames.Count; d++)
        {
            var detector = (Detector)d;
            if (!(named || _inDefault[d]) || !metadata.Uses(detector))
            {
                continue;
            }
            var (expected, z) = detector switch
            {
                Detector.Level => Level(past, x, w),
                Detector.Change => Change(past, x, w),
                Detector.HoltWinters => HoltWinters(past, x, w),
                Detector.Regression => RegressionLine(past, x, w),
                Detector.Sustained => Sustained(y, w, means),
                Detector.Volatility => Volatility(y, w, out steps),
                _ => AutoRegressive(past, x, w),
            };
            if (!double.IsFinite(z))
            {
                continue;
            }
            var calibrated = Calibrated(z, rate);
            // Jumpier is what volatility reports, whichever direction of the value is bad.
            var bad = (detector == Detector.Volatility ? Math.Max(calibrated, 0) : metadata.BadDirection switch
            {
                BadDirection.Up => Math.Max(calibrated, 0),
                BadDirection.Down => Math.Max(-calibrated, 0),
                _ => Math.Abs(calibrated),
            }) * sensitivity;
            var seasonalOffset = detector == Detector.Volatility ? 0 : values[^1] - x;
            judgement.Add(new DetectorScore(detector, Bounded(bad, _settings.HalfScoreSigma), expected + seasonalOffset, z));
        }
        if (novelty is not null)
        {
            means.CopyTo(screen.Means);
            (screen.Steps, screen.StepBand) = steps;
        }
        judgement.RawScore = Combine(judgement.Scores, w.Sparse);
        if (judgement.RawScore > 0 && judgement.SeasonalPeriod == 0 && history is not null && _settings.RecurrenceDays > 0)
        {
            var (excess, points) = Excursion(judgement, y, median);
            judgement.RecurringDays = Recurrence(timestamps, history, excess, points, w);
            if (judgement.RecurringDays > 0)
            {
                judgement.RawScore *= _settings.RecurrenceDamping;
            }
        }
        if (judgement.Flatline is { Crossed: true })
        {
            judgement.RawScore = 1;
        }
        judgement.Score = novelty?.Apply(judgement.RawScore) ?? judgement.RawScore;
        judgement.Anomalous = judgement.Score >= _settings.Threshold;
    }

    // The excursion the recurrence check looks for on earlier days: the judged point's, or, when a
    // held shift (the sustained score) is what scored, the recent mean's. The point may already be
    // back at the median when the mean is not: the last minute of a nightly batch job. With the
    // points it spans.
    private (double Excess, int Points) Excursion(Judgement judgement, ReadOnlySpan<double> y, double median)
    {
        foreach (var score in judgement.Scores)
        {
            if (score.Detector == Detector.Sustained && _settings.Combination == Combination.Gate
                && _settings.SustainedWeight * score.Score >= judgement.RawScore)
            {
                var recent = y[^Math.Min(y.Length, _settings.SustainedPoints)..];
                return ((LaneSum.Sum(recent) / recent.Length) - median, recent.Length);
            }
        }
        return (y[^1] - median, 1);
    }

    // How many times as often as at the calibration interval a metric sampled at these timestamps is judged (at least 1).
    private double JudgementRate(ReadOnlySpan<long> timestamps) =>
        _settings.CalibrationSeconds > 0 && timestamps.Length > 1
            ? Math.Max(1, _settings.CalibrationSeconds / Math.Max(1, RollupHistory.MedianInterval(timestamps)))
            : 1;

    /// <summary>The deviation that is as rare at the calibration interval as <paramref name="z"/> is for a
    /// metric judged <paramref name="rate"/> times as often: its two-sided normal tail probability,
    /// times the rate, back to sigmas (0 when that reaches 1; the Gaussian tail's leading term
    /// sqrt(z^2 - 2 ln rate) beyond doubles' reach, about 37 sigma). Sign kept; rate 1: z itself.</summary>
    public static double Calibrated(double z, double rate)
    {
        if (rate <= 1 || double.IsNaN(z))
        {
            return z;
        }
        var a = Math.Abs(z);
        var tail = 2 * Normal.CDF(0, 1, -a) * rate;
        var calibrated = tail >= 1 ? 0
            : tail > 0 ? -Normal.InvCDF(0, 1, tail / 2)
            : Math.Sqrt((a * a) - (2 * Math.Log(rate)));
        return Math.CopySign(calibrated, z);
    }

    // A deviation (in sigmas) as a score in [0, 1): half at half (HalfScoreSigma).
    private static double Bounded(double deviation, double half) => deviation / (deviation + half);

    // In a sparse window the forecasts do not confirm the level in the Gate: fitted to a series
    // that is mostly its median, each one forecasts about the median with an innovation sigma that
    // its bursts dwarf, so every burst is 50-300 of its sigmas out and "confirmed", whatever the
    // level makes of the burst's size (docs/DETECTION.md, alert volume).
    private double Combine(ReadOnlySpan<DetectorScore> scores, bool sparse)
    {
        if (scores.Length == 0)
        {
            return 0;
        }
        var s = _combine.AsSpan(0, scores.Length);
        for (var i = 0; i < s.Length; i++)
        {
            s[i] = scores[i].Score;
        }
        switch (_settings.Combination)
        {
            case Combination.Max:
                return TensorMax(s);
            case Combination.Gate:
                var level = -1.0;
                var others = 0.0;
                var sustained = 0.0;
                foreach (var score in scores)
                {
                    if (score.Detector == Detector.Level)
                    {
                        level = score.Score;
                    }
                    else if (score.Detector is Detector.Sustained or Detector.Volatility)
                    {
                        sustained = Math.Max(sustained, score.Score);
                    }
                    else if (!sparse)
                    {
                        others = Math.Max(others, score.Score);
                    }
                }
                // Without the level, the forecasts and the sustained shift speak for themselves.
                return level < 0
                    ? Math.Max(others, sustained)
                    : Math.Max(level * (1 + others) / 2, _settings.SustainedWeight * sustained);
            case Combination.Median:
                return Selection.MedianInPlace(s);
            default:
                double sum = 0;
                foreach (var v in s)
                {
                    sum += v;
                }
                return sum / s.Length;
        }
    }

    private static double TensorMax(ReadOnlySpan<double> s)
    {
        var max = 0.0;
        foreach (var v in s)
        {
            max = Math.Max(max, v);
        }
        return max;
    }

    private void Ensure(int n)
    {
        if (_y.Length < n)
        {
            _y = new double[n];
            _work = new double[n];
            _scratch = new double[n];
            _steps = new double[n];
            _residuals = new double[n];
            _clipped = new double[n];
        }
    }

    // ---- robust scale -------------------------------------------------------------------------

    /// <summary>Median and a robust sigma of <paramref name="x"/>: 1.4826 MAD, or, when most values are
    /// equal (sparse series), the mean absolute deviation from the median, or a floor relative to
    /// the level.</summary>
    private (double Median, double Sigma) Robust(ReadOnlySpan<double> x)
    {
        var median = Selection.Median(x, _scratch);
        return (median, Spread(x, median));
    }

    // The robust sigma of x about its median: the MAD's, or the mean absolute deviation's when
    // more than half the values equal the median, floored.
    private double Spread(ReadOnlySpan<double> x, double median) => Spread(x, median, out _);

    private double Spread(ReadOnlySpan<double> x, double median, out bool sparse)
    {
        var mad = Selection.AbsoluteDeviationMedian(x, median, _work, _scratch);
        var sigma = MadToSigma * mad;
        sparse = !(sigma > 0);
        if (sparse)
        {
            double sum = 0;
            foreach (var v in x)
            {
                sum += Math.Abs(v - median);
            }
            sigma = MeanAbsToSigma * sum / x.Length;
        }
        return Math.Max(sigma, Floor(median));
    }

    private static double Floor(double level) => 1e-9 + (1e-4 * Math.Abs(level));

    private double Quantile(ReadOnlySpan<double> x, double q) => Selection.Select(x, Rank(x, q), _scratch);

    private static int Rank(ReadOnlySpan<double> x, double q) => (int)Math.Round(q * (x.Length - 1));
}
