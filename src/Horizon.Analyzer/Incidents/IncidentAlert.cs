using System.Globalization;

namespace Horizon.Analyzer.Incidents;

/// <summary>An incident as Alertmanager's alert (labels that identify and route it, annotations
/// people read): what is sent to Alertmanager, and the alerts of the generic webhook.</summary>
public static class IncidentAlert
{
    /// <summary>The labels: alertname, incident, severity, kind, metric (the peak one), owner.</summary>
    public static Dictionary<string, string> Labels(Incident incident)
    {
        var labels = new Dictionary<string, string>
        {
            ["alertname"] = incident.Kind == FindingKind.Exhaustion ? "HorizonExhaustion" : "HorizonAnomaly",
            ["incident"] = incident.Id,
            ["severity"] = incident.Severity,
            ["kind"] = incident.Kind.Name(),
            ["metric"] = incident.PeakMetric ?? incident.Metrics.FirstOrDefault()?.Metric ?? "",
        };
        if (incident.Owners.Count > 0)
        {
            labels["owner"] = string.Join(",", incident.Owners);
        }
        return labels;
    }

    /// <summary>The annotations: summary, metrics (50 named), description (the first five's reasons),
    /// peak_score, acknowledged_by, after (the event it followed: "12 min after deploy web 1234").</summary>
    public static Dictionary<string, string> Annotations(Incident incident)
    {
        var c = CultureInfo.InvariantCulture;
        var annotations = new Dictionary<string, string>
        {
            ["summary"] = "Horizon: " + incident.Title(),
            ["metrics"] = string.Join(", ", incident.Metrics.Take(50).Select(m => m.Metric)) + (incident.MetricCount > 50 ? string.Create(c, $" and {incident.MetricCount - 50} more") : ""),
            ["description"] = string.Join("\n", incident.Metrics.Take(5).Select(m => $"{m.Metric}: {string.Join("; ", m.Reasons ?? [])}")),
        };
        if (incident.Peak is { } peak)
        {
            annotations["peak_score"] = peak.ToString("F2", c);
        }
        if (incident.Acknowledged is { } ack)
        {
            annotations["acknowledged_by"] = ack.By;
        }
        if (incident.Since is { } since)
        {
            annotations["after"] = since;
        }
        if (incident.LooksLike is { } like)
        {
            annotations["looks_like"] = like.ToString();
        }
        return annotations;
    }

    /// <summary>The alert: labels, annotations, startsAt, endsAt and (with a link) generatorURL.</summary>
    public static Dictionary<string, object> Of(Incident incident, long startsAt, long endsAt, string? link)
    {
        var alert = new Dictionary<string, object>
        {
            ["labels"] = Labels(incident),
            ["annotations"] = Annotations(incident),
            ["startsAt"] = Time(startsAt),
            ["endsAt"] = Time(endsAt),
        };
        if (link is not null)
        {
            alert["generatorURL"] = link;
        }
        return alert;
    }

    /// <summary>RFC 3339 time of Unix seconds.</summary>
    public static string Time(long unixSeconds) => DateTimeOffset.FromUnixTimeSeconds(unixSeconds).ToString("O", CultureInfo.InvariantCulture);

    /// <summary>The page's link to an incident, or null without an external URL.</summary>
    public static string? Link(string externalUrl, string id) =>
        externalUrl.Length == 0 ? null : $"{externalUrl.TrimEnd('/')}/#incident={Uri.EscapeDataString(id)}";
}
