namespace Horizon.Algorithms.Detection;

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
    /// least doubles. 60: ten minutes at 10 s, five hours at 5 minutes.</summary>
    public int Refractory { get; init; } = 60;

    /// <summary>Points of the recent window the regression line is fitted to.</summary>
    public int RegressionPoints { get; init; } = 120;

    /// <summary>Order of the autoregressive model.</summary>
    public int ArOrder { get; init; } = 3;

    /// <summary>Points the sustained detector averages: the judged one and those just before it
    /// (24: four minutes at 10 s, two hours at 5 minutes).</summary>
    public int SustainedPoints { get; init; } = 24;

    /// <summary>A second, shorter span the sustained detector averages too (0: none); the span that
    /// deviates more is reported.</summary>
    public int SustainedShortPoints { get; init; } = 6;

    /// <summary>In the <see cref="Combination.Gate"/>, a sustained shift is reported on its own, its
    /// score scaled by this (0.65: about 4.8 robust sigmas of the means pass the 0.29 threshold), so
    /// a shift no single point shows is found without the level's say (docs/DETECTION.md has why 0.65).</summary>
    public double SustainedWeight { get; init; } = 0.65;

    /// <summary>Steps (point to point) the volatility detector averages: the last ones against
    /// every such mean in the window (24: four minutes at 10 s, two hours at 5 minutes). Its score
    /// counts like the sustained one's, times <see cref="SustainedWeight"/>. 0: off.</summary>
    public int VolatilityPoints { get; init; } = 24;

    /// <summary>Points the step (change) and Holt-Winters detectors look back over.</summary>
    public int RecentPoints { get; init; } = 360;

    /// <summary>Beyond the record (a value further out than anything in the window and its roll-ups),
    /// where the window's tail on that side is this many times heavier than a normal one (the mean
    /// excess over its top 1 %, their two largest left out, against a normal tail's through the same
    /// point), the deviation is at
    /// most what an exponential tail fitted to those exceedances makes of the value. 0: the fitted
    /// scale alone decides, as before.</summary>
    public double TailHeaviness { get; init; } = 2;

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

    /// <summary>Previous days searched for the same excursion at the same time of day (0: no recurrence check).</summary>
    public int RecurrenceDays { get; init; } = 7;

    /// <summary>Roll-up slots either side of the same time of day that count as "the same time"
    /// (3: half an hour either way at 10-minute slots; a daily job drifts by that much).</summary>
    public int RecurrenceSlots { get; init; } = 3;

    /// <summary>Factor applied to the score of an excursion that recurs daily at this time.</summary>
    public double RecurrenceDamping { get; init; } = 0.25;

    /// <summary>Seconds a value must be held exactly before it can be a flatline: held longer than any
    /// run of one value in the metric's roll-ups (which must cover two days before it), and, for a
    /// value the metric rests at between bursts, rarer than one in 10^9 at the rate its points left
    /// it before, it is reported once, with score 1, on the first judgement that finds it past that
    /// record (0: no flatline check).</summary>
    public double FlatlineMinSeconds { get; init; } = 3600;

    /// <summary>Whether a metric whose window looks like a raw counter (only grows, restarts from near
    /// zero) is judged on its increase per point rather than its value.</summary>
    public bool CounterRates { get; init; } = true;

    /// <summary>Judgements for which a metric's last full baseline serves the pre-screen (0: no pre-screen).</summary>
    public int ScreenPoints { get; init; } = 30;

    /// <summary>The sampling interval (seconds) the threshold is calibrated at: NAB's 5 minutes, where
    /// it was chosen. A metric sampled more often is judged proportionally more often a day, so each
    /// deviation's two-sided normal tail probability is multiplied by this over the metric's interval
    /// before it is scored: a 10-second metric then raises about as many false alarms a day as a
    /// 5-minute one (30 times fewer than with the threshold alone). Coarser metrics are judged as at
    /// this interval; 0: off.</summary>
    public double CalibrationSeconds { get; init; } = 300;

    /// <summary>Detectors in the default set: the level, the autoregressive forecast, the sustained
    /// shift and the volatility. Holt-Winters, change and regression stay available (this setting, or
    /// metadata <c>detectors</c>); docs/DETECTION.md has why they are not in the default set
    /// (Holt-Winters: it does not pay for itself with categories held out).</summary>
    public IReadOnlyList<Detector> Detectors { get; init; } = [Detector.Level, Detector.AutoRegressive, Detector.Sustained, Detector.Volatility];

    /// <summary>Throws when the settings cannot work, naming them.</summary>
    public void Validate()
    {
        if (Window < MinPoints || MinPoints < 10 || ArOrder is < 1 or > 8
            || SustainedPoints < 2 || SustainedShortPoints is 1 or < 0 || SustainedWeight is < 0 or > 1
            || VolatilityPoints is 1 or < 0 || !(TailHeaviness >= 0))
        {
            throw new ArgumentException("Ensemble: Window must be at least MinPoints, MinPoints at least 10, ArOrder 1-8, SustainedPoints at least 2, SustainedShortPoints and VolatilityPoints 0 or at least 2, SustainedWeight 0-1, TailHeaviness 0 or more.");
        }
    }
}
