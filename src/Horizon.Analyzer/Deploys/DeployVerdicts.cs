using System.Text.Json;
using Horizon.Algorithms.Detection;
using Horizon.Core;
using Horizon.Core.Series;
using Horizon.Storage;
using Horizon.Storage.Events;
using StackExchange.Redis;

namespace Horizon.Analyzer.Deploys;

/// <summary>
/// Decides each deploy's verdict once its window has passed (run by the first analyzer shard after
/// each pass): reads the KPIs' points from the store, judges each (<see cref="DeployJudge"/>), keeps
/// the verdict in <see cref="StoreKeys.Deploys"/>, and returns a finding per suspect or bad KPI, so a
/// deploy that broke something becomes an incident named after it and reaches the receivers.
/// Deploys more than an hour past their window (Horizon was down) are still decided, later ones not.
/// </summary>
public sealed class DeployVerdicts(StoreConnection store, EventStore events, DeployOptions options, string fullNamespace)
{
    /// <summary>JSON as stored and served.</summary>
    public static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    private const long CatchUpSeconds = 3600;

    /// <summary>Verdicts decided by the last call (for counting).</summary>
    public List<DeployVerdict> Decided { get; } = [];

    /// <summary>Decides the deploys whose window ended by <paramref name="now"/>.</summary>
    public async Task<List<AnomalyRecord>> DecideAsync(long now)
    {
        Decided.Clear();
        var findings = new List<AnomalyRecord>();
        if (options.Tag.Length == 0)
        {
            return findings;
        }
        var window = (long)options.Window.TotalSeconds;
        var due = await events.RangeAsync(now - window - CatchUpSeconds, now - window, [options.Tag]);
        if (due.Count == 0)
        {
            return findings;
        }
        var db = store.Database;
        var known = await db.HashGetAsync(StoreKeys.Deploys, [.. due.Select(e => (RedisValue)e.Id)]);
        List<(string Metric, BadDirection Direction)>? kpis = null;
        for (var i = 0; i < due.Count; i++)
        {
            if (!known[i].IsNull)
            {
                continue;
            }
            kpis ??= await KpisAsync();
            var deploy = due[i];
            var judged = new List<KpiVerdict>();
            foreach (var (metric, direction) in kpis.Take(options.MaxKpis))
            {
                byte[]? raw = await db.StringGetAsync(StoreKeys.Series(metric, fullNamespace));
                var (ts, vs) = raw is null ? ([], []) : SeriesCodec.DecodeAll(raw, out _);
                judged.Add(DeployJudge.Judge(metric, ts, vs, deploy.When, options, direction));
            }
            var verdict = new DeployVerdict(deploy.Id, deploy.What, deploy.When, DeployJudge.Worst(judged), deploy.When + window, now,
                judged, Math.Max(0, kpis.Count - options.MaxKpis));
            await db.HashSetAsync(StoreKeys.Deploys, deploy.Id, JsonSerializer.Serialize(verdict, Json));
            Decided.Add(verdict);
            foreach (var k in judged.Where(k => k.Verdict is "suspect" or "bad"))
            {
                findings.Add(new AnomalyRecord(k.Metric, deploy.When + window, k.After ?? 0, 0, 0, [], now,
                    Score: k.Verdict == "bad" ? 1.0 : 0.4, // critical, warning (Incidents:CriticalScore)
                    Reasons: [$"deploy verdict {k.Verdict} after {deploy.What}: {k.Reason}"]));
            }
        }
        return findings;
    }

    /// <summary>The KPIs: names matching a <see cref="DeployOptions.Kpis"/> glob, and metrics whose
    /// metadata says <c>"kpi": true</c>; by name.</summary>
    public async Task<List<(string Metric, BadDirection Direction)>> KpisAsync()
    {
        var db = store.Database;
        var directions = new Dictionary<string, BadDirection>(StringComparer.Ordinal);
        var names = new SortedSet<string>(StringComparer.Ordinal);
        await foreach (var entry in db.HashScanAsync(StoreKeys.Metadata, pageSize: 1000))
        {
            if (MetricMetadata.TryParse(entry.Value) is { } m)
            {
                directions[entry.Name!] = m.BadDirection;
                if (m.Kpi)
                {
                    names.Add(entry.Name!);
                }
            }
        }
        if (options.Kpis.Count > 0)
        {
            var globs = options.Kpis.Select(g => new Incidents.NameGlob(g)).ToList();
            await foreach (var member in db.SetScanAsync(StoreKeys.UniqueMetrics(fullNamespace), pageSize: 1000))
            {
                var name = ((string)member!)[fullNamespace.Length..];
                if (globs.Any(g => g.IsMatch(name)))
                {
                    names.Add(name);
                }
            }
        }
        return [.. names.Select(n => (n, directions.GetValueOrDefault(n, BadDirection.Both)))];
    }
}
