using Horizon.Core.Points;
using Horizon.Core.Protocols;
using Prometheus;

namespace Horizon.Storage;

/// <summary>Every Prometheus collector Horizon exports, created on one registry per host so that
/// several hosts (tests) can live in one process. Names follow Prometheus conventions.</summary>
public sealed class HorizonMetrics
{
    /// <summary>Creates the collectors on <paramref name="registry"/>.</summary>
    public HorizonMetrics(CollectorRegistry registry)
    {
        Registry = registry;
        var f = Prometheus.Metrics.WithCustomRegistry(registry);
        PointsReceived = f.CreateCounter("horizon_points_received_total", "Records parsed from the wire (lines, pickle items, datagrams, StatsD samples), by listener.", "listener");
        PointsRejected = f.CreateCounter("horizon_points_rejected_total", "Records refused, by listener and reason.", "listener", "reason");
        PointsDropped = f.CreateCounter("horizon_points_dropped_total", "Accepted points that could not be stored, by listener and reason.", "listener", "reason");
        PointsStored = f.CreateCounter("horizon_points_stored_total", "Points acknowledged by the store, by listener.", "listener");
        ListenerUp = f.CreateGauge("horizon_listener_up", "1 when the listener is bound and serving, 0 when it could not bind (see the log).", "listener");
        ConnectionsActive = f.CreateGauge("horizon_connections_active", "Open TCP connections, by listener.", "listener");
        ConnectionsRefused = f.CreateCounter("horizon_connections_refused_total", "TCP connections closed at once because the limit was reached (Listeners:MaxConnections for the ingest listeners together, Web:MaxConnections for HTTP), by listener.", "listener");
        ConnectionsClosed = f.CreateCounter("horizon_connections_closed_total", "TCP connections closed by Horizon because of what the peer sent (or did not send: idle_timeout), by listener and reason.", "listener", "reason");
        Datagrams = f.CreateCounter("horizon_udp_datagrams_total", "UDP datagrams received, by listener.", "listener");
        UdpKernelDrops = f.CreateGauge("horizon_udp_kernel_drops", "Datagrams the kernel dropped on the listener's sockets (receive buffer full), from /proc/net/udp.", "listener");
        WriteBatches = f.CreateCounter("horizon_write_batches_total", "Pipelined write batches sent to the store.");
        WriteBatchPoints = f.CreateHistogram("horizon_write_batch_points", "Points per write batch.", new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(1, 4, 9) });
        WriteBatchKeys = f.CreateHistogram("horizon_write_batch_keys", "Distinct keys (APPEND commands) per write batch.", new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(1, 4, 9) });
        WriteDuration = f.CreateHistogram("horizon_redis_write_duration_seconds", "Time from sending a write batch to the store's last reply.", new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(0.0005, 2, 16) });
        WriteResendsSkipped = f.CreateCounter("horizon_write_resends_skipped_total", "APPENDs left without a reply by a failure that the store had applied: found at the key's tail and not sent again.");
        WriteErrors = f.CreateCounter("horizon_redis_write_errors_total", "Store commands that failed (and were retried or dropped), by kind.", "kind");
        PointsInFlight = f.CreateGauge("horizon_points_in_flight", "Points sent to the store and not yet acknowledged.");
        PointsBuffered = f.CreateGauge("horizon_points_buffered", "Accepted points waiting to be sent to the store.");
        StoreDiskFree = f.CreateGauge("horizon_store_disk_free_bytes", "Free space on the embedded store's data directory disk.");
        StoreDiskFull = f.CreateGauge("horizon_store_disk_full", "1 while writes to the embedded store are paused because its disk is under Store:Embedded:DiskReserveMegabytes free.");
        KnownMetrics = f.CreateGauge("horizon_known_metrics", "Distinct metric names held in memory.");
        UniqueSetAdds = f.CreateCounter("horizon_unique_set_adds_total", "Names sent to SADD metrics.unique_metrics.");
        RoombaRuns = f.CreateCounter("horizon_roomba_runs_total", "Roomba passes over every series.");
        RoombaDuration = f.CreateGauge("horizon_roomba_last_run_seconds", "Duration of the last Roomba pass.");
        RoombaKeysScanned = f.CreateCounter("horizon_roomba_keys_scanned_total", "Series keys examined by Roomba.");
        RoombaKeysTrimmed = f.CreateCounter("horizon_roomba_keys_trimmed_total", "Series keys rewritten without their expired or duplicate points.");
        RoombaKeysDeleted = f.CreateCounter("horizon_roomba_keys_deleted_total", "Series keys deleted because they went silent for longer than FULL_DURATION.");
        RoombaPointsRemoved = f.CreateCounter("horizon_roomba_points_removed_total", "Points removed by Roomba (expired, duplicate timestamps, corrupt tails).");
        RoombaCorrupt = f.CreateCounter("horizon_roomba_keys_corrupt_total", "Series keys whose bytes were not valid msgpack points past some offset.");
        RoombaIndexRepaired = f.CreateCounter("horizon_roomba_index_repaired_total", "Series keys found holding points but missing from metrics.unique_metrics (after a crash), and added to it.");
        RoombaConflicts = f.CreateCounter("horizon_roomba_conflicts_total", "Trims skipped because the key was rewritten by someone else meanwhile (retried next pass).");
        AnalyzerPasses = f.CreateCounter("horizon_analyzer_passes_total", "Analyzer passes completed.");
        AnalyzerPassDuration = f.CreateHistogram("horizon_analyzer_pass_duration_seconds", "Duration of an analyzer pass (sync, analysis, publication).", new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(0.05, 2, 12) });
        AnalyzerSyncDuration = f.CreateGauge("horizon_analyzer_last_sync_seconds", "Duration of the last pass's sync of the local copy.");
        AnalyzerAnalysisDuration = f.CreateGauge("horizon_analyzer_last_analysis_seconds", "Duration of the last pass's analysis.");
        AnalyzerMetrics = f.CreateGauge("horizon_analyzer_metrics", "Series this analyzer owns (its shard of metrics.unique_metrics).");
        AnalyzerAnalysed = f.CreateGauge("horizon_analyzer_last_analysed", "Series the last pass judged (not skipped).");
        AnalyzerSkipped = f.CreateCounter("horizon_analyzer_skipped_total", "Series skipped by a pass, by reason (too_short, stale, boring, corrupt).", "reason");
        AnalyzerErrors = f.CreateCounter("horizon_analyzer_errors_total", "Series whose ensemble was void because an algorithm raised (Skyline's behaviour).");
        AnalyzerVotes = f.CreateCounter("horizon_analyzer_votes_total", "Yes votes, by algorithm.", "algorithm");
        AnalyzerAnomalies = f.CreateGauge("horizon_analyzer_anomalies", "Series anomalous in the last pass.");
        AnalyzerExhaustions = f.CreateGauge("horizon_analyzer_exhaustion_forecasts", "Metrics forecast (ensemble mode) to reach their capacity within the exhaustion horizon, in the last pass.");
        AnalyzerAnomaliesTotal = f.CreateCounter("horizon_analyzer_anomalies_total", "Anomalous series over all passes.");
        AnalyzerMetadataLoads = f.CreateCounter("horizon_analyzer_metadata_loads_total", "Times the analyzer read horizon.metadata (at start, then when horizon.metadata.version moved, or every 5 minutes).");
        AnalyzerBytesFetched = f.CreateCounter("horizon_analyzer_bytes_fetched_total", "Bytes read from the store by the sync.");
        AnalyzerFullReads = f.CreateCounter("horizon_analyzer_full_reads_total", "Series read whole (new, or rewritten by Roomba) rather than appended to.");
        AnalyzerCacheBytes = f.CreateGauge("horizon_analyzer_cache_bytes", "Bytes of series held in the local copy.");
        AnalyzerMappedBytes = f.CreateGauge("horizon_analyzer_mapped_bytes", "Bytes of memory-mapped arena files.");
        AlertsSent = f.CreateCounter("horizon_alerts_sent_total", "Alert messages delivered, per webhook (one finding, or a digest of many).");
        AlertsFailed = f.CreateCounter("horizon_alerts_failed_total", "Alerts a webhook did not accept after every attempt (logged).");
        AlertsSuppressed = f.CreateCounter("horizon_alerts_suppressed_total", "New findings not sent, by reason (repeat: alerted within Analyzer:Alerts:RepeatAfter; score: below MinScore).", "reason");
        AlertsDropped = f.CreateCounter("horizon_alerts_dropped_total", "Alerts dropped: the queue was full, or still held at shutdown.");
        AlertsDigested = f.CreateCounter("horizon_alerts_digested_total", "Findings sent in a digest rather than one by one (beyond Analyzer:Alerts:StormLimit in a window).");
        StatsdFlushes = f.CreateCounter("horizon_statsd_flushes_total", "StatsD flushes.");
        StatsdKeys = f.CreateGauge("horizon_statsd_keys", "StatsD keys held between flushes.");
        StatsdFlushPoints = f.CreateGauge("horizon_statsd_last_flush_points", "Points produced by the last StatsD flush.");
    }

    /// <summary>The registry these collectors live on.</summary>
    public CollectorRegistry Registry { get; }

