using Horizon.Core.Points;
using Prometheus;

namespace Horizon.Storage;

/// <summary>The series writer's collectors: what it stored and dropped, its batches, errors and buffers, and the embedded store's disk. Created on the host's registry (one per host, so that several hosts can share a
/// process in tests); the help text of each collector documents it.</summary>
public sealed class WriterMetrics
{
    private readonly CollectorRegistry _registry;

    /// <summary>Creates the collectors on <paramref name="registry"/>.</summary>
    public WriterMetrics(CollectorRegistry registry)
    {
        _registry = registry;
        var f = Prometheus.Metrics.WithCustomRegistry(registry);
        PointsStored = f.CreateCounter("horizon_points_stored_total", "Points acknowledged by the store, by listener.", "listener");
        PointsDropped = f.CreateCounter("horizon_points_dropped_total", "Accepted points that could not be stored, by listener and reason.", "listener", "reason");
        WriteBatches = f.CreateCounter("horizon_write_batches_total", "Pipelined write batches sent to the store.");
        WriteBatchPoints = f.CreateHistogram("horizon_write_batch_points", "Points per write batch.", new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(1, 4, 9) });
        WriteBatchKeys = f.CreateHistogram("horizon_write_batch_keys", "Distinct keys (APPEND commands) per write batch.", new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(1, 4, 9) });
        WriteDuration = f.CreateHistogram("horizon_redis_write_duration_seconds", "Time from sending a write batch to the store's last reply.", new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(0.0005, 2, 16) });
        WriteResendsSkipped = f.CreateCounter("horizon_write_resends_skipped_total", "APPENDs left without a reply by a failure that the store had applied: found at the key's tail and not sent again.");
        WriteErrors = f.CreateCounter("horizon_redis_write_errors_total", "Store commands that failed (and were retried or dropped), by kind.", "kind");
        PointsInFlight = f.CreateGauge("horizon_points_in_flight", "Points sent to the store and not yet acknowledged.");
        PointsBuffered = f.CreateGauge("horizon_points_buffered", "Accepted points waiting to be sent to the store.");
        UniqueSetAdds = f.CreateCounter("horizon_unique_set_adds_total", "Names sent to SADD metrics.unique_metrics.");
        StoreDiskFree = f.CreateGauge("horizon_store_disk_free_bytes", "Free space on the embedded store's data directory disk.");
        StoreDiskFull = f.CreateGauge("horizon_store_disk_full", "1 while writes to the embedded store are paused because its disk is under Store:Embedded:DiskReserveMegabytes free.");
    }

#pragma warning disable CS1591 // the help text of each collector documents it
    public Counter PointsStored { get; }
    public Counter PointsDropped { get; }
    public Counter WriteBatches { get; }
    public Histogram WriteBatchPoints { get; }
    public Histogram WriteBatchKeys { get; }
    public Histogram WriteDuration { get; }
    public Counter WriteResendsSkipped { get; }
    public Counter WriteErrors { get; }
    public Gauge PointsInFlight { get; }
    public Gauge PointsBuffered { get; }
    public Counter UniqueSetAdds { get; }
    public Gauge StoreDiskFree { get; }
    public Gauge StoreDiskFull { get; }
#pragma warning restore CS1591

    /// <summary>Runs <paramref name="update"/> before each scrape (for gauges read from state).</summary>
    public void OnScrape(Action update) => _registry.AddBeforeCollectCallback(update);

    /// <summary>Counts dropped points.</summary>
    public void AddDropped(PointSource source, string reason, int count)
    {
        if (count > 0)
        {
            PointsDropped.WithLabels(source.Label(), reason).Inc(count);
        }
    }
}
