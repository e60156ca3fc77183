using System.Numerics;
using Horizon.Analysis.Kernels;
using MathNet.Numerics.Distributions;

namespace Horizon.Analysis.Detection;

/// <summary>How the ensemble turns detector scores into one.</summary>
public enum Combination : byte
{
    /// <summary>Mean of the detector scores: every detector has a say.</summary>
    Mean,

    /// <summary>Median of the detector scores: half must agree.</summary>
    Median,

    /// <summary>The highest detector score.</summary>
    Max,

    /// <summary>Level-led: the level score, scaled from half to full by the strongest of the forecasts,
    /// so they confirm or temper what the distribution says; or, when higher, the sustained score
    /// scaled by <see cref="EnsembleSettings.SustainedWeight"/> (a held shift no point shows).</summary>
    Gate,
}

/// <summary>
/// Keeps a metric's recent scores (a ring of the last N judgements) and halves a score that does
/// not exceed all of them: an anomaly is news when it starts or worsens, not on every point while
/// it lasts. For a span after a reported anomaly (the refractory period) scores are halved once
/// more, so one incident is not reported point after point while it grows. It also keeps the
/// metric's last full baseline for the ensemble's pre-screen. One per metric; 2 bytes per
/// remembered judgement and 24 for the rest.
/// </summary>
public sealed class NoveltyFilter(int points = 200, double damping = 0.5, int refractory = 0, double threshold = 1)
{
    private readonly Half[] _ring = new Half[Math.Max(points, 1)];
    private int _next;
    private readonly int _refractory = refractory;
    private int _sinceFlag = refractory; // judgements since the last reported anomaly, up to the span

    // The last full judgement's baseline (of the residuals, for a seasonal metric), for the ensemble's pre-screen.
    internal double ScreenMedian;
    internal double ScreenSigma;
    internal readonly MeansBaseline[] ScreenMeans = [MeansBaseline.None, MeansBaseline.None]; // the sustained detector's, per scale
    internal MeansBaseline ScreenSteps = MeansBaseline.None; // the volatility detector's (means of step sizes)
    internal (double Lo, double Hi) ScreenStepBand; // the band it clips step sizes to
    internal int ScreenAge = int.MaxValue;
    internal long ScreenPeriod; // the seasonal period that baseline was judged with (0: none)
    internal double ScreenRate = 1; // the judgement rate that baseline's deviations were calibrated for

    /// <summary>The filter the settings describe (no damping when NoveltyPoints is 0).</summary>
    public static NoveltyFilter For(EnsembleSettings settings) => settings.NoveltyPoints > 0
        ? new(settings.NoveltyPoints, settings.NoveltyDamping, settings.Refractory, settings.Threshold)
        : new(1, 1);

    /// <summary>The score to report for a new judgement with raw score <paramref name="score"/>.</summary>
    public double Apply(double score)
    {
        var max = 0.0;
        foreach (var h in _ring)
        {
            max = Math.Max(max, (double)h);
        }
        _ring[_next] = (Half)score;
        _next = (_next + 1) % _ring.Length;
        var reported = score > max ? score : score * damping;
        if (_sinceFlag < _refractory)
        {
            reported *= damping;
        }
        _sinceFlag = reported >= threshold ? 0 : Math.Min(_sinceFlag + 1, _refractory);
        return reported;
    }
}

/// <summary>The sustained detector's baseline at one scale: the median of the window's means, and
/// the scale of a deviation above and below it (robust sigma or tail, whichever is larger).</summary>
internal readonly record struct MeansBaseline(double Median, double Up, double Down)
{
    public static readonly MeansBaseline None = new(double.NaN, double.NaN, double.NaN);
}

/// <summary>Settings of the ensemble (one configuration for every series; metadata adjusts per metric).</summary>
public sealed record EnsembleSettings
{
    /// <summary>Points of the window judged against (the most recent); the series may be longer.</summary>
    public int Window { get; init; } = 1440;

    /// <summary>Fewer points than this: no judgement.</summary>
    public int MinPoints { get; init; } = 30;

    /// <summary>Deviation (in robust sigmas) that scores 0.5; the score is z / (z + this).</summary>
    public double HalfScoreSigma { get; init; } = 6.0;

    /// <summary>Score from which a point is an anomaly (0.29: the NAB standard-profile optimum, docs/DETECTION.md).</summary>
    public double Threshold { get; init; } = 0.29;

    /// <summary>How detector scores combine.</summary>
    public Combination Combination { get; init; } = Combination.Gate;

    /// <summary>Judgements a metric's novelty filter remembers (0: no filter).</summary>
    public int NoveltyPoints { get; init; } = 200;

    /// <summary>Factor applied to a score that is not above the remembered ones.</summary>
    public double NoveltyDamping { get; init; } = 0.5;

    /// <summary>Judgements after an anomaly during which scores are damped as if not new (0: none):
    /// an incident is reported when it starts, and again within this span only if its score at
    /// least doubles. 60: ten minutes at 10 s, five hours at 5 minutes (NAB: 54.96 -> 56.67).</summary>
    public int Refractory { get; init; } = 60;

    /// <summary>Points of the recent window the regression line is fitted to.</summary>
    public int RegressionPoints { get; init; } = 120;

    /// <summary>Order of the autoregressive model.</summary>
    public int ArOrder { get; init; } = 3;

    /// <summary>Points the sustained detector averages: the judged one and those just before it
    /// (24: four minutes at 10 s, two hours at 5 minutes).</summary>
    public int SustainedPoints { get; init; } = 24;

    /// <summary>A second, shorter span the sustained detector averages too (0: none); the span that
    /// deviates more is reported (NAB: 63.45 -> 65.25).</summary>
    public int SustainedShortPoints { get; init; } = 6;

    /// <summary>In the <see cref="Combination.Gate"/>, a sustained shift is reported on its own, its
    /// score scaled by this (0.65: about 4.8 robust sigmas of the means pass the 0.29 threshold), so
    /// a shift no single point shows is found without the level's say (NAB, with both spans: 60.20
    /// -> 65.25). 0.7 scored 66.01 but doubled the false alarms on pure noise (docs/DETECTION.md).</summary>
    public double SustainedWeight { get; init; } = 0.65;

