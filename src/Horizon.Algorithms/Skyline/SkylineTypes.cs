using System.Runtime.CompilerServices;

namespace Horizon.Algorithms.Skyline;

/// <summary>Skyline's nine algorithms, in settings.py's order.</summary>
public enum SkylineAlgorithm : byte
{
    FirstHourAverage,
    MeanSubtractionCumulation,
    StddevFromAverage,
    StddevFromMovingAverage,
    LeastSquares,
    Grubbs,
    HistogramBins,
    MedianAbsoluteDeviation,
    KsTest,
}

/// <summary>What one algorithm returned.</summary>
public enum Vote : byte
{
    /// <summary>False.</summary>
    No,

    /// <summary>True: the series looks anomalous to this algorithm.</summary>
    Yes,

    /// <summary>median_absolute_deviation fell off its end and returned None.</summary>
    NoneReturned,

    /// <summary>The algorithm raised (adfuller on a short reference); the whole ensemble is void.</summary>
    Error,

    /// <summary>Not run: enough algorithms had already voted no that the consensus was out of
    /// reach (<see cref="SkylineSettings.StopWhenDecided"/>).</summary>
    NotRun,
}

/// <summary>Why run_selected_algorithm skipped a series before voting (the exceptions it raises).</summary>
public enum SkipReason : byte
{
    None,
    TooShort,
    Stale,
    Boring,
}

/// <summary>Names used in logs, JSON and metrics.</summary>
public static class SkylineNames
{
    /// <summary>Number of algorithms.</summary>
    public const int Count = 9;

    private static readonly string[] Names =
    [
        "first_hour_average", "mean_subtraction_cumulation", "stddev_from_average", "stddev_from_moving_average",
        "least_squares", "grubbs", "histogram_bins", "median_absolute_deviation", "ks_test",
    ];

    /// <summary>Skyline's function name.</summary>
    public static string Name(this SkylineAlgorithm algorithm) => Names[(int)algorithm];

    /// <summary>The algorithm with that Skyline name.</summary>
    public static bool TryParse(string name, out SkylineAlgorithm algorithm)
    {
        var i = Array.IndexOf(Names, name);
        algorithm = (SkylineAlgorithm)Math.Max(i, 0);
        return i >= 0;
    }

    /// <summary>Lower-case label of an exception.</summary>
    public static string Label(this SkipReason exception) => exception switch
    {
        SkipReason.TooShort => "too_short",
        SkipReason.Stale => "stale",
        SkipReason.Boring => "boring",
        _ => "none",
    };
}

/// <summary>Skyline's analyzer settings, with settings.py.example's defaults.</summary>
public sealed record SkylineSettings
{
    /// <summary>FULL_DURATION, seconds.</summary>
    public long FullDuration { get; init; } = 86400;

    /// <summary>CONSENSUS: yes votes needed.</summary>
    public int Consensus { get; init; } = 6;

    /// <summary>STALE_PERIOD, seconds.</summary>
    public long StalePeriod { get; init; } = 500;

    /// <summary>MIN_TOLERABLE_LENGTH.</summary>
    public int MinTolerableLength { get; init; } = 1;

    /// <summary>MAX_TOLERABLE_BOREDOM: how many of the last values are checked for boredom.</summary>
    public int MaxTolerableBoredom { get; init; } = 100;

    /// <summary>BOREDOM_SET_SIZE: a series is boring when its last values hold exactly this many distinct values.</summary>
    public int BoredomSetSize { get; init; } = 1;

    /// <summary>ALGORITHMS, in order, by Skyline's function names.</summary>
    public IReadOnlyList<string> Algorithms
    {
        get => _algorithms;
        init
        {
            _algorithms = value;
            _selected = null; // a 'with' copy must not keep the parsed list of the original
        }
    }

    private readonly IReadOnlyList<string> _algorithms = [.. Enum.GetValues<SkylineAlgorithm>().Select(a => a.Name())];

    /// <summary>The configured algorithms.</summary>
    public IReadOnlyList<SkylineAlgorithm> Selected => _selected ??= [.. Algorithms.Select(Parse)];

    private SkylineAlgorithm[]? _selected;

    private static SkylineAlgorithm Parse(string name) => SkylineNames.TryParse(name, out var a) ? a
        : throw new ArgumentException($"Analyzer:Skyline:Algorithms: unknown algorithm '{name}'.");

    /// <summary>Count median_absolute_deviation's None as a yes vote, as the original code does
    /// (it counts results that are not False). Off by default: None is no vote, as the code's
    /// comment intended.</summary>
    public bool MadNoneCountsAsYes { get; init; }

    /// <summary>Whether a vote counts towards CONSENSUS.</summary>
    public bool CountsAsYes(Vote vote) => vote == Vote.Yes || (vote == Vote.NoneReturned && MadNoneCountsAsYes);

    /// <summary>Whether a vote counts against CONSENSUS (an error or an algorithm not run is neither).</summary>
    public bool CountsAsNo(Vote vote) => vote == Vote.No || (vote == Vote.NoneReturned && !MadNoneCountsAsYes);

    /// <summary>Run the cheap algorithms first and stop once so many have voted no that CONSENSUS
    /// cannot be reached. The verdict is the one of running all nine (the algorithms are pure and
    /// a series that cannot reach CONSENSUS is not anomalous, raised or not); what changes is
    /// that the algorithms not run cast no vote (<see cref="Vote.NotRun"/>), so per-algorithm yes
    /// counts and errored ensembles cover only what ran. Off reproduces Skyline's full ensemble
    /// for every series.</summary>
    public bool StopWhenDecided { get; init; } = true;

    /// <summary>Fails fast on settings that cannot work.</summary>
    public void Validate()
    {
        _ = Selected;
        if (Algorithms.Count == 0 || Consensus < 1 || Consensus > Algorithms.Count)
        {
            throw new ArgumentException("Analyzer:Skyline: CONSENSUS must be between 1 and the number of algorithms.");
        }
        if (FullDuration < 60 || StalePeriod < 0 || MinTolerableLength < 0 || MaxTolerableBoredom < 1 || BoredomSetSize < 1)
        {
            throw new ArgumentException("Analyzer:Skyline: FULL_DURATION must be at least 60 seconds and the other settings positive.");
        }
    }
}

/// <summary>One vote per algorithm, indexed by <see cref="SkylineAlgorithm"/>.</summary>
[InlineArray(SkylineNames.Count)]
public struct VoteSet
{
    private Vote _element;
}

/// <summary>The analyzer's judgement of one series.</summary>
public struct SkylineVerdict
{
    /// <summary>Why the series was skipped (Skyline raises TooShort, Stale, Boring), if it was.</summary>
    public SkipReason Skipped;

    /// <summary>Each configured algorithm's vote (others stay No).</summary>
    public VoteSet Votes;

    /// <summary>Yes votes as counted by the configured mode.</summary>
    public int YesVotes;

    /// <summary>At least CONSENSUS votes, and no algorithm raised.</summary>
    public bool Anomalous;

    /// <summary>An algorithm raised; Skyline then reports "not anomalous" with an empty ensemble.</summary>
    public bool Errored;
}