#pragma warning disable CS1591 // the help text of each collector documents it
    public Counter AlertsSent { get; }
    public Counter AlertsFailed { get; }
    public Counter AlertsSuppressed { get; }
    public Counter AlertsDropped { get; }
    public Counter AlertsDigested { get; }
    public Counter PointsReceived { get; }
    public Counter PointsRejected { get; }
    public Counter PointsDropped { get; }
    public Counter PointsStored { get; }
    public Gauge ListenerUp { get; }
    public Gauge ConnectionsActive { get; }
    public Counter ConnectionsClosed { get; }
    public Counter ConnectionsRefused { get; }
    public Counter Datagrams { get; }
    public Gauge UdpKernelDrops { get; }
    public Counter WriteBatches { get; }
    public Histogram WriteBatchPoints { get; }
    public Histogram WriteBatchKeys { get; }
    public Histogram WriteDuration { get; }
    public Counter WriteErrors { get; }
    public Counter WriteResendsSkipped { get; }
    public Gauge PointsInFlight { get; }
    public Gauge PointsBuffered { get; }
    public Gauge KnownMetrics { get; }
    public Gauge StoreDiskFree { get; }
    public Gauge StoreDiskFull { get; }
    public Counter UniqueSetAdds { get; }
    public Counter RoombaRuns { get; }
    public Gauge RoombaDuration { get; }
    public Counter RoombaKeysScanned { get; }
    public Counter RoombaKeysTrimmed { get; }
    public Counter RoombaKeysDeleted { get; }
    public Counter RoombaPointsRemoved { get; }
    public Counter RoombaCorrupt { get; }
    public Counter RoombaConflicts { get; }
    public Counter RoombaIndexRepaired { get; }
    public Counter AnalyzerPasses { get; }
    public Histogram AnalyzerPassDuration { get; }
    public Gauge AnalyzerSyncDuration { get; }
    public Gauge AnalyzerAnalysisDuration { get; }
    public Gauge AnalyzerMetrics { get; }
    public Gauge AnalyzerAnalysed { get; }
    public Counter AnalyzerSkipped { get; }
    public Counter AnalyzerErrors { get; }
    public Counter AnalyzerVotes { get; }
    public Gauge AnalyzerAnomalies { get; }
    public Counter AnalyzerAnomaliesTotal { get; }
    public Gauge AnalyzerExhaustions { get; }
    public Counter AnalyzerBytesFetched { get; }
    public Counter AnalyzerMetadataLoads { get; }
    public Counter AnalyzerFullReads { get; }
    public Gauge AnalyzerCacheBytes { get; }
    public Gauge AnalyzerMappedBytes { get; }
    public Counter StatsdFlushes { get; }
    public Gauge StatsdKeys { get; }
    public Gauge StatsdFlushPoints { get; }
#pragma warning restore CS1591

    /// <summary>Adds a tally of rejections to the counters of one listener.</summary>
    public void AddRejects(PointSource source, in RejectTally tally)
    {
        for (var i = 1; i < RejectReasons.Count; i++)
        {
            if (tally[i] != 0)
            {
                PointsRejected.WithLabels(source.Label(), ((RejectReason)i).Label()).Inc(tally[i]);
            }
        }
    }

    /// <summary>Counts dropped points.</summary>
    public void AddDropped(PointSource source, string reason, int count)
    {
        if (count > 0)
        {
            PointsDropped.WithLabels(source.Label(), reason).Inc(count);
        }
    }
}
