namespace Horizon.Analyzer.Incidents;

/// <summary>How findings become incidents (<c>Analyzer:Incidents</c>).</summary>
public sealed record IncidentOptions
{
    /// <summary>A finding joins an open incident whose last finding is at most this much older (in
    /// the data's time) when it is related to it (a sibling name, the same owner, or movement that
    /// correlates); otherwise it opens one.</summary>
    public TimeSpan GroupWindow { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>An open incident resolves when none of its metrics has been found anomalous for this long.</summary>
    public TimeSpan ResolveAfter { get; init; } = TimeSpan.FromMinutes(15);

    /// <summary>Two metrics moved together when the correlation of their last half hour (minute
    /// means, one minute of lag allowed) reaches this (absolute: one may fall as the other rises).
    /// 0: movement does not group.</summary>
    public double MinCorrelation { get; init; } = 0.6;

    /// <summary>Whether metrics with the same parent name (<c>web.api.p99</c> and <c>web.api.errors</c>) group.</summary>
    public bool GroupSiblings { get; init; } = true;

    /// <summary>Whether metrics with the same owner (metadata <c>owner</c>) group.</summary>
    public bool GroupOwners { get; init; } = true;

    /// <summary>An incident that starts at most this long after an event (a deploy, <c>/api/events</c>)
    /// names it ("12 min after deploy web 1234").</summary>
    public TimeSpan EventWindow { get; init; } = TimeSpan.FromMinutes(30);

    /// <summary>Whether findings after the same event (within <see cref="EventWindow"/>) group into
    /// one incident: what a deploy moved is one incident.</summary>
    public bool GroupEvents { get; init; } = true;

    /// <summary>An incident whose peak score reaches this is critical, below it a warning
    /// (Skyline-only findings: critical when every algorithm agreed).</summary>
    public double CriticalScore { get; init; } = 0.5;

    /// <summary>Resolved incidents are kept in <c>horizon.incidents</c> this long.</summary>
    public TimeSpan KeepResolved { get; init; } = TimeSpan.FromDays(7);

    /// <summary>Entries kept in the incident history (<c>horizon.incidents.history</c>: transitions).</summary>
    public int HistoryLength { get; init; } = 10_000;

    /// <summary>Metrics listed per incident (the rest are counted): a storm does not make one huge record.</summary>
    public int MaxMetrics { get; init; } = 500;

    /// <summary>Fails fast on settings that cannot work.</summary>
    public void Validate()
    {
        if (GroupWindow < TimeSpan.Zero || EventWindow < TimeSpan.Zero || ResolveAfter <= TimeSpan.Zero || MinCorrelation is < 0 or > 1
            || CriticalScore is < 0 or > 1 || KeepResolved < TimeSpan.Zero || HistoryLength < 0 || MaxMetrics < 1)
        {
            throw new ArgumentException("Analyzer:Incidents: GroupWindow, EventWindow and KeepResolved must not be negative, ResolveAfter positive, MinCorrelation and CriticalScore 0-1, HistoryLength not negative, MaxMetrics positive.");
        }
    }
}
