namespace Horizon.Core.Series;

/// <summary>Skyline's series settings, with Skyline's defaults.</summary>
public sealed record SeriesOptions
{
    /// <summary>Prefix of every series key (Skyline's FULL_NAMESPACE).</summary>
    public string FullNamespace { get; init; } = StoreKeys.DefaultNamespace;

    /// <summary>How much history each series keeps, in seconds (Skyline's FULL_DURATION, 86400).</summary>
    public long FullDuration { get; init; } = 86400;

    /// <summary>Points older than this many seconds are dropped on arrival (Skyline's MAX_RESOLUTION, 1000).</summary>
    public long MaxResolution { get; init; } = 1000;

    /// <summary>Points more than this many seconds in the future are dropped on arrival (clock skew allowance).</summary>
    public long FutureTolerance { get; init; } = 60;

    /// <summary>Names containing any of these (or matching them, for globs with * or ?) are not stored (Skyline's SKIP_LIST).</summary>
    public IReadOnlyList<string> SkipList { get; init; } = [];

    /// <summary>Bound on distinct metric names held in memory (a flood of new names is refused beyond it).</summary>
    public int MaxMetrics { get; init; } = 5_000_000;

    /// <summary>The set of every series key (Skyline's FULL_NAMESPACE + "unique_metrics").</summary>
    public string UniqueMetricsKey => StoreKeys.UniqueMetrics(FullNamespace);

    /// <summary>How names are indexed: Skyline's one set (the default, what Skyline-era tools read),
    /// Split (64 sets, for Redis Cluster or millions of names), or Both. Every process on a store
    /// must use the same.</summary>
    public NameIndexMode NameIndex { get; init; } = NameIndexMode.Skyline;

    /// <summary>The name index these settings describe.</summary>
    public NameIndex Names() => new(FullNamespace, NameIndex);

    /// <summary>Fails fast on settings that cannot work.</summary>
    public void Validate()
    {
        if (FullDuration < 60)
        {
            throw new ArgumentException("Series:FullDuration must be at least 60 seconds.");
        }
        if (MaxResolution < 1 || FutureTolerance < 0)
        {
            throw new ArgumentException("Series:MaxResolution must be positive and Series:FutureTolerance not negative.");
        }
        if (MaxMetrics < 1)
        {
            throw new ArgumentException("Series:MaxMetrics must be positive.");
        }
    }
}
