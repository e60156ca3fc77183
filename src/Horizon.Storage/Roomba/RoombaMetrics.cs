using Prometheus;

namespace Horizon.Storage;

/// <summary>Roomba's collectors. Created on the host's registry (one per host, so that several hosts can share a
/// process in tests); the help text of each collector documents it.</summary>
public sealed class RoombaMetrics
{
    /// <summary>Creates the collectors on <paramref name="registry"/>.</summary>
    public RoombaMetrics(CollectorRegistry registry)
    {
        var f = Prometheus.Metrics.WithCustomRegistry(registry);
        Runs = f.CreateCounter("horizon_roomba_runs_total", "Roomba passes over every series.");
        Duration = f.CreateGauge("horizon_roomba_last_run_seconds", "Duration of the last Roomba pass.");
        KeysScanned = f.CreateCounter("horizon_roomba_keys_scanned_total", "Series keys examined by Roomba.");
        KeysTrimmed = f.CreateCounter("horizon_roomba_keys_trimmed_total", "Series keys rewritten without their expired or duplicate points.");
        KeysDeleted = f.CreateCounter("horizon_roomba_keys_deleted_total", "Series keys deleted because they went silent for longer than FULL_DURATION.");
        PointsRemoved = f.CreateCounter("horizon_roomba_points_removed_total", "Points removed by Roomba (expired, duplicate timestamps, corrupt tails).");
        Corrupt = f.CreateCounter("horizon_roomba_keys_corrupt_total", "Series keys whose bytes were not valid msgpack points past some offset.");
        IndexRepaired = f.CreateCounter("horizon_roomba_index_repaired_total", "Series keys found holding points but missing from metrics.unique_metrics (after a crash), and added to it.");
        Conflicts = f.CreateCounter("horizon_roomba_conflicts_total", "Trims skipped because the key was rewritten by someone else meanwhile (retried next pass).");
    }

#pragma warning disable CS1591 // the help text of each collector documents it
    public Counter Runs { get; }
    public Gauge Duration { get; }
    public Counter KeysScanned { get; }
    public Counter KeysTrimmed { get; }
    public Counter KeysDeleted { get; }
    public Counter PointsRemoved { get; }
    public Counter Corrupt { get; }
    public Counter IndexRepaired { get; }
    public Counter Conflicts { get; }
#pragma warning restore CS1591
}
