using Horizon.Core.Points;
using Horizon.Core.Protocols;
using Prometheus;

namespace Horizon.Ingest;

/// <summary>The ingest listeners' collectors: records received and refused, listener state, UDP datagrams and the names held. Created on the host's registry (one per host, so that several hosts can share a
/// process in tests); the help text of each collector documents it.</summary>
public sealed class IngestMetrics
{
    private readonly CollectorRegistry _registry;

    /// <summary>Creates the collectors on <paramref name="registry"/>.</summary>
    public IngestMetrics(CollectorRegistry registry)
    {
        _registry = registry;
        var f = Prometheus.Metrics.WithCustomRegistry(registry);
        PointsReceived = f.CreateCounter("horizon_points_received_total", "Records parsed from the wire (lines, pickle items, datagrams, StatsD samples), by listener.", "listener");
        PointsRejected = f.CreateCounter("horizon_points_rejected_total", "Records refused, by listener and reason.", "listener", "reason");
        ListenerUp = f.CreateGauge("horizon_listener_up", "1 when the listener is bound and serving, 0 when it could not bind (see the log).", "listener");
        Datagrams = f.CreateCounter("horizon_udp_datagrams_total", "UDP datagrams received, by listener.", "listener");
        UdpKernelDrops = f.CreateGauge("horizon_udp_kernel_drops", "Datagrams the kernel dropped on the listener's sockets (receive buffer full), from /proc/net/udp.", "listener");
        KnownMetrics = f.CreateGauge("horizon_known_metrics", "Distinct metric names held in memory.");
    }

#pragma warning disable CS1591 // the help text of each collector documents it
    public Counter PointsReceived { get; }
    public Counter PointsRejected { get; }
    public Gauge ListenerUp { get; }
    public Counter Datagrams { get; }
    public Gauge UdpKernelDrops { get; }
    public Gauge KnownMetrics { get; }
#pragma warning restore CS1591

    /// <summary>Runs <paramref name="update"/> before each scrape (for gauges read from state).</summary>
    public void OnScrape(Action update) => _registry.AddBeforeCollectCallback(update);

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
}
