using System.Text.Json.Serialization;

namespace Horizon.Analyzer.Incidents;

/// <summary>Where an incident is in its life. Stored as the lower-case word.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<IncidentState>))]
public enum IncidentState
{
    /// <summary>Its metrics are (or were lately) anomalous.</summary>
    [JsonStringEnumMemberName("open")]
    Open,

    /// <summary>None of its metrics has been found anomalous for <see cref="IncidentOptions.ResolveAfter"/>
    /// (an exhaustion forecast: the forecast cleared).</summary>
    [JsonStringEnumMemberName("resolved")]
    Resolved,
}

/// <summary>One metric of an incident: when it was first and last found, its worst finding, and why.</summary>
public sealed class IncidentMetric
{
    /// <summary>The metric.</summary>
    public required string Metric { get; init; }

    /// <summary>Its owner (metadata), if any.</summary>
    public string? Owner { get; set; }

    /// <summary>Timestamp (data time) of its first finding in the incident.</summary>
    public long FirstAt { get; set; }

    /// <summary>Timestamp (data time) of its latest finding.</summary>
    public long LastAt { get; set; }

    /// <summary>Pass time (Unix seconds) it was last found anomalous.</summary>
    public long LastSeen { get; set; }

    /// <summary>Its highest score (null: Skyline's votes only).</summary>
    public double? Peak { get; set; }

    /// <summary>Skyline's votes at its worst.</summary>
    public int Votes { get; set; }

    /// <summary>Its value at its latest finding.</summary>
    public double Value { get; set; }

    /// <summary>The reasons of its worst finding.</summary>
    public IReadOnlyList<string>? Reasons { get; set; }

    /// <summary>Its last half hour's movement up to its latest finding (kept for the first
    /// <see cref="IncidentBook.CorrelatedMembers"/> metrics, which later findings are compared with,
    /// from whichever analyzer shard judges them).</summary>
    public Movement? Movement { get; set; }

    /// <summary>Correlation of its movement with the metric it joined through (null: it opened the incident or joined by name or owner).</summary>
    public double? Correlation { get; set; }
}

/// <summary>
/// A group of findings of one moment that belong together (a deploy that moved 31 metrics is one),
/// or one metric's exhaustion forecast. It opens with a finding, grows as related findings join,
/// peaks, and resolves when its metrics have been quiet for a while. Stored as JSON in
/// <c>horizon.incidents</c> (field: <see cref="Id"/>).
/// </summary>
public sealed class Incident
{
    /// <summary>Unique, stable: opening time and a counter (<c>20261207T0142Z-3</c>).</summary>
    public required string Id { get; init; }

    /// <summary>Anomaly or exhaustion.</summary>
    public FindingKind Kind { get; init; }

    /// <summary>The analyzer shard that keeps it (<c>i/N</c>).</summary>
    public string Shard { get; init; } = "0/1";

    /// <summary>Open or resolved.</summary>
    public IncidentState State { get; set; }

    /// <summary>"critical" or "warning", from the peak.</summary>
    public string Severity { get; set; } = "warning";

    /// <summary>Data time of the first finding.</summary>
    public long StartedAt { get; set; }

    /// <summary>Pass time it opened.</summary>
    public long OpenedAt { get; set; }

    /// <summary>Data time of the latest finding.</summary>
    public long LastAt { get; set; }

    /// <summary>Pass time it resolved (null while open).</summary>
    public long? ResolvedAt { get; set; }

    /// <summary>The highest score of any of its findings (null: Skyline's votes only).</summary>
    public double? Peak { get; set; }

    /// <summary>The metric that reached the peak.</summary>
    public string? PeakMetric { get; set; }

    /// <summary>Its metrics, in the order they joined (at most <see cref="IncidentOptions.MaxMetrics"/>).</summary>
    public List<IncidentMetric> Metrics { get; init; } = [];

    /// <summary>Metrics that joined beyond the listed ones.</summary>
    public int MoreMetrics { get; set; }

    /// <summary>The owners of its metrics.</summary>
    public List<string> Owners { get; init; } = [];

    /// <summary>Who acknowledged it, when, and what they said (from the API; null: not acknowledged).</summary>
    public Acknowledgement? Acknowledged { get; set; }

    /// <summary>The silence whose matchers cover every metric of it (null: not silenced): not delivered.</summary>
    public string? SilencedBy { get; set; }

    /// <summary>The event (a deploy) it started within <see cref="IncidentOptions.EventWindow"/> after, if any.</summary>
    public Horizon.Storage.Events.HorizonEvent? AfterEvent { get; set; }

    /// <summary>"12 min after deploy web 1234", or null.</summary>
    [JsonIgnore]
    public string? Since => AfterEvent?.After(StartedAt);

    /// <summary>The saved shape (collection) its metrics look like, if any.</summary>
    public ShapeLikeness? LooksLike { get; set; }

    /// <summary>The receivers it was sent to (so its resolve goes there, whoever resolves it).</summary>
    public List<string> SentTo { get; init; } = [];

    /// <summary>The metric count, listed or not.</summary>
    [JsonIgnore]
    public int MetricCount => Metrics.Count + MoreMetrics;

    /// <summary>A one-line title: the kind, the count and the first metrics (in the past once resolved).</summary>
    public string Title()
    {
        var names = string.Join(", ", Metrics.Take(3).Select(m => m.Metric));
        var more = MetricCount > 3 ? $" and {MetricCount - 3} more" : "";
        var over = State == IncidentState.Resolved;
        return Kind == FindingKind.Exhaustion
            ? over ? $"{names} no longer forecast to reach its capacity" : $"{names} reaches its capacity"
            : MetricCount == 1 ? $"{names} {(over ? "was" : "is")} anomalous" : $"{MetricCount} metrics {(over ? "were" : "")} anomalous: {names}{more}".Replace("  ", " ", StringComparison.Ordinal);
    }
}

/// <summary>An acknowledgement: someone is on it.</summary>
public sealed record Acknowledgement(string By, long At, string? Comment);

/// <summary>What happened to an incident in a pass: the incident history (<c>horizon.incidents.history</c>)
/// records these, not every flagged point.</summary>
public sealed record IncidentEvent(string Incident, string Event, long At, string? Metric = null, int Metrics = 0, double? Peak = null, string? Title = null);