    /// <summary>Steps (point to point) the volatility detector averages: the last ones against
    /// every such mean in the window (24: four minutes at 10 s, two hours at 5 minutes). Its score
    /// counts like the sustained one's, times <see cref="SustainedWeight"/> (NAB 73.73 -> 74.43,
    /// docs/DETECTION.md). 0: off.</summary>
    public int VolatilityPoints { get; init; } = 24;

    /// <summary>Points the step (change) and Holt-Winters detectors look back over.</summary>
    public int RecentPoints { get; init; } = 360;

    /// <summary>Whether Holt-Winters' deviation is bounded by the record of its own one-step errors
    /// over the recent points, as the level's is by the window's values.</summary>
    public bool HoltWintersRecord { get; init; } = true;

    /// <summary>Whether the level's record bound also counts the roll-up slots before the window (a
    /// slot whose mean reached the value held at least one point that did; each slot counts as the
    /// points it averages). Not for seasonal metrics, which are judged on residuals.</summary>
    public bool RecordFromRollups { get; init; } = true;

    /// <summary>Holt-Winters level, trend and deviation smoothing.</summary>
    public double Alpha { get; init; } = 0.3;

    /// <summary>Holt-Winters trend smoothing.</summary>
    public double Beta { get; init; } = 0.02;

    /// <summary>Brutlag deviation smoothing.</summary>
    public double Gamma { get; init; } = 0.1;

    /// <summary>Autocorrelation at the seasonal lag from which a metric counts as seasonal.</summary>
    public double SeasonalCorrelation { get; init; } = 0.6;

    /// <summary>Days of roll-ups needed before a drift is reported.</summary>
    public double DriftMinDays { get; init; } = 2;

    /// <summary>Robust z of the change between the first and last quarter of the roll-ups that counts as drift.</summary>
    public double DriftZ { get; init; } = 4;

    /// <summary>Forecast residuals are measured in at least this share of the window's own robust
    /// sigma, so a very smooth fit does not turn a tiny wobble into a large deviation.</summary>
    public double ForecastScaleFloor { get; init; }

    /// <summary>Previous days searched for the same excursion at the same time of day (0: no recurrence check).</summary>
    public int RecurrenceDays { get; init; } = 7;

    /// <summary>Roll-up slots either side of the same time of day that count as "the same time"
    /// (3: half an hour either way at 10-minute slots; a daily job drifts by that much. NAB, with the
    /// level's record bound: 2 slots 72.99, 3 73.39, 4 73.45).</summary>
    public int RecurrenceSlots { get; init; } = 3;

    /// <summary>Factor applied to the score of an excursion that recurs daily at this time.</summary>
    public double RecurrenceDamping { get; init; } = 0.25;

    /// <summary>Seconds a value must be held exactly before it can be a flatline: held longer than any
    /// run of one value in the metric's roll-ups (which must cover two days before it), it is
    /// reported once, with score 1, on the first judgement that finds it past that record (0: no
    /// flatline check).</summary>
    public double FlatlineMinSeconds { get; init; } = 3600;

    /// <summary>Judgements for which a metric's last full baseline serves the pre-screen (0: no pre-screen).</summary>
    public int ScreenPoints { get; init; } = 30;

    /// <summary>The sampling interval (seconds) the threshold is calibrated at: NAB's 5 minutes, where
    /// it was chosen. A metric sampled more often is judged proportionally more often a day, so each
    /// deviation's two-sided normal tail probability is multiplied by this over the metric's interval
    /// before it is scored: a 10-second metric then raises about as many false alarms a day as a
    /// 5-minute one (30 times fewer than with the threshold alone). Coarser metrics are judged as at
    /// this interval; 0: off.</summary>
    public double CalibrationSeconds { get; init; } = 300;

    /// <summary>Detectors in the default set: the level, two forecasts, the sustained shift and the volatility. Change and regression
    /// stay available (metadata <c>detectors</c>) but lowered the NAB score as gate members
    /// (docs/DETECTION.md).</summary>
    public IReadOnlyList<Detector> Detectors { get; init; } = [Detector.Level, Detector.HoltWinters, Detector.AutoRegressive, Detector.Sustained, Detector.Volatility];
}

/// <summary>
/// Horizon's ensemble: each detector scores the last point of a series against a baseline built only
/// from the points before it (causal); the scores combine into one in [0, 1] with the reasons kept.
/// Baselines are robust (median, MAD, tail quantiles, winsorised fits), so earlier spikes do not
/// inflate them; seasonal metrics are judged on their residual from the same time of day or week
/// in the long-term roll-ups. One instance per thread: it owns its scratch buffers.
/// </summary>
public sealed class EnsembleDetector
{
    private const double MadToSigma = 1.4826;
    private const double MeanAbsToSigma = 1.2533;
    private const double Q99Sigma = 2.3263;

    private readonly EnsembleSettings _settings;
    private double[] _y = [];
    private double[] _work = [];
    private double[] _scratch = [];
    private double[] _steps = [];
    private double[] _residuals = [];
    private double[] _clipped = [];
    private double _levelSigma;
    private (double Median, double Sigma) _past;
    private readonly MeansBaseline[] _means = new MeansBaseline[2]; // the sustained detector's baselines per scale
    private readonly double[] _combine = new double[DetectorNames.Count];
    private readonly bool[] _inDefault = new bool[DetectorNames.Count];

    /// <summary>An ensemble with the given settings.</summary>
    public EnsembleDetector(EnsembleSettings? settings = null)
    {
        _settings = settings ?? new EnsembleSettings();
        if (_settings.Window < _settings.MinPoints || _settings.MinPoints < 10 || _settings.ArOrder is < 1 or > 8
            || _settings.SustainedPoints < 2 || _settings.SustainedShortPoints is 1 or < 0 || _settings.SustainedWeight is < 0 or > 1
            || _settings.VolatilityPoints is 1 or < 0)
        {
            throw new ArgumentException("Ensemble: Window must be at least MinPoints, MinPoints at least 10, ArOrder 1-8, SustainedPoints at least 2, SustainedShortPoints and VolatilityPoints 0 or at least 2, SustainedWeight 0-1.");
        }
        foreach (var detector in _settings.Detectors)
        {
            _inDefault[(int)detector] = true;
        }
    }

