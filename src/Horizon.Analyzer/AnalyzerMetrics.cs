using Prometheus;

namespace Horizon.Analyzer;

/// <summary>The analyzer's collectors: passes, what they judged and found, the sync and the local copy. Created on the host's registry (one per host, so that several hosts can share a
/// process in tests); the help text of each collector documents it.</summary>
public sealed class AnalyzerMetrics
{
    /// <summary>Creates the collectors on <paramref name="registry"/>.</summary>
    public AnalyzerMetrics(CollectorRegistry registry)
    {
        var f = Prometheus.Metrics.WithCustomRegistry(registry);
        Passes = f.CreateCounter("horizon_analyzer_passes_total", "Analyzer passes completed.");
        PassDuration = f.CreateHistogram("horizon_analyzer_pass_duration_seconds", "Duration of an analyzer pass (sync, analysis, publication).", new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(0.05, 2, 12) });
        SyncDuration = f.CreateGauge("horizon_analyzer_last_sync_seconds", "Duration of the last pass's sync of the local copy.");
        AnalysisDuration = f.CreateGauge("horizon_analyzer_last_analysis_seconds", "Duration of the last pass's analysis.");
        OwnedSeries = f.CreateGauge("horizon_analyzer_metrics", "Series this analyzer owns (its shard of metrics.unique_metrics).");
        Analysed = f.CreateGauge("horizon_analyzer_last_analysed", "Series the last pass judged (not skipped).");
        Skipped = f.CreateCounter("horizon_analyzer_skipped_total", "Series skipped by a pass, by reason (too_short, stale, boring, corrupt).", "reason");
        Errors = f.CreateCounter("horizon_analyzer_errors_total", "Series whose ensemble was void because an algorithm raised (Skyline's behaviour).");
        Votes = f.CreateCounter("horizon_analyzer_votes_total", "Yes votes, by algorithm.", "algorithm");
        Anomalies = f.CreateGauge("horizon_analyzer_anomalies", "Series anomalous in the last pass.");
        Exhaustions = f.CreateGauge("horizon_analyzer_exhaustion_forecasts", "Metrics forecast (ensemble mode) to reach their capacity within the exhaustion horizon, in the last pass.");
        Taught = f.CreateCounter("horizon_analyzer_findings_taught_total", "Findings not reported because the metric moved like a shape someone marked \"not anomalous\".");
        IncidentsOpen = f.CreateGauge("horizon_incidents_open", "Incidents open after the last pass, by kind (anomaly, exhaustion).", "kind");
        IncidentEvents = f.CreateCounter("horizon_incident_events_total", "Incident transitions, by event (opened, joined, escalated, acknowledged, silenced, unsilenced, resolved).", "event");
        AnomaliesTotal = f.CreateCounter("horizon_analyzer_anomalies_total", "Anomalous series over all passes.");
        MetadataLoads = f.CreateCounter("horizon_analyzer_metadata_loads_total", "Times the analyzer read horizon.metadata (at start, then when horizon.metadata.version moved, or every 5 minutes).");
        BytesFetched = f.CreateCounter("horizon_analyzer_bytes_fetched_total", "Bytes read from the store by the sync.");
        FullReads = f.CreateCounter("horizon_analyzer_full_reads_total", "Series read whole (new, or rewritten by Roomba) rather than appended to.");
        CacheBytes = f.CreateGauge("horizon_analyzer_cache_bytes", "Bytes of series held in the local copy.");
        MappedBytes = f.CreateGauge("horizon_analyzer_mapped_bytes", "Bytes of memory-mapped arena files.");
        DeployVerdicts = f.CreateCounter("horizon_deploy_verdicts_total", "Deploy verdicts decided, by verdict (ok, suspect, bad, no_data).", "verdict");
        Members = f.CreateGauge("horizon_analyzer_members", "With Analyzer:Shard=auto, the live analyzers sharing the metrics at this one's last pass.");
        NewLogTemplates = f.CreateCounter("horizon_log_template_findings_total", "New log templates (after their source's warm-up) made findings by the analyzer.");
    }

#pragma warning disable CS1591 // the help text of each collector documents it
    public Counter Passes { get; }
    public Histogram PassDuration { get; }
    public Gauge SyncDuration { get; }
    public Gauge AnalysisDuration { get; }
    public Gauge OwnedSeries { get; }
    public Gauge Analysed { get; }
    public Counter Skipped { get; }
    public Counter Errors { get; }
    public Counter Votes { get; }
    public Gauge Anomalies { get; }
    public Gauge Exhaustions { get; }
    public Counter Taught { get; }
    public Gauge IncidentsOpen { get; }
    public Counter IncidentEvents { get; }
    public Counter AnomaliesTotal { get; }
    public Counter MetadataLoads { get; }
    public Counter BytesFetched { get; }
    public Counter FullReads { get; }
    public Gauge CacheBytes { get; }
    public Gauge MappedBytes { get; }
    public Counter DeployVerdicts { get; }
    public Counter NewLogTemplates { get; }
    public Gauge Members { get; }
#pragma warning restore CS1591
}
