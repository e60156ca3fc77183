using System.Globalization;

namespace Horizon.Analyzer.Incidents;

/// <summary>
/// Turns each pass's findings into incidents. A finding of a metric already in an open incident
/// updates it; otherwise it joins the open incident of the same moment (its last finding within
/// <see cref="IncidentOptions.GroupWindow"/>) that it is related to (a sibling name, the same
/// owner, or movement that correlates with one of its metrics), or opens one. An exhaustion
/// forecast is an incident of its own per metric, open while the forecast holds. An incident
/// resolves when none of its metrics has been found, or been still abnormal (its raw score at the
/// threshold though the novelty filter held it back: a shift that holds), for
/// <see cref="IncidentOptions.ResolveAfter"/>.
/// Acknowledgements and silences (from the API, read from the store) are applied each pass. What
/// changed is returned as events (the history) and the incidents to store. The book holds every
/// shard's open incidents (each analyzer's tracker takes them up from the store when another shard
/// changed them), so a deploy across shards is one incident; not thread-safe (the tracker calls it
/// once per pass).
/// </summary>
public sealed class IncidentBook(IncidentOptions options, string shard = "0/1")
{
    private readonly Dictionary<string, Incident> _open = new(StringComparer.Ordinal);
    private readonly Dictionary<(FindingKind, string), Incident> _byMetric = [];
    // The open anomaly incident a parent name or an owner last joined (siblings and owners group
    // in constant time), and the open incidents in the order they opened.
    private readonly Dictionary<string, Incident> _byParent = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Incident> _byOwner = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Incident> _byEvent = new(StringComparer.Ordinal);
    private IReadOnlyList<Horizon.Storage.Events.HorizonEvent> _events = [];
    private readonly List<Incident> _order = [];

    /// <summary>Metrics of an incident a new finding's movement is compared with (its first ones).</summary>
    public const int CorrelatedMembers = 16;

    /// <summary>Open incidents (the most recently opened) a new finding's movement is compared with:
    /// a storm of thousands of unrelated findings costs thousands of comparisons each, not millions.</summary>
    public const int CorrelatedIncidents = 256;
    private string _stamp = "";
    private int _serial;

    /// <summary>The open incidents.</summary>
    public IReadOnlyCollection<Incident> Open => _open.Values;

    /// <summary>Takes up the open incidents in the store (left by an earlier run, or changed by
    /// another shard's analyzer), in place of what the book held, so a restart continues them
    /// instead of opening them again.</summary>
    public void Restore(IEnumerable<Incident> incidents)
    {
        _open.Clear();
        _byMetric.Clear();
        _byParent.Clear();
        _byOwner.Clear();
        _byEvent.Clear();
        _order.Clear();
        foreach (var incident in incidents.Where(i => i.State == IncidentState.Open).OrderBy(i => i.OpenedAt).ThenBy(i => i.Id, StringComparer.Ordinal))
        {
            _open[incident.Id] = incident;
            _order.Add(incident);
            if (incident.Kind == FindingKind.Anomaly && incident.AfterEvent is { } after)
            {
                _byEvent[after.Id] = incident;
            }
            foreach (var m in incident.Metrics)
            {
                _byMetric[(incident.Kind, m.Metric)] = incident;
                Index(incident, m.Metric, m.Owner);
            }
        }
    }

