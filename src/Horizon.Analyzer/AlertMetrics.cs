using Prometheus;

namespace Horizon.Analyzer;

/// <summary>The alert sender's collectors. Created on the host's registry (one per host, so that several hosts can share a
/// process in tests); the help text of each collector documents it.</summary>
public sealed class AlertMetrics
{
    /// <summary>Creates the collectors on <paramref name="registry"/>.</summary>
    public AlertMetrics(CollectorRegistry registry)
    {
        var f = Prometheus.Metrics.WithCustomRegistry(registry);
        Sent = f.CreateCounter("horizon_alerts_sent_total", "Alert messages delivered, per webhook (one finding, or a digest of many).");
        Failed = f.CreateCounter("horizon_alerts_failed_total", "Alerts a webhook did not accept after every attempt (logged).");
        Suppressed = f.CreateCounter("horizon_alerts_suppressed_total", "New findings not sent, by reason (repeat: alerted within Analyzer:Alerts:RepeatAfter; score: below MinScore).", "reason");
        Dropped = f.CreateCounter("horizon_alerts_dropped_total", "Alerts dropped: the queue was full, or still held at shutdown.");
        AlertmanagerPosts = f.CreateCounter("horizon_alertmanager_posts_total", "POSTs of the incidents to an Alertmanager, by result (ok, failed).", "result");
        AlertmanagerAlerts = f.CreateGauge("horizon_alertmanager_alerts", "Alerts in the last state sent to Alertmanager, by status (firing, resolved).", "status");
        IncidentMessages = f.CreateCounter("horizon_incident_messages_total", "Incident messages per receiver, by result (sent, failed after every attempt, dropped from a full queue).", "receiver", "result");
        Digested = f.CreateCounter("horizon_alerts_digested_total", "Findings sent in a digest rather than one by one (beyond Analyzer:Alerts:StormLimit in a window).");
    }

#pragma warning disable CS1591 // the help text of each collector documents it
    public Counter Sent { get; }
    public Counter Failed { get; }
    public Counter Suppressed { get; }
    public Counter Dropped { get; }
    public Counter Digested { get; }
    public Counter AlertmanagerPosts { get; }
    public Counter IncidentMessages { get; }
    public Gauge AlertmanagerAlerts { get; }
#pragma warning restore CS1591
}
