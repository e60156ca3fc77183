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

    /// <summary>How long past its window a deploy is still decided (Horizon was down meanwhile).</summary>
    private const long CatchUpSeconds = 3600;

    /// <summary>What a deploy with no stored verdict is at <paramref name="now"/>: <c>pending</c>
    /// while <see cref="DecideAsync"/> may still decide it (until an hour past its window),
    /// <c>not_decided</c> after.</summary>
    public static DeployVerdict Undecided(HorizonEvent deploy, DeployOptions options, long now)
    {
        var decidesAt = deploy.When + (long)options.Window.TotalSeconds;
        return new DeployVerdict(deploy.Id, deploy.What, deploy.When, now > decidesAt + CatchUpSeconds ? "not_decided" : "pending", decidesAt, null, []);
    }

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
        List<(string Metric, MetricMetadata Metadata)>? kpis = null;
        for (var i = 0; i < due.Count; i++)
        {
            if (!known[i].IsNull)
            {
                continue;
            }
            kpis ??= await KpisAsync();
            var deploy = due[i];
            var judged = new List<KpiVerdict>();
            foreach (var (metric, metadata) in kpis.Take(options.MaxKpis))
            {
                byte[]? raw = await db.StringGetAsync(StoreKeys.Series(metric, fullNamespace));
                var (ts, vs) = raw is null ? ([], []) : SeriesCodec.DecodeAll(raw, out _);
                var expected = await ExpectedAsync(metric, metadata.Seasonality, deploy.When);
                judged.Add(DeployJudge.Judge(metric, ts, vs, deploy.When, options, metadata.BadDirection, expected));
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
    /// metadata says <c>"kpi": true</c>; by name, with their metadata.</summary>
    public async Task<List<(string Metric, MetricMetadata Metadata)>> KpisAsync()
    {
        var db = store.Database;
        var metadata = new Dictionary<string, MetricMetadata>(StringComparer.Ordinal);
        var names = new SortedSet<string>(StringComparer.Ordinal);
        await foreach (var entry in db.HashScanAsync(StoreKeys.Metadata, pageSize: 1000))
        {
            if (MetricMetadata.TryParse(entry.Value) is { } m)
            {
                metadata[entry.Name!] = m;
                if (m.Kpi)
                {
                    names.Add(entry.Name!);
                }
            }
        }
        if (options.Kpis.Count > 0)
        {
            var globs = options.Kpis.Select(g => new Incidents.NameGlob(g)).ToList();
            await foreach (var member in store.ScanNamesAsync(pageSize: 1000))
            {
                var name = ((string)member!)[fullNamespace.Length..];
                if (globs.Any(g => g.IsMatch(name)))
                {
                    names.Add(name);
                }
            }
        }
        return [.. names.Select(n => (n, metadata.GetValueOrDefault(n, MetricMetadata.Default)))];
    }

    // A KPI whose metadata says it is daily or weekly: the change its roll-ups (ensemble mode) saw
    // from the baseline to the window a period before the deploy. Null without one (or without
    // roll-ups covering both stretches).
    private async Task<(double Change, string From)?> ExpectedAsync(string metric, SeasonalityMode seasonality, long when)
    {
        var period = seasonality switch { SeasonalityMode.Daily => 86400L, SeasonalityMode.Weekly => 7 * 86400L, _ => 0 };
        if (period == 0)
        {
            return null;
        }
        byte[]? raw = await store.Database.StringGetAsync(StoreKeys.Rollup(metric));
        if (raw is not { Length: >= RollupHistory.HeaderBytes } || RollupHistory.StoredSlotSeconds(raw) is not (>= 1 and var slot))
        {
            return null;
        }
        var history = new RollupHistory(slot, int.MaxValue);
        if (!history.TryLoad(raw))
        {
            return null;
        }
        // The whole slots on either side of the deploy's time a period ago (a slot straddling it
        // would blur the change): the baseline's before it, and from it on at least one.
        double Mean(long firstSlot, long endSlot)
        {
            double sum = 0;
            var n = 0;
            for (var s = firstSlot; s < endSlot; s++)
            {
                if (history.At(s) is var v && !float.IsNaN(v))
                {
                    sum += v;
                    n++;
                }
            }
            return n == 0 ? double.NaN : sum / n;
        }
        var then = when - period;
        var firstAfter = history.SlotOf(then + slot - 1);
        var before = Mean(history.SlotOf(then - (long)options.Baseline.TotalSeconds + slot - 1), history.SlotOf(then));
        var after = Mean(firstAfter, Math.Max(firstAfter + 1, history.SlotOf(then + (long)options.Window.TotalSeconds + slot - 1)));
        return double.IsNaN(before) || double.IsNaN(after) ? null
            : (after - before, period == 86400 ? "the same time yesterday" : "the same time last week");
    }
}
