namespace Horizon.Algorithms.Detection;

/// <summary>Horizon's detectors (beyond Skyline's nine algorithms).</summary>
public enum Detector : byte
{
    /// <summary>The value against robust, distribution-aware bounds of the recent window (median, MAD, tail quantiles).</summary>
    Level,

    /// <summary>The step from the previous value against the robust spread of recent steps.</summary>
    Change,

    /// <summary>The value against a Holt(-Winters) forecast with Brutlag's deviation band.</summary>
    HoltWinters,

    /// <summary>The value against a least-squares line through the recent window.</summary>
    Regression,

    /// <summary>The value against a one-step AR(p) forecast fitted to the window (ARIMA-style).</summary>
    AutoRegressive,

    /// <summary>The mean of the last few points against the spread of such means over the window:
    /// a shift too small for any one point to stand out, held for a while.</summary>
    Sustained,

    /// <summary>The mean size of the last few steps (point to point) against the spread of such
    /// means over the window: a metric that became jumpier without moving its level.</summary>
    Volatility,
}

/// <summary>Detector names as configuration, metadata and output spell them.</summary>
public static class DetectorNames
{
    private static readonly string[] Names = ["level", "change", "holt_winters", "regression", "autoregressive", "sustained", "volatility"];

    /// <summary>Number of detectors.</summary>
    public const int Count = 7;

    /// <summary>Every name, in enum order.</summary>
    public static IReadOnlyList<string> All => Names;

    /// <summary>The name of a detector.</summary>
    public static string Name(this Detector detector) => Names[(int)detector];

    /// <summary>Parses a name (case-insensitive).</summary>
    public static bool TryParse(string name, out Detector detector)
    {
        var i = Array.FindIndex(Names, n => string.Equals(n, name, StringComparison.OrdinalIgnoreCase));
        detector = (Detector)Math.Max(i, 0);
        return i >= 0;
    }
}

/// <summary>One detector's view of the judged point (in words: <see cref="Reasons"/>).</summary>
public readonly record struct DetectorScore(Detector Detector, double Score, double Expected, double Deviation)
{
    /// <summary>Why, in words (<see cref="Reasons.Of(DetectorScore, string?)"/>).</summary>
    public string Reason(string? unit) => Reasons.Of(this, unit);
}

/// <summary>A slow trend over the long-term history, and when it reaches the metric's capacity.</summary>
public readonly record struct DriftFinding(double SlopePerDay, double TrendZ, double Level, double? SecondsToCapacity);

/// <summary>A value held exactly for longer than any run of one value in the metric's roll-ups: a
/// stuck gauge, a counter or a disk that stopped moving. <see cref="Crossed"/> is true on the first
/// judgement that finds the run past the record (the one that is reported).</summary>
public readonly record struct FlatlineFinding(double Value, double Seconds, double RecordSeconds, bool Crossed);

/// <summary>The ensemble's verdict on the last point of a series.</summary>
public sealed class Judgement
{
    private readonly DetectorScore[] _scores = new DetectorScore[DetectorNames.Count];

    /// <summary>Combined anomaly score in [0, 1].</summary>
    public double Score { get; internal set; }

    /// <summary>The combined score before the novelty filter.</summary>
    public double RawScore { get; internal set; }

    /// <summary>Whether the score reached the ensemble threshold.</summary>
    public bool Anomalous { get; internal set; }

    /// <summary>Whether the point was judged against a seasonal baseline, and which period (seconds; 0: none).</summary>
    public long SeasonalPeriod { get; internal set; }

    /// <summary>How many times as often as at <see cref="EnsembleSettings.CalibrationSeconds"/> the metric
    /// is judged (1: not more often): its deviations were scored by their rarity per day at that rate.</summary>
    public double JudgementRate { get; internal set; } = 1;

    /// <summary>Previous days on which a like excursion happened at the same time of day (0: not recurring); a recurring one is damped.</summary>
    public int RecurringDays { get; internal set; }

    /// <summary>Whether the metric was judged as a counter, on its increases per point (<see cref="EnsembleSettings.CounterRates"/>).</summary>
    public bool Counter { get; internal set; }

    /// <summary>Whether the pre-screen judged the point (close to the last baseline: no detector ran).</summary>
    public bool Screened { get; internal set; }

    /// <summary>The slow-drift finding, if the long-term history shows one.</summary>
    public DriftFinding? Drift { get; internal set; }

    /// <summary>The flatline finding, if the metric holds one value longer than ever in its roll-ups.</summary>
    public FlatlineFinding? Flatline { get; internal set; }

    /// <summary>Number of detectors that ran.</summary>
    public int Count { get; internal set; }

    /// <summary>The detectors that ran, in enum order.</summary>
    public ReadOnlySpan<DetectorScore> Scores => _scores.AsSpan(0, Count);

    internal void Reset()
    {
        Score = 0;
        RawScore = 0;
        Anomalous = false;
        SeasonalPeriod = 0;
        JudgementRate = 1;
        RecurringDays = 0;
        Screened = false;
        Counter = false;
        Drift = null;
        Flatline = null;
        Count = 0;
    }

    internal void Add(DetectorScore score) => _scores[Count++] = score;
}
