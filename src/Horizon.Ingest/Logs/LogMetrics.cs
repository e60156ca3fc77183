using Prometheus;

namespace Horizon.Ingest.Logs;

/// <summary>The log input's collectors. Created on the host's registry; the help text of each
/// collector documents it.</summary>
public sealed class LogMetrics
{
    /// <summary>Creates the collectors on <paramref name="registry"/>.</summary>
    public LogMetrics(CollectorRegistry registry)
    {
        var f = Prometheus.Metrics.WithCustomRegistry(registry);
        Lines = f.CreateCounter("horizon_log_lines_total", "Log lines accepted, by listener.", "listener");
        Rejected = f.CreateCounter("horizon_log_lines_rejected_total", "Log lines refused, by listener and reason.", "listener", "reason");
        Dropped = f.CreateCounter("horizon_log_lines_dropped_total", "Accepted log lines lost before grouping: queue_full (UDP with the queue full) or shutdown.", "reason");
        TailDropped = f.CreateCounter("horizon_log_tail_dropped_total", "Lines a live-tail client did not get because it fell behind (the slow client loses them; ingest is not slowed).");
        TailClients = f.CreateGauge("horizon_log_tail_clients", "Live-tail clients connected.");
        Templates = f.CreateGauge("horizon_log_templates", "Log templates known, over all sources.");
        Sources = f.CreateGauge("horizon_log_sources", "Log sources known.");
        Unmatched = f.CreateCounter("horizon_log_lines_untemplated_total", "Lines grouped under no template (no words, or the template limit reached with nothing close).");
        NewTemplates = f.CreateCounter("horizon_log_new_templates_total", "Templates made, and how many of them were recorded as findings (after their source's warm-up, severe enough).", "recorded");
        QueueBlocks = f.CreateGauge("horizon_log_queue_blocks", "Blocks of lines waiting to be grouped.");
    }

#pragma warning disable CS1591 // the help text of each collector documents it
    public Counter Lines { get; }
    public Counter Rejected { get; }
    public Counter Dropped { get; }
    public Counter TailDropped { get; }
    public Gauge TailClients { get; }
    public Gauge Templates { get; }
    public Gauge Sources { get; }
    public Counter Unmatched { get; }
    public Counter NewTemplates { get; }
    public Gauge QueueBlocks { get; }
#pragma warning restore CS1591
}
