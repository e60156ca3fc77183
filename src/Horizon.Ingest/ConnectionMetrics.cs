using Prometheus;

namespace Horizon.Ingest;

/// <summary>TCP connections of every listener, ingest and HTTP (<see cref="ConnectionLimiter"/>). Created on the host's registry (one per host, so that several hosts can share a
/// process in tests); the help text of each collector documents it.</summary>
public sealed class ConnectionMetrics
{
    /// <summary>Creates the collectors on <paramref name="registry"/>.</summary>
    public ConnectionMetrics(CollectorRegistry registry)
    {
        var f = Prometheus.Metrics.WithCustomRegistry(registry);
        ConnectionsActive = f.CreateGauge("horizon_connections_active", "Open TCP connections, by listener.", "listener");
        ConnectionsRefused = f.CreateCounter("horizon_connections_refused_total", "TCP connections closed at once because the limit was reached (Listeners:MaxConnections for the ingest listeners together, Web:MaxConnections for HTTP), by listener.", "listener");
        ConnectionsClosed = f.CreateCounter("horizon_connections_closed_total", "TCP connections closed by Horizon because of what the peer sent (or did not send: idle_timeout), by listener and reason.", "listener", "reason");
    }

#pragma warning disable CS1591 // the help text of each collector documents it
    public Gauge ConnectionsActive { get; }
    public Counter ConnectionsRefused { get; }
    public Counter ConnectionsClosed { get; }
#pragma warning restore CS1591
}