    /// <summary>One pass: its findings (what is anomalous now), the pass time, and the
    /// acknowledgements and silences in the store; <paramref name="events"/>: the events (deploys)
    /// around the findings, oldest first. Returns what happened; <paramref name="changed"/>
    /// gets every incident that changed (to store), resolved ones included.</summary>
    public List<IncidentEvent> Observe(IReadOnlyList<AnomalyRecord> findings, long now, IReadOnlyCollection<Silence> silences,
        IReadOnlyDictionary<string, Acknowledgement> acknowledgements, out List<Incident> changed, IReadOnlyCollection<string>? abnormal = null,
        IReadOnlyList<Horizon.Storage.Events.HorizonEvent>? events = null)
    {
        _events = events ?? [];
        var happened = new List<IncidentEvent>();
        var touched = new HashSet<Incident>(ReferenceEqualityComparer.Instance);
        // Still abnormal though not reported (a shift that holds): its incident is not over.
        foreach (var metric in abnormal ?? [])
        {
            if (_byMetric.TryGetValue((FindingKind.Anomaly, metric), out var holding) && holding.Metrics.Find(m => m.Metric == metric) is { } member)
            {
                member.LastSeen = now;
            }
        }
        // The strongest first: it opens the incident the others join.
        foreach (var finding in findings.OrderBy(f => f.Timestamp).ThenByDescending(f => f.Score ?? (f.Votes / 10.0)))
        {
            if (_byMetric.TryGetValue((finding.Kind, finding.Metric), out var incident))
            {
                var member = incident.Metrics.Find(m => m.Metric == finding.Metric);
                if (member is not null)
                {
                    Update(member, finding, now);
                }
                if (Grow(incident, finding))
                {
                    happened.Add(Event(incident, "escalated", now, finding.Metric));
                }
                touched.Add(incident);
                continue;
            }
            var (related, correlation) = finding.Kind == FindingKind.Anomaly ? Related(finding) : (null, null);
            if (related is null)
            {
                incident = new Incident
                {
                    Id = NewId(now),
                    Kind = finding.Kind,
                    Shard = shard,
                    State = IncidentState.Open,
                    StartedAt = finding.Timestamp,
                    OpenedAt = now,
                    LastAt = finding.Timestamp,
                    AfterEvent = EventBefore(finding.Timestamp),
                };
                if (incident.Kind == FindingKind.Anomaly && incident.AfterEvent is { } after)
                {
                    _byEvent.TryAdd(after.Id, incident);
                }
                _open[incident.Id] = incident;
                _order.Add(incident);
                Join(incident, finding, now, null);
                Grow(incident, finding);
                happened.Add(Event(incident, "opened", now, finding.Metric));
            }
            else
            {
                Join(related, finding, now, correlation);
                if (Grow(related, finding))
                {
                    happened.Add(Event(related, "escalated", now, finding.Metric));
                }
                happened.Add(Event(related, "joined", now, finding.Metric));
                incident = related;
            }
            touched.Add(incident);
        }

        foreach (var incident in _open.Values.ToList())
        {
            if (acknowledgements.TryGetValue(incident.Id, out var ack) && incident.Acknowledged != ack)
            {
                incident.Acknowledged = ack;
                happened.Add(Event(incident, "acknowledged", now, ack.By));
                touched.Add(incident);
            }
            var silence = silences.FirstOrDefault(s => s.ActiveAt(now) && incident.MoreMetrics == 0 && incident.Metrics.TrueForAll(m => s.Matches(m.Metric, m.Owner)))?.Id;
            if (silence != incident.SilencedBy)
            {
                happened.Add(Event(incident, silence is null ? "unsilenced" : "silenced", now, silence ?? incident.SilencedBy));
                incident.SilencedBy = silence;
                touched.Add(incident);
            }
            if (incident.Metrics.TrueForAll(m => now - m.LastSeen >= options.ResolveAfter.TotalSeconds))
            {
                incident.State = IncidentState.Resolved;
                incident.ResolvedAt = now;
                _open.Remove(incident.Id);
                _order.Remove(incident);
                if (incident.AfterEvent is { } after && _byEvent.GetValueOrDefault(after.Id) == incident)
                {
                    _byEvent.Remove(after.Id);
                }
                foreach (var m in incident.Metrics)
                {
                    _byMetric.Remove((incident.Kind, m.Metric));
                    if (Parent(m.Metric) is { } parent && _byParent.GetValueOrDefault(parent) == incident)
                    {
                        _byParent.Remove(parent);
                    }
                    if (m.Owner is { } owner && _byOwner.GetValueOrDefault(owner) == incident)
                    {
                        _byOwner.Remove(owner);
                    }
                }
                happened.Add(Event(incident, "resolved", now));
                touched.Add(incident);
            }
        }
        changed = [.. touched];
        return happened;
    }

    // The open anomaly incident of the same moment this finding belongs with, and the correlation
    // it joined by (null when by name or owner).
    private (Incident?, double?) Related(AnomalyRecord finding)
    {
        var window = options.GroupWindow.TotalSeconds;
        bool Near(Incident? i) => i is { State: IncidentState.Open } && Math.Abs(finding.Timestamp - i.LastAt) <= window;
        if (options.GroupOwners && !string.IsNullOrEmpty(finding.Owner) && _byOwner.GetValueOrDefault(finding.Owner) is var byOwner && Near(byOwner))
        {
            return (byOwner, null);
        }
        if (options.GroupSiblings && Parent(finding.Metric) is { } parent && _byParent.GetValueOrDefault(parent) is var sibling && Near(sibling))
        {
            return (sibling, null);
        }
        if (options.GroupEvents && EventBefore(finding.Timestamp) is { } after && _byEvent.GetValueOrDefault(after.Id) is { State: IncidentState.Open } afterSame)
        {
            return (afterSame, null);
        }
        var movement = options.MinCorrelation > 0 ? finding.Movement : null;
        if (movement is null)
        {
            return (null, null);
        }
        Incident? best = null;
        var bestCorrelation = 0.0;
        var candidates = 0;
        for (var k = _order.Count - 1; k >= 0 && candidates < CorrelatedIncidents; k--)
        {
            var incident = _order[k];
            if (incident.Kind != FindingKind.Anomaly || !Near(incident))
            {
                continue;
            }
            candidates++;
            for (var j = 0; j < Math.Min(incident.Metrics.Count, CorrelatedMembers); j++)
            {
                if (incident.Metrics[j].Movement is { } other)
                {
                    var r = movement.Correlation(other);
                    if (r >= options.MinCorrelation && r > bestCorrelation)
                    {
                        (best, bestCorrelation) = (incident, r);
                    }
                }
            }
        }
        return best is null ? (null, null) : (best, Math.Round(bestCorrelation, 3));
    }

