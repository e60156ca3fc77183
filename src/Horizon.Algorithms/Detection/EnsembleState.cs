namespace Horizon.Algorithms.Detection;

/// <summary>
/// Everything the ensemble remembers about one metric between judgements: its long-term roll-ups,
/// its recent scores (the novelty filter), the last full judgement's baseline (for the pre-screen),
/// and what it computed from the roll-ups that stays valid until a slot closes. One per metric;
/// the detector itself keeps nothing about any metric.
/// </summary>
public sealed class EnsembleState(RollupHistory? rollup = null, NoveltyFilter? novelty = null)
{
    private RollupHistory? _rollup = rollup;

    /// <summary>The state the analyzer keeps for a metric: a novelty filter as the settings describe,
    /// roll-ups once the series shows its sampling interval.</summary>
    public static EnsembleState For(EnsembleSettings settings) => new(null, NoveltyFilter.For(settings));

    /// <summary>The metric's long-term roll-ups (seasonality, drift, flatline, the level's older
    /// record), or null. Setting another one forgets what was computed from the previous.</summary>
    public RollupHistory? Rollup
    {
        get => _rollup;
        set
        {
            if (!ReferenceEquals(value, _rollup))
            {
                _rollup = value;
                Rollups = new RollupResults();
            }
        }
    }

    /// <summary>The metric's recent scores; null: scores are reported as they are, and the pre-screen
    /// is off.</summary>
    public NoveltyFilter? Novelty { get; } = novelty;

    /// <summary>The last full judgement's baseline, for the pre-screen.</summary>
    internal ScreenBaseline Screen { get; } = new();

    /// <summary>What was computed from the roll-ups.</summary>
    internal RollupResults Rollups { get; private set; } = new();
}

/// <summary>The last full judgement's baseline (of the residuals, for a seasonal metric): a point
/// within a margin of it cannot reach the threshold while it holds.</summary>
internal sealed class ScreenBaseline
{
    public double Median;
    public double Sigma;
    public readonly MeansBaseline[] Means = [MeansBaseline.None, MeansBaseline.None]; // the sustained detector's, per scale
    public MeansBaseline Steps = MeansBaseline.None; // the volatility detector's (means of step sizes)
    public (double Lo, double Hi) StepBand; // the band it clips step sizes to
    public int Age = int.MaxValue; // judgements since it was set
    public long Period; // the seasonal period it was judged with (0: none)
    public double Rate = 1; // the judgement rate its deviations were calibrated for
}

/// <summary>The sustained detector's baseline at one scale: the median of the window's means, and
/// the scale of a deviation above and below it (robust sigma or tail, whichever is larger).</summary>
internal readonly record struct MeansBaseline(double Median, double Up, double Down)
{
    public static readonly MeansBaseline None = new(double.NaN, double.NaN, double.NaN);
}

/// <summary>Results computed from a metric's roll-ups, each valid while no slot closes, and the
/// flatline's memory of the run of one value it last measured.</summary>
internal sealed class RollupResults
{
    public (long EndSlot, SeasonalityMode Mode) PeriodAt = (long.MinValue, SeasonalityMode.Auto);
    public long Period;
    public long DriftAt = long.MinValue;
    public (double First, double Recent, double Z) Drift;
    public (long FirstSlot, int Before, long Slots) FlatRecord = (long.MinValue, -1, 0);

    // The run of one value last measured, up to which timestamp every point was seen to hold it (so
    // a long run is not rescanned on every point), and the judgement of the run before that one (so
    // the run is reported on the first judgement that finds it past the record, and again if that
    // same point is judged again).
    public (double Value, long Start, long CheckedUntil, long PriorCheck) FlatRun = (double.NaN, 0, long.MinValue, long.MinValue);
}