    /// <summary>The settings.</summary>
    public EnsembleSettings Settings => _settings;

    /// <summary>
    /// Judges the last point of <paramref name="values"/> (timestamps ascending). <paramref name="history"/>
    /// is the metric's roll-up history (for seasonality and drift), or null.
    /// </summary>
    public void Judge(ReadOnlySpan<long> timestamps, ReadOnlySpan<double> values, RollupHistory? history, MetricMetadata metadata, Judgement judgement, NoveltyFilter? novelty = null)
    {
        judgement.Reset();
        if (history is not null)
        {
            judgement.Drift = Drift(history, values.Length > 0 ? values[^1] : double.NaN, metadata);
        }
        if (values.Length < _settings.MinPoints)
        {
            return;
        }
        if (history is not null && _settings.FlatlineMinSeconds > 0)
        {
            judgement.Flatline = Flatline(timestamps, values, history);
        }
        var n = Math.Min(values.Length, _settings.Window);
        timestamps = timestamps[^n..];
        values = values[^n..];
        Ensure(n);
        var y = _y.AsSpan(0, n);
        var period = 0L;
        if (history is not null)
        {
            if (history.CachedPeriodAt != (history.EndSlot, metadata.Seasonality))
            {
                history.CachedPeriod = SeasonalPeriod(history, metadata.Seasonality);
                history.CachedPeriodAt = (history.EndSlot, metadata.Seasonality);
            }
            period = history.CachedPeriod;
        }
        if (judgement.Flatline is not { Crossed: true } && Screen(timestamps, values, history, period, metadata, novelty, judgement))
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
        _past = Robust(past);
        _levelSigma = _past.Sigma * _settings.ForecastScaleFloor;
        _olderRecord = _settings.RecordFromRollups && judgement.SeasonalPeriod == 0 ? history : null;
        _windowStart = timestamps[0];
        _interval = Math.Max(1.0, (timestamps[^1] - timestamps[0]) / Math.Max(1.0, timestamps.Length - 1));
        var rate = JudgementRate(timestamps);
        judgement.JudgementRate = rate;
        if (novelty is not null)
        {
            (novelty.ScreenMedian, novelty.ScreenSigma) = _past;
            novelty.ScreenAge = 0;
            novelty.ScreenPeriod = judgement.SeasonalPeriod;
            novelty.ScreenRate = rate;
        }
        _means.AsSpan().Fill(MeansBaseline.None);
        _volatility = (MeansBaseline.None, default);
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
                Detector.Level => Level(past, x),
                Detector.Change => Change(past, x),
                Detector.HoltWinters => HoltWinters(past, x),
                Detector.Regression => Regression(past, x),
                Detector.Sustained => Sustained(y),
                Detector.Volatility => Volatility(y),
                _ => AutoRegressive(past, x),
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
            _means.CopyTo(novelty.ScreenMeans, 0);
            (novelty.ScreenSteps, novelty.ScreenStepBand) = _volatility;
        }
        judgement.RawScore = Combine(judgement.Scores);
        if (judgement.RawScore > 0 && judgement.SeasonalPeriod == 0 && history is not null && _settings.RecurrenceDays > 0)
        {
            judgement.RecurringDays = Recurrence(timestamps, history, x - _past.Median);
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

    // ---- flatline -------------------------------------------------------------------------------

    /// <summary>How long the last value has been held exactly (through the roll-ups when the run is
    /// older than the points given), against the longest run of one value in the roll-ups before it.
    /// Uses and updates the run measured at the history's previous judgement.</summary>
    private FlatlineFinding? Flatline(ReadOnlySpan<long> t, ReadOnlySpan<double> v, RollupHistory history)
    {
        var value = v[^1];
        if (v.Length < 2 || v[^2] != value || !double.IsFinite(value))
        {
            return null;
        }
        // Walk back over the points not seen before; a run measured earlier resumes where it was.
        var cached = history.FlatRun;
        var i = v.Length - 1;
        while (i > 0 && v[i - 1] == value && t[i - 1] > cached.CheckedUntil)
        {
            i--;
        }
        long start;
        if (i > 0 && v[i - 1] == value && cached.Value == value)
        {
            start = cached.Start;
        }
        else
        {
            start = t[i];
            if (i == 0)
            {
                // Held through every point given: the roll-ups tell how long before that.
                var f = (float)value;
                var slot = history.SlotOf(start) - 1;
                while (history.At(slot) == f)
                {
                    slot--;
                }
                start = Math.Min(start, (slot + 1) * history.SlotSeconds);
            }
        }
        var prior = cached.Value == value && cached.Start == start
            ? (t[^1] == cached.CheckedUntil ? cached.PriorCheck : cached.CheckedUntil)
            : long.MinValue;
        history.FlatRun = (value, start, t[^1], prior);
        var seconds = (double)(t[^1] - start);
        if (seconds < _settings.FlatlineMinSeconds)
        {
            return null;
        }
        var before = (int)Math.Clamp(history.SlotOf(start) - history.FirstSlot, 0, history.Count);
        if (before * (double)history.SlotSeconds < 2 * 86400.0)
        {
            return null;
        }
        if (history.CachedFlatRecord.FirstSlot != history.FirstSlot || history.CachedFlatRecord.Before != before)
        {
            history.CachedFlatRecord = (history.FirstSlot, before, LongestRun(history.Slots[..before]));
        }
        var record = (double)history.CachedFlatRecord.Slots * history.SlotSeconds;
        // Reported on the first judgement of the run past the record: the one that passed it, or,
        // for an analyzer that was not judging then (just started), the first it makes.
        return seconds > record ? new FlatlineFinding(value, seconds, record, prior == long.MinValue || prior - start <= record) : null;
    }

    // The longest run of one (non-empty) slot mean.
    private static long LongestRun(ReadOnlySpan<float> slots)
    {
        long longest = 0, run = 0;
        for (var i = 0; i < slots.Length; i++)
        {
            run = i > 0 && slots[i] == slots[i - 1] && !float.IsNaN(slots[i]) ? run + 1 : 1;
            longest = Math.Max(longest, run);
        }
        return longest;
    }

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
        NoveltyFilter? novelty, Judgement judgement)
    {
        if (novelty is null || _settings.ScreenPoints <= 0 || novelty.ScreenAge >= _settings.ScreenPoints || novelty.ScreenPeriod != period
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
        if (!UnderScreenLimit(Math.Abs(recent[^1] - novelty.ScreenMedian) / novelty.ScreenSigma, 1, metadata, novelty.ScreenRate, ref score))
        {
            return false;
        }
        var w = _settings.SustainedWeight;
        if (_inDefault[(int)Detector.Sustained] && metadata.Uses(Detector.Sustained) && w > 0)
        {
            var (lo, hi) = ClipBand(novelty.ScreenMedian, novelty.ScreenSigma); // as the detector clips
            for (var scale = 0; scale < 2; scale++)
            {
                var m = SustainedScale(scale);
                if (m == 0)
                {
                    continue;
                }
                var baseline = novelty.ScreenMeans[scale];
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
                var deviation = (ClippedSum(recent[^m..], lo, hi) / m) - baseline.Median;
                var zm = Math.Abs(deviation) / (deviation >= 0 ? baseline.Up : baseline.Down);
                if (!UnderScreenLimit(zm, w, metadata, novelty.ScreenRate, ref score))
                {
                    return false;
                }
            }
        }
        var v = _settings.VolatilityPoints;
        if (v > 0 && _inDefault[(int)Detector.Volatility] && metadata.Uses(Detector.Volatility) && w > 0)
        {
            // The same bound for the mean of the last steps' sizes, on the scale the detector used.
            var baseline = novelty.ScreenSteps;
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
                var (lo, hi) = novelty.ScreenStepBand;
                var zv = Math.Max((ClippedSum(StepSizes(recent[^(v + 1)..], _stepSizes), lo, hi) / v) - baseline.Median, 0) / baseline.Up;
                if (!UnderScreenLimit(zv, w, metadata, novelty.ScreenRate, ref score))
                {
                    return false;
                }
            }
        }
        novelty.ScreenAge++;
        judgement.SeasonalPeriod = period;
        judgement.JudgementRate = novelty.ScreenRate;
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

    // The band the sustained detector clips points to: a spike counts as 5 robust sigmas at most.
    private static (double Lo, double Hi) ClipBand(double median, double sigma) => (median - (5 * sigma), median + (5 * sigma));

    private static double ClippedSum(ReadOnlySpan<double> x, double lo, double hi)
    {
        var sum = 0.0;
        foreach (var v in x)
        {
            sum += Math.Clamp(v, lo, hi);
        }
        return sum;
    }

    // A short sum (a sustained or volatility mean's span), vectorised.
    private static double VectorSum(ReadOnlySpan<double> x)
    {
        var i = 0;
        var sum = 0.0;
        if (Vector.IsHardwareAccelerated && x.Length >= Vector<double>.Count)
        {
            var acc = new Vector<double>(x);
            for (i = Vector<double>.Count; i <= x.Length - Vector<double>.Count; i += Vector<double>.Count)
            {
                acc += new Vector<double>(x[i..]);
            }
            sum = Vector.Sum(acc);
        }
        for (; i < x.Length; i++)
        {
            sum += x[i];
        }
        return sum;
    }

    // x less offset, clamped to the band, into buffer (vectorised).
    private static Span<double> Clip(ReadOnlySpan<double> x, (double Lo, double Hi) band, Span<double> buffer, double offset = 0)
    {
        var into = buffer[..x.Length];
        var i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var (o, lo, hi) = (new Vector<double>(offset), new Vector<double>(band.Lo), new Vector<double>(band.Hi));
            for (; i <= x.Length - Vector<double>.Count; i += Vector<double>.Count)
            {
                Vector.Min(Vector.Max(new Vector<double>(x[i..]) - o, lo), hi).CopyTo(into[i..]);
            }
        }
        for (; i < x.Length; i++)
        {
            into[i] = Math.Min(Math.Max(x[i] - offset, band.Lo), band.Hi);
        }
        return into;
    }