    // The latest event at most EventWindow before a finding at data time t.
    private Horizon.Storage.Events.HorizonEvent? EventBefore(long t)
    {
        for (var k = _events.Count - 1; k >= 0; k--)
        {
            var e = _events[k];
            if (e.When <= t)
            {
                return t - e.When <= options.EventWindow.TotalSeconds ? e : null;
            }
        }
        return null;
    }

    private static string? Parent(string metric)
    {
        var dot = metric.LastIndexOf('.');
        return dot > 0 ? metric[..dot] : null;
    }

    // Sibling and owner lookups of an anomaly incident's metric.
    private void Index(Incident incident, string metric, string? owner)
    {
        if (incident.Kind != FindingKind.Anomaly)
        {
            return;
        }
        if (Parent(metric) is { } parent)
        {
            _byParent[parent] = incident;
        }
        if (!string.IsNullOrEmpty(owner))
        {
            _byOwner[owner] = incident;
        }
    }

    private void Join(Incident incident, AnomalyRecord finding, long now, double? correlation)
    {
        _byMetric[(incident.Kind, finding.Metric)] = incident;
        Index(incident, finding.Metric, finding.Owner);
        if (!string.IsNullOrEmpty(finding.Owner) && incident.Owners.BinarySearch(finding.Owner, StringComparer.Ordinal) is var at && at < 0)
        {
            incident.Owners.Insert(~at, finding.Owner);
        }
        if (incident.Metrics.Count >= options.MaxMetrics)
        {
            incident.MoreMetrics++;
            return;
        }
        var member = new IncidentMetric
        {
            Metric = finding.Metric,
            FirstAt = finding.Timestamp,
            Correlation = correlation,
            Movement = incident.Kind == FindingKind.Anomaly && incident.Metrics.Count < CorrelatedMembers ? finding.Movement : null,
        };
        incident.Metrics.Add(member);
        Update(member, finding, now);
    }

    private static void Update(IncidentMetric member, AnomalyRecord finding, long now)
    {
        member.Owner = finding.Owner;
        if (member.Movement is not null && finding.Movement is { } movement)
        {
            member.Movement = movement;
        }
        member.LastAt = Math.Max(member.LastAt, finding.Timestamp);
        member.LastSeen = now;
        member.Value = finding.Value;
        if (member.Reasons is null || (finding.Score ?? 0) > (member.Peak ?? 0) || finding.Votes > member.Votes)
        {
            member.Reasons = finding.Reasons ?? (finding.Algorithms.Count > 0 ? [AnomalyRecord.SkylineReason(finding.Votes, finding.Consensus, finding.Algorithms)] : null);
        }
        if (finding.Score is { } score && score > (member.Peak ?? double.MinValue))
        {
            member.Peak = score;
        }
        member.Votes = Math.Max(member.Votes, finding.Votes);
    }

    // The incident's last finding, peak and severity; true when the severity rose to critical.
    private bool Grow(Incident incident, AnomalyRecord finding)
    {
        incident.LastAt = Math.Max(incident.LastAt, finding.Timestamp);
        if (finding.Score is { } score && score > (incident.Peak ?? double.MinValue))
        {
            incident.Peak = score;
            incident.PeakMetric = finding.Metric;
        }
        var critical = incident.Peak >= options.CriticalScore || (incident.Peak is null && finding.Votes >= 8);
        if (critical && incident.Severity != "critical")
        {
            incident.Severity = "critical";
            return true;
        }
        return false;
    }

    private string NewId(long now)
    {
        var stamp = DateTimeOffset.FromUnixTimeSeconds(now).ToString("yyyyMMdd'T'HHmm'Z'", CultureInfo.InvariantCulture);
        if (stamp != _stamp)
        {
            (_stamp, _serial) = (stamp, 0);
        }
        string id;
        do
        {
            id = shard == "0/1" ? $"{stamp}-{++_serial}" : $"{stamp}-{shard.Replace('/', 'o')}-{++_serial}";
        }
        while (_open.ContainsKey(id));
        return id;
    }

    private static IncidentEvent Event(Incident incident, string what, long now, string? metric = null) =>
        new(incident.Id, what, now, metric, incident.MetricCount, incident.Peak, incident.Title());
}
