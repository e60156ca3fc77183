using Prometheus;

namespace Horizon.Ingest;

/// <summary>The StatsD flusher's collectors. Created on the host's registry (one per host, so that several hosts can share a
/// process in tests); the help text of each collector documents it.</summary>
public sealed class StatsdMetrics
{
    /// <summary>Creates the collectors on <paramref name="registry"/>.</summary>
    public StatsdMetrics(CollectorRegistry registry)
    {
        var f = Prometheus.Metrics.WithCustomRegistry(registry);
        Flushes = f.CreateCounter("horizon_statsd_flushes_total", "StatsD flushes.");
        Keys = f.CreateGauge("horizon_statsd_keys", "StatsD keys held between flushes.");
        FlushPoints = f.CreateGauge("horizon_statsd_last_flush_points", "Points produced by the last StatsD flush.");
    }

#pragma warning disable CS1591 // the help text of each collector documents it
    public Counter Flushes { get; }
    public Gauge Keys { get; }
    public Gauge FlushPoints { get; }
#pragma warning restore CS1591
}
