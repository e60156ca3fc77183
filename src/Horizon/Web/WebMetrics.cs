using Prometheus;

namespace Horizon.Web;

/// <summary>The web role's own collectors, on the host's registry.</summary>
public sealed class WebMetrics
{
    /// <summary>Creates the collectors on <paramref name="registry"/>.</summary>
    public WebMetrics(CollectorRegistry registry)
    {
        var f = Prometheus.Metrics.WithCustomRegistry(registry);
        WritesRefused = f.CreateCounter("horizon_http_writes_refused_total",
            "HTTP write requests refused, by reason (disabled: no Web:WriteToken; unauthorized; too_large; too_many).", "reason");
    }

    /// <summary>Write requests refused, by reason.</summary>
    public Counter WritesRefused { get; }
}
