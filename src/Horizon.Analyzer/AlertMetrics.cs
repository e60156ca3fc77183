using Prometheus;

namespace Horizon.Analyzer;

/// <summary>The collectors of incident delivery. Created on the host's registry (one per host, so that several hosts can share a
/// process in tests); the help text of each collector documents it.</summary>
public sealed class AlertMetrics
{
    /// <summary>Creates the collectors on <paramref name="registry"/>.</summary>
    public AlertMetrics(CollectorRegistry registry)
    {
        var f = Prometheus.Metrics.WithCustomRegistry(registry);
        AlertmanagerPosts = f.CreateCounter("horizon_alertmanager_posts_total", "POSTs of the incidents to an Alertmanager, by result (ok, failed).", "result");
        AlertmanagerAlerts = f.CreateGauge("horizon_alertmanager_alerts", "Alerts in the last state sent to Alertmanager, by status (firing, resolved).", "status");
        IncidentMessages = f.CreateCounter("horizon_incident_messages_total", "Incident messages per receiver, by result (sent, failed after every attempt, dropped from a full queue).", "receiver", "result");
    }

#pragma warning disable CS1591 // the help text of each collector documents it
    public Counter AlertmanagerPosts { get; }
    public Counter IncidentMessages { get; }
    public Gauge AlertmanagerAlerts { get; }
#pragma warning restore CS1591
}