    private double Combine(ReadOnlySpan<DetectorScore> scores)
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
                    else
                    {
                        others = Math.Max(others, score.Score);
                    }
                }
                // Without the level, the forecasts and the sustained shift speak for themselves.
                return level < 0
                    ? Math.Max(others, sustained)
                    : Math.Max(level * (1 + others) / 2, _settings.SustainedWeight * sustained);
            case Combination.Median:
                return SortedMedian(s);
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
    private double Spread(ReadOnlySpan<double> x, double median)
    {
        var mad = Selection.AbsoluteDeviationMedian(x, median, _work, _scratch);
        var sigma = MadToSigma * mad;
        if (!(sigma > 0))
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

    // ---- detectors: each returns the expected value and the signed deviation in sigmas ----------

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
    private (double, double) Level(ReadOnlySpan<double> past, double x)
    {
        var (median, sigma) = _past;
        var scale = x >= median
            ? Math.Max(sigma, (Quantile(past, 0.99) - median) / Q99Sigma)
            : Math.Max(sigma, (median - Quantile(past, 0.01)) / Q99Sigma);
        return (median, BoundByRecord((x - median) / scale, past, x, median, OlderRecord(x, median)));
    }

    // For the level's record: the roll-up slots before the window whose means reached the value
    // (as BoundByRecord counts reaching), and how many points they average.
    private RollupHistory? _olderRecord;
    private long _windowStart;
    private double _interval;

    private (int Reached, double Points) OlderRecord(double value, double centre)
    {
        var h = _olderRecord;
        if (h is null)
        {
            return (0, 0);
        }
        var (lo, hi) = Reaching(value, centre);
        var before = (int)Math.Clamp(h.SlotOf(_windowStart) - h.FirstSlot, 0, h.Count);
        var (reached, held) = Extremes.CountWithin(h.Slots[..before], (float)lo, (float)hi);
        return (reached, held * Math.Max(1.0, h.SlotSeconds / _interval));
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

    private (double, double) Change(ReadOnlySpan<double> past, double x)
    {
        var recent = past[^Math.Min(past.Length, _settings.RecentPoints + 1)..];
        var d = _steps.AsSpan(0, recent.Length - 1);
        if (d.Length < _settings.MinPoints / 2)
        {
            return (x, double.NaN);
        }
        for (var i = 0; i < d.Length; i++)
        {
            d[i] = recent[i + 1] - recent[i];
        }
        var (median, sigma) = Robust(d);
        var last = past[^1];
        return (last + median, (x - last - median) / Math.Max(sigma, _levelSigma));
    }

    /// <summary>Holt's linear smoothing over the recent points with Brutlag's deviation; an error beyond 4
    /// deviations is clipped before it updates the state, so an anomaly does not drag the baseline.
    /// Brutlag's deviation collapses on a mostly flat series, where every burst is then thousands of
    /// deviations out; so, like the level, the result is bounded by the record: an error that k of the
    /// one-step errors over the recent points reached (at most three times as far) is no rarer than k
    /// in their number.</summary>
    private (double, double) HoltWinters(ReadOnlySpan<double> past, double x)
    {
        // Its smoothing forgets within tens of points: the recent part of the window is enough.
        past = past[^Math.Min(past.Length, _settings.RecentPoints)..];
        var (start, sigma) = Robust(past[..Math.Min(past.Length, 60)]);
        double level = start, trend = 0, deviation = sigma / MeanAbsToSigma;
        double a = _settings.Alpha, b = _settings.Beta, g = _settings.Gamma;
        var errors = _residuals.AsSpan(0, past.Length - 1);
        for (var i = 1; i < past.Length; i++)
        {
            var forecast = level + trend;
            var error = past[i] - forecast;
            errors[i - 1] = error;
            var limit = 4 * Math.Max(deviation, Floor(forecast));
            error = Math.Clamp(error, -limit, limit);
            deviation = (g * Math.Abs(error)) + ((1 - g) * deviation);
            var next = forecast + (a * error);
            trend = (b * (next - level)) + ((1 - b) * trend);
            level = next;
        }
        var expected = level + trend;
        var z = (x - expected) / Math.Max(Math.Max(MeanAbsToSigma * deviation, Floor(expected)), _levelSigma);
        return (expected, _settings.HoltWintersRecord ? BoundByRecord(z, errors, x - expected, 0) : z);
    }

    /// <summary>Least-squares line through the recent points, refitted once with outliers clipped to
    /// 3 sigma; the judged point against its extrapolation.</summary>
    private (double, double) Regression(ReadOnlySpan<double> past, double x)
    {
        var k = Math.Min(past.Length, _settings.RegressionPoints);
        var y = past[^k..];
        var (slope, intercept) = Line(y, default);
        var residuals = _work.AsSpan(0, k);
        for (var i = 0; i < k; i++)
        {
            residuals[i] = y[i] - (intercept + (slope * i));
        }
        var (_, sigma) = Robust(residuals);
        (slope, intercept) = Line(y, (slope, intercept, 3 * sigma));
        for (var i = 0; i < k; i++)
        {
            residuals[i] = y[i] - (intercept + (slope * i));
        }
        (_, sigma) = Robust(residuals);
        var expected = intercept + (slope * k);
        return (expected, (x - expected) / Math.Max(sigma, _levelSigma));
    }

    private static (double Slope, double Intercept) Line(ReadOnlySpan<double> y, (double Slope, double Intercept, double Limit) clip)
    {
        var n = y.Length;
        double st = 0, sy = 0, stt = 0, sty = 0;
        for (var i = 0; i < n; i++)
        {
            var v = y[i];
            if (clip.Limit > 0)
            {
                var fit = clip.Intercept + (clip.Slope * i);
                v = Math.Clamp(v, fit - clip.Limit, fit + clip.Limit);
            }
            st += i;
            sy += v;
            stt += (double)i * i;
            sty += i * v;
        }
        var denominator = (n * stt) - (st * st);
        var slope = denominator == 0 ? 0 : ((n * sty) - (st * sy)) / denominator;
        return (slope, (sy - (slope * st)) / n);
    }

    /// <summary>AR(p) around the median, fitted by Yule-Walker to the window with values clipped to
    /// the robust 5-sigma band; the judged point against the one-step forecast, in units of the
    /// model's innovation sigma. p + 1 vectorised dot products over the window, then a p x p solve.</summary>
    private (double, double) AutoRegressive(ReadOnlySpan<double> past, double x)
    {
        var p = _settings.ArOrder;
        if (past.Length < 4 * p + 10)
        {
            return (x, double.NaN);
        }
        var (median, sigma) = _past;
        var z = Clip(past, (-5 * sigma, 5 * sigma), _work, offset: median);
        // Autocovariances r[k] = sum z[t] z[t-k] / n, k = 0..p.
        Span<double> r = stackalloc double[p + 1];
        for (var k = 0; k <= p; k++)
        {
            r[k] = Pairwise.CrossDeviations(z[k..], z[..^k], 0, 0) / z.Length;
        }
        Span<double> a = stackalloc double[p * p];
        for (var i = 0; i < p; i++)
        {
            for (var j = 0; j < p; j++)
            {
                a[(i * p) + j] = r[Math.Abs(i - j)];
            }
            a[(i * p) + i] *= 1 + 1e-9; // ridge against singular (flat) windows
        }
        Span<double> phi = stackalloc double[p];
        Span<double> rhs = stackalloc double[p];
        r[1..].CopyTo(rhs);
        if (!(r[0] > 0) || !Solve(a, rhs, phi, p))
        {
            return (median, double.NaN);
        }
        var innovation = r[0];
        var forecast = 0.0;
        for (var i = 0; i < p; i++)
        {
            innovation -= phi[i] * r[i + 1];
            forecast += phi[i] * z[z.Length - 1 - i];
        }
        var expected = median + forecast;
        var residualSigma = Math.Sqrt(Math.Max(innovation, 0));
        return (expected, (x - expected) / Math.Max(Math.Max(residualSigma, Floor(expected)), _levelSigma));
    }

    // The sustained detector's scales: the long one, then the short one (0: none).
    private int SustainedScale(int scale) => scale == 0 ? _settings.SustainedPoints : _settings.SustainedShortPoints;

    // The volatility detector's baseline and clip band at the last full judgement (for the pre-screen).
    private (MeansBaseline Baseline, (double Lo, double Hi) Band) _volatility;
    private double[] _stepSizes = [];

    /// <summary>The mean size of the last <see cref="EnsembleSettings.VolatilityPoints"/> steps
    /// (|y[i] - y[i-1]|, clipped to their own robust 5-sigma band) against every such mean earlier
    /// in the window, as the sustained detector judges means of values, record bound included:
    /// a metric that became jumpier (jitter, flapping, an oscillation starting) at the same level.
    /// Only jumpier counts (a calmer spell is no alarm; a value held still is the flatline's).</summary>
    private (double, double) Volatility(ReadOnlySpan<double> y)
    {
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
        var (median, z) = Sustained(Clip(d, band, d), m, out var baseline);
        _volatility = (baseline, band);
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
    /// shows, held for a while, stands out. The scale that deviates most is reported.</summary>
    private (double, double) Sustained(ReadOnlySpan<double> y)
    {
        var best = (y[^1], double.NaN);
        var clipped = Clip(y, ClipBand(_past.Median, _past.Sigma), _clipped);
        for (var scale = 0; scale < 2; scale++)
        {
            var m = SustainedScale(scale);
            if (m == 0)
            {
                continue;
            }
            var found = Sustained(clipped, m, out _means[scale]);
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
            means[j] = VectorSum(y.Slice(j * stride, m)) / m;
        }
        var recent = VectorSum(y[^m..]) / m;
        var (median, q01, q99) = Selection.MedianAndTails(means, Rank(means, 0.01), Rank(means, 0.99), _scratch);
        // Both sides' scales, for the pre-screen; the judgement uses the side the mean is on.
        var floor = Math.Max(Spread(means, median), _levelSigma);
        baseline = new MeansBaseline(median, Math.Max(floor, (q99 - median) / Q99Sigma), Math.Max(floor, (median - q01) / Q99Sigma));
        // A recent mean the window's earlier means already reached is no news either.
        return (median, BoundByRecord((recent - median) / (recent >= median ? baseline.Up : baseline.Down), means, recent, median));
    }

    /// <summary>Solves the p x p system by Gaussian elimination with partial pivoting (in place).</summary>
    private static bool Solve(Span<double> a, Span<double> b, Span<double> x, int p)
    {
        for (var c = 0; c < p; c++)
        {
            var pivot = c;
            for (var r = c + 1; r < p; r++)
            {
                if (Math.Abs(a[(r * p) + c]) > Math.Abs(a[(pivot * p) + c]))
                {
                    pivot = r;
                }
            }
            if (Math.Abs(a[(pivot * p) + c]) < 1e-12)
            {
                return false;
            }
            if (pivot != c)
            {
                for (var k = 0; k < p; k++)
                {
                    (a[(c * p) + k], a[(pivot * p) + k]) = (a[(pivot * p) + k], a[(c * p) + k]);
                }
                (b[c], b[pivot]) = (b[pivot], b[c]);
            }
            for (var r = c + 1; r < p; r++)
            {
                var f = a[(r * p) + c] / a[(c * p) + c];
                for (var k = c; k < p; k++)
                {
                    a[(r * p) + k] -= f * a[(c * p) + k];
                }
                b[r] -= f * b[c];
            }
        }
        for (var r = p - 1; r >= 0; r--)
        {
            var s = b[r];
            for (var k = r + 1; k < p; k++)
            {
                s -= a[(r * p) + k] * x[k];
            }
            x[r] = s / a[(r * p) + r];
        }
        return true;
    }

    // ---- seasonality and drift from the roll-ups --------------------------------------------------

    /// <summary>The seasonal period (seconds) to judge against: from metadata, or detected as a lag
    /// (one day, one week) at which the roll-ups correlate strongly with themselves.</summary>
    public long SeasonalPeriod(RollupHistory history, SeasonalityMode mode)
    {
        const long day = 86400, week = 7 * day;
        var slotsPerDay = day / history.SlotSeconds;
        switch (mode)
        {
            case SeasonalityMode.None:
                return 0;
            case SeasonalityMode.Daily:
                return history.Count >= 2 * slotsPerDay ? day : 0;
            case SeasonalityMode.Weekly:
                return history.Count >= WeeklyMinSlots(slotsPerDay) ? week : 0;
        }
        if (history.Count < 3 * slotsPerDay)
        {
            return 0;
        }
        // Around a centred one-day mean: a slow trend (a disk filling) correlates with itself at
        // any lag and is not a cycle; what is left after the day's mean is removed is.
        var cycles = Detrended(history.Slots, (int)slotsPerDay);
        var daily = Autocorrelation(cycles, (int)slotsPerDay);
        var weekly = history.Count >= WeeklyMinSlots(slotsPerDay) ? Autocorrelation(cycles, (int)(7 * slotsPerDay)) : double.NaN;
        if (weekly >= _settings.SeasonalCorrelation && !(daily >= weekly - 0.1))
        {
            return week;
        }
        return daily >= _settings.SeasonalCorrelation ? day : 0;
    }

    private float[] _cycles = [];

    /// <summary>Each slot minus the mean of the <paramref name="span"/> slots centred on it (empty
    /// slots skipped); NaN where that window is not whole or the slot is empty.</summary>
    private ReadOnlySpan<float> Detrended(ReadOnlySpan<float> slots, int span)
    {
        if (_cycles.Length < slots.Length)
        {
            _cycles = new float[slots.Length];
        }
        var result = _cycles.AsSpan(0, slots.Length);
        result.Fill(float.NaN);
        var half = span / 2;
        double sum = 0;
        var count = 0;
        for (var i = 0; i < slots.Length; i++)
        {
            // The window [i - span + 1, i] is centred on slot i - (span - half - 1).
            if (!float.IsNaN(slots[i]))
            {
                sum += slots[i];
                count++;
            }
            var leaving = i - span;
            if (leaving >= 0 && !float.IsNaN(slots[leaving]))
            {
                sum -= slots[leaving];
                count--;
            }
            var centre = i - (span - half - 1);
            if (i >= span - 1 && count > span / 2 && !float.IsNaN(slots[centre]))
            {
                result[centre] = (float)(slots[centre] - (sum / count));
            }
        }
        return result;
    }

    // A week and two days: enough pairs at the week lag. (Two full weeks is more than a 14-day
    // history holds for long, as it drops its oldest quarter when full.)
    private static long WeeklyMinSlots(long slotsPerDay) => 9 * slotsPerDay;

    /// <summary>Pearson correlation of the slot series with itself <paramref name="lag"/> slots later (empty slots skipped).</summary>
    public static double Autocorrelation(ReadOnlySpan<float> slots, int lag)
    {
        double sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;
        var n = 0;
        for (var i = lag; i < slots.Length; i++)
        {
            double a = slots[i - lag], b = slots[i];
            if (double.IsNaN(a) || double.IsNaN(b))
            {
                continue;
            }
            n++;
            sx += a;
            sy += b;
            sxx += a * a;
            syy += b * b;
            sxy += a * b;
        }
        if (n < 10)
        {
            return double.NaN;
        }
        var cov = sxy - (sx * sy / n);
        var varX = sxx - (sx * sx / n);
        var varY = syy - (sy * sy / n);
        return varX > 0 && varY > 0 ? cov / Math.Sqrt(varX * varY) : double.NaN;
    }

    private double[] _recent = [];

    /// <summary>The last points' residuals from their seasonal baselines, in place, as
    /// <see cref="Deseasonalise"/> computes them for the newest points (periods before only);
    /// false when a slot has too few periods to tell.</summary>
    private static bool Residuals(ReadOnlySpan<long> timestamps, Span<double> values, RollupHistory history, long period)
    {
        var baselines = new SlotBaselines(history, period, forward: false, stackalloc double[4]);
        for (var i = 0; i < values.Length; i++)
        {
            var baseline = baselines.At(timestamps[i]);
            if (double.IsNaN(baseline))
            {
                return false;
            }
            values[i] -= baseline;
        }
        return true;
    }

    /// <summary>The seasonal baseline of each point's slot, for ascending timestamps: the median of
    /// the same slot up to four periods before, completed (<c>forward</c>) by periods after it that
    /// the history has closed; NaN with fewer than two (one for a weekly period). A slot's baseline
    /// is found once for all its points, and moving to the next slot takes no division.</summary>
    private ref struct SlotBaselines(RollupHistory history, long period, bool forward, Span<double> same)
    {
        private readonly Span<double> _same = same;
        private readonly ReadOnlySpan<float> _slots = history.Slots;
        private readonly long _first = history.FirstSlot;
        private readonly long _seconds = history.SlotSeconds;
        private readonly long _back = period / history.SlotSeconds;
        private readonly int _need = period >= 7 * 86400 ? 1 : 2;
        private long _slot = long.MinValue;
        private long _start, _end; // the current slot's time range (none yet)
        private double _baseline = double.NaN;

        /// <summary>Where the slot of the last <see cref="At"/> ends.</summary>
        public readonly long End => _end;

        public double At(long t)
        {
            if (t >= _start && t < _end)
            {
                return _baseline;
            }
            _slot = t >= _end && t < _end + _seconds && _slot != long.MinValue ? _slot + 1 : history.SlotOf(t);
            _start = _slot * _seconds;
            _end = _start + _seconds;
            _baseline = Find(_slot - _first);
            return _baseline;
        }

        private readonly double Find(long at)
        {
            var count = 0;
            for (var k = 1; k <= _same.Length; k++)
            {
                var j = at - (k * _back);
                if ((ulong)j < (ulong)_slots.Length && !float.IsNaN(_slots[(int)j]))
                {
                    _same[count++] = _slots[(int)j];
                }
            }
            // A point early in the window has few periods before it in the history, but closed slots
            // after it (all before the judged point): they complete its baseline, so old residuals are
            // as steady as recent ones and do not widen the spread judged against.
            for (var k = 1; forward && k <= _same.Length && count < _same.Length; k++)
            {
                var j = at + (k * _back);
                if ((ulong)j < (ulong)_slots.Length && !float.IsNaN(_slots[(int)j]))
                {
                    _same[count++] = _slots[(int)j];
                }
            }
            return count < _need ? double.NaN : MedianOfFew(_same[..count]);
        }
    }

    // The median of one to four values without branching on them (sorting four random values
    // mispredicts most of its comparisons, and a seasonal judgement takes one such median per slot).
    // Each middle value is the same operand the sorted order would give, so the result is identical.
    private static double MedianOfFew(ReadOnlySpan<double> s) => s.Length switch
    {
        1 => s[0],
        2 => (Math.Min(s[0], s[1]) + Math.Max(s[0], s[1])) / 2,
        3 => Math.Max(Math.Min(s[0], s[1]), Math.Min(Math.Max(s[0], s[1]), s[2])),
        _ => (Math.Max(Math.Min(s[0], s[1]), Math.Min(s[2], s[3])) + Math.Min(Math.Max(s[0], s[1]), Math.Max(s[2], s[3]))) / 2,
    };

    // The median of a few values, sorting them in place.
    private static double SortedMedian(Span<double> s)
    {
        // Insertion sort: these are a handful of values (Span.Sort costs more than the sorting here).
        for (var i = 1; i < s.Length; i++)
        {
            var v = s[i];
            var j = i - 1;
            for (; j >= 0 && s[j] > v; j--)
            {
                s[j + 1] = s[j];
            }
            s[j + 1] = v;
        }
        return s.Length % 2 == 1 ? s[s.Length / 2] : (s[(s.Length / 2) - 1] + s[s.Length / 2]) / 2;
    }

    /// <summary>y = value minus the median of the same slot one, two, ... periods before (up to 4),
    /// completed for older points by the same slot one, two, ... periods after them where the
    /// history has closed it (the judged point's open slot never: it has only the periods before);
    /// false when the judged point has fewer than two such slots (one for a weekly period, which a
    /// two-week history holds only once).</summary>
    private static bool Deseasonalise(ReadOnlySpan<long> timestamps, ReadOnlySpan<double> values, RollupHistory history, long period, Span<double> y)
    {
        var baselines = new SlotBaselines(history, period, forward: true, stackalloc double[4]);
        var baseline = double.NaN;
        var known = false;
        for (var i = 0; i < values.Length;)
        {
            var found = baselines.At(timestamps[i]);
            known = !double.IsNaN(found);
            // A slot without enough history keeps the last known baseline.
            baseline = known ? found : baseline;
            // The slot's points, in a loop of their own (no test of the slot per point).
            var end = i + 1;
            while (end < values.Length && timestamps[end] < baselines.End)
            {
                end++;
            }
            for (; i < end; i++)
            {
                y[i] = values[i] - baseline;
            }
        }
        if (!known)
        {
            return false;
        }
        // Points before the first known baseline take the first one.
        var first = 0;
        while (double.IsNaN(y[first]))
        {
            first++;
        }
        for (var i = 0; i < first; i++)
        {
            y[i] = values[i] - (values[first] - y[first]);
        }
        return true;
    }

    /// <summary>
    /// How many of the previous days show an excursion like this one (same direction, comparable
    /// size) at the same time of day, within a few roll-up slots: a batch job at 01:00 every day
    /// is normal even when the series is too noisy, or the job too short, for the day-lag
    /// correlation to call the metric seasonal. 0 unless it recurs on at least two days and on at
    /// least half of the days held.
    /// </summary>
    private int Recurrence(ReadOnlySpan<long> timestamps, RollupHistory history, double excess)
    {
        var span = timestamps[^1] - timestamps[0];
        if (span <= 0 || excess == 0)
        {
            return 0;
        }
        // A slot mean dilutes a short excursion over the points of its slot; noise shrinks likewise.
        var perSlot = Math.Max(1.0, history.SlotSeconds / (span / (double)(timestamps.Length - 1)));
        var need = Math.Max(0.5 * Math.Abs(excess) / perSlot, 3 * _past.Sigma / Math.Sqrt(perSlot));
        var direction = Math.Sign(excess);
        var slotsPerDay = 86400 / history.SlotSeconds;
        var slot = history.SlotOf(timestamps[^1]);
        int held = 0, recurring = 0;
        for (var day = 1; day <= _settings.RecurrenceDays; day++)
        {
            var centre = slot - (day * slotsPerDay);
            if (centre + _settings.RecurrenceSlots < history.FirstSlot)
            {
                break;
            }
            var best = double.NegativeInfinity;
            for (var j = -_settings.RecurrenceSlots; j <= _settings.RecurrenceSlots; j++)
            {
                var v = history.At(centre + j);
                if (!float.IsNaN(v))
                {
                    best = Math.Max(best, direction * (v - _past.Median));
                }
            }
            if (best > double.NegativeInfinity)
            {
                held++;
                recurring += best >= need ? 1 : 0;
            }
        }
        return recurring >= 2 && 2 * recurring >= held ? recurring : 0;
    }

    /// <summary>A slow trend: the median of the last quarter of the roll-ups against the first
    /// quarter, in robust sigmas of the quarters' own spread; with a capacity, when it is reached.</summary>
    private DriftFinding? Drift(RollupHistory history, double last, MetricMetadata metadata)
    {
        if (history.Days < _settings.DriftMinDays)
        {
            return null;
        }
        if (history.CachedDriftAt != history.EndSlot)
        {
            history.CachedDriftAt = history.EndSlot;
            history.CachedDrift = DriftStatistics(history);
        }
        var (m1, m2, z) = history.CachedDrift;
        if (!(Math.Abs(z) >= _settings.DriftZ))
        {
            return null;
        }
        // Quarters' centres are 3/4 of the history apart.
        var slopePerDay = (m2 - m1) / (0.75 * history.Days);
        var level = double.IsFinite(last) ? last : m2;
        // A drift has a non-zero slope; it reaches the capacity only when heading towards it.
        double? eta = null;
        if (metadata.Capacity is { } capacity)
        {
            var left = capacity - level;
            eta = left == 0 ? 0 : Math.Sign(left) == Math.Sign(slopePerDay) ? left / slopePerDay * 86400 : null;
        }
        return new DriftFinding(slopePerDay, z, level, eta);
    }

    private (double First, double Recent, double Z) DriftStatistics(RollupHistory history)
    {
        var slots = history.Slots;
        var quarter = slots.Length / 4;
        Ensure(slots.Length);
        var first = Known(slots[..quarter], _y);
        var recent = Known(slots[^quarter..], _steps);
        if (first.Length < quarter / 2 || recent.Length < quarter / 2)
        {
            return (double.NaN, double.NaN, double.NaN);
        }
        var (m1, s1) = Robust(first);
        var (m2, s2) = Robust(recent);
        return (m1, m2, (m2 - m1) / Math.Sqrt((s1 * s1) + (s2 * s2)));
    }

    private static Span<double> Known(ReadOnlySpan<float> slots, double[] into)
    {
        var n = 0;
        foreach (var v in slots)
        {
            if (!float.IsNaN(v))
            {
                into[n++] = v;
            }
        }
        return into.AsSpan(0, n);
    }
}
