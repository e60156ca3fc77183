using System.Text.Json;
using Horizon.Algorithms.Detection;
using Horizon.Analyzer.Incidents;
using Horizon.Core;
using Horizon.Core.Series;
using Horizon.Graphite;
using Horizon.Storage;
using Horizon.Storage.Events;
using Microsoft.Extensions.Primitives;
using StackExchange.Redis;

namespace Horizon.Web;

/// <summary>
/// Graphite's read API over what Horizon holds, so a Grafana Graphite data source (or anything else
/// that reads Graphite) works pointed at Horizon:
/// <list type="bullet">
/// <item><c>/render</c> (GET or POST form, as Grafana sends it): <c>target</c> (repeated), <c>from</c>,
/// <c>until</c>, <c>maxDataPoints</c>, <c>format=json</c>; the functions in <see cref="Render.Functions"/>.
/// A range within <c>Series:FullDuration</c> reads the stored points; an older one the analyzer's
/// 10-minute roll-ups (ensemble mode), as whisper picks the archive that covers the range.</item>
/// <item><c>/metrics/find</c> (globs and braces; treejson or completer), <c>/metrics/index.json</c>.</item>
/// <item><c>/events/get_data</c>: the events (deploys) and the incidents (tag <c>anomaly</c>) as
/// Graphite events, for Grafana's annotations; <c>POST /events/</c> stores one (write token).</item>
/// <item><c>/functions</c>, <c>/version</c>, and empty <c>/tags</c> answers (Horizon's series have no tags).</item>
/// </list>
/// </summary>
public static class GraphiteApi
{
    /// <summary>The graphite-web version whose API this answers as (Grafana enables /functions from 1.1).</summary>
    public const string Version = "1.1.8";

    /// <summary>Maps the endpoints.</summary>
    public static void MapGraphiteApi(this WebApplication app, SeriesOptions series)
    {
        app.MapMethods("/render", ["GET", "POST"], async (HttpContext context, StoreConnection store, GraphiteNames names, WebOptions options, TimeProvider time) =>
        {
            var request = context.Request;
            var form = request.HasFormContentType ? await request.ReadFormAsync(context.RequestAborted) : null;
            string? Get(string key) => form?[key] is { Count: > 0 } f ? f[0] : request.Query[key] is { Count: > 0 } q ? q[0] : null;
            var targets = StringValues.Concat(request.Query["target"], form?["target"] ?? StringValues.Empty).Where(t => !string.IsNullOrWhiteSpace(t)).ToList();
            var format = Get("format") ?? "json";
            if (format != "json")
            {
                return Results.BadRequest(new { error = $"format={format} is not served: Horizon renders format=json (what Grafana asks for), no images" });
            }
            // Graphite's `now`: the time relative from/until count from, and past which nothing is
            // read (a dashboard pinned to a moment); the clock by default.
            var wall = time.GetUtcNow().ToUnixTimeSeconds();
            if ((Get("now") is { } nowText ? GraphiteTime.Parse(nowText, wall) : wall) is not { } now)
            {
                return Results.BadRequest(new { error = "now is a Graphite time (Unix seconds, HH:MM_YYYYMMDD, YYYYMMDD, -1h)" });
            }
            if (GraphiteTime.Parse(Get("from") ?? "-1d", now) is not { } from || GraphiteTime.Parse(Get("until") ?? "now", now) is not { } until || until <= from)
            {
                return Results.BadRequest(new { error = "from and until are Graphite times (-6h, now, now-1d, Unix seconds, HH:MM_YYYYMMDD, YYYYMMDD), from before until" });
            }
            var maxDataPoints = 0;
            if (Get("maxDataPoints") is { } m && (!int.TryParse(m, out maxDataPoints) || maxDataPoints < 1))
            {
                return Results.BadRequest(new { error = "maxDataPoints is a positive whole number" });
            }
            var parsed = new List<Target>(targets.Count);
            try
            {
                parsed.AddRange(targets.Select(t => Target.Parse(t!)));
            }
            catch (FormatException e)
            {
                return Results.BadRequest(new { error = e.Message });
            }
            StoreSource source;
            try
            {
                // Whisper's choice of archive: the stored points when they reach back far enough, else the roll-ups.
                var earliest = parsed.Select(t => Earliest(t, from)).DefaultIfEmpty(from).Min();
                source = await StoreSource.LoadAsync(store, series, names, parsed.SelectMany(Patterns).Distinct(StringComparer.Ordinal),
                    rollups: now - earliest > series.FullDuration, now, series.FullDuration, options.GraphiteMaxSeries);
            }
            catch (ArgumentException e)
            {
                return Results.BadRequest(new { error = e.Message });
            }
            var results = new List<TimeSeries>();
            try
            {
                var render = new Render(source);
                foreach (var target in parsed)
                {
                    results.AddRange(render.Evaluate(target, from, until));
                }
                if (maxDataPoints > 0 && results.Count > 0)
                {
                    var timeRange = results.Max(s => s.End) - results.Min(s => s.Start);
                    results = results.ConvertAll(s => s.Consolidate(maxDataPoints, timeRange));
                }
            }
            catch (RenderException e)
            {
                return Results.BadRequest(new { error = e.Message });
            }
            return Results.Stream(stream => WriteAsync(stream, results), "application/json");
        });

        app.MapMethods("/metrics/find", ["GET", "POST"], async (HttpContext context, GraphiteNames names) =>
        {
            var request = context.Request;
            var form = request.HasFormContentType ? await request.ReadFormAsync(context.RequestAborted) : null;
            var query = form?["query"] is { Count: > 0 } f ? f[0] : request.Query["query"].FirstOrDefault();
            var format = (form?["format"] is { Count: > 0 } ff ? ff[0] : request.Query["format"].FirstOrDefault()) ?? "treejson";
            if (string.IsNullOrEmpty(query) || format is not ("treejson" or "completer"))
            {
                return Results.BadRequest(new { error = "query is a Graphite path pattern (a.b.*, a.{b,c}.d); format treejson (the default) or completer" });
            }
            GraphiteGlob glob;
            try
            {
                glob = new GraphiteGlob(query);
            }
            catch (ArgumentException e)
            {
                return Results.BadRequest(new { error = e.Message });
            }
            var nodes = Find(await names.AllAsync(), glob);
            return format == "completer"
                ? Results.Json(new { metrics = nodes.Select(n => new { path = n.Leaf ? n.Path : n.Path + ".", name = n.Text, is_leaf = n.Leaf ? "1" : "0" }) })
                : Results.Json(nodes.Select(n => new { text = n.Text, id = n.Path, leaf = n.Leaf ? 1 : 0, expandable = n.Leaf ? 0 : 1, allowChildren = n.Leaf ? 0 : 1 }));
        });
        app.MapGet("/metrics/index.json", async (GraphiteNames names) => Results.Json(await names.AllAsync()));

        app.MapGet("/events/get_data", async (string? from, string? until, string? tags, EventStore events, StoreConnection store, TimeProvider time) =>
        {
            var now = time.GetUtcNow().ToUnixTimeSeconds();
            if (GraphiteTime.Parse(from ?? "-1d", now) is not { } f || GraphiteTime.Parse(until ?? "now", now) is not { } u)
            {
                return Results.BadRequest(new { error = "from and until are Graphite times" });
            }
            var wanted = tags?.Split([' ', ','], StringSplitOptions.RemoveEmptyEntries) ?? [];
            var list = (await events.RangeAsync(f, u, wanted, 10_000)).Select(e => new { id = e.Id, when = e.When, what = e.What, tags = e.Tags, data = e.Data }).ToList();
            // Incidents, as events tagged "anomaly", their kind, severity, owners and metrics.
            foreach (var incident in await new IncidentStore(store).IncidentsAsync())
            {
                if (incident.StartedAt < f || incident.StartedAt > u)
                {
                    continue;
                }
                List<string> incidentTags = ["anomaly", incident.Kind.ToString().ToLowerInvariant(), incident.Severity, .. incident.Owners, .. incident.Metrics.Select(x => x.Metric)];
                if (wanted.All(w => incidentTags.Any(new GraphiteGlob(w).IsMatch)))
                {
                    list.Add(new
                    {
                        id = incident.Id,
                        when = incident.StartedAt,
                        what = $"{incident.Kind.ToString().ToLowerInvariant()} {incident.Id}: {incident.PeakMetric ?? incident.Metrics.FirstOrDefault()?.Metric}"
                            + (incident.Metrics.Count + incident.MoreMetrics > 1 ? $" and {incident.Metrics.Count + incident.MoreMetrics - 1} more" : ""),
                        tags = (IReadOnlyList<string>)incidentTags,
                        data = (string?)$"{incident.State.ToString().ToLowerInvariant()}; {string.Join(", ", incident.Metrics.Take(16).Select(x => x.Metric))}",
                    });
                }
            }
            return Results.Json(list.OrderBy(e => e.when));
        });
        app.MapPost("/events/", EventApi.CreateAsync); // and /events: routing ignores the trailing slash

        app.MapGet("/functions", () => Results.Json(Render.Functions.ToDictionary(f => f.Name, f => new
        {
            name = f.Name,
            group = f.Group,
            description = f.Description,
            module = "graphite.render.functions",
            @params = f.Params.Select(p => new { name = p.Name, type = p.Type, required = p.Required, multiple = p.Multiple }),
        })));
        app.MapGet("/version", () => Results.Text(Version));
        app.MapGet("/tags", () => Results.Json(Array.Empty<object>()));
        app.MapGet("/tags/autoComplete/tags", () => Results.Json(Array.Empty<string>()));
        app.MapGet("/tags/autoComplete/values", () => Results.Json(Array.Empty<string>()));
    }

    /// <summary>A node <c>/metrics/find</c> lists: a leaf (a series) or a branch (more below it).</summary>
    public readonly record struct FoundNode(string Path, string Text, bool Leaf);

    /// <summary>The nodes at the glob's depth that it matches, leaves and branches (a path can be
    /// both: a series and the parent of others), sorted by path.</summary>
    public static List<FoundNode> Find(string[] sorted, GraphiteGlob glob)
    {
        var found = new SortedDictionary<(string Path, bool Leaf), FoundNode>();
        foreach (var name in GraphiteNames.StartingWith(sorted, glob.Prefix))
        {
            // The first Depth nodes of the name.
            var end = -1;
            for (var d = 0; d < glob.Depth && (end = name.IndexOf('.', end + 1)) >= 0; d++)
            {
            }
            var leaf = end < 0;
            var path = leaf ? name : name[..end];
            if (path.Count(c => c == '.') + 1 != glob.Depth || found.ContainsKey((path, leaf)) || !glob.IsMatch(path))
            {
                continue;
            }
            found[(path, leaf)] = new FoundNode(path, path[(path.LastIndexOf('.') + 1)..], leaf);
        }
        return [.. found.Values];
    }

    // Every path pattern a target reads.
    private static IEnumerable<string> Patterns(Target target) => target switch
    {
        PathTarget p => [p.Pattern],
        FunctionCall c => c.Arguments.Concat(c.Named.Values).SelectMany(Patterns),
        _ => [],
    };

    // How far back a target reads: timeShift moves it, a moving average's window reaches before it.
    private static long Earliest(Target target, long from) => target switch
    {
        FunctionCall { Name: "timeShift" } c when c.Arguments.Count > 1 && c.Arguments[1] is StringArgument s
            && GraphiteTime.Offset(s.Value.StartsWith('-') || s.Value.StartsWith('+') ? s.Value : "-" + s.Value) is { } delta
            => Earliest(c.Arguments[0], from + delta),
        FunctionCall { Name: "movingAverage" } c when c.Arguments.Count > 1
            => Earliest(c.Arguments[0], from - (c.Arguments[1] switch
            {
                StringArgument s => Math.Abs(GraphiteTime.Offset(s.Value) ?? 0),
                NumberArgument n => (long)n.Value * 60,
                _ => 0,
            })),
        FunctionCall c => c.Arguments.Select(a => Earliest(a, from)).DefaultIfEmpty(from).Min(),
        _ => from,
    };

    private static async Task WriteAsync(Stream stream, List<TimeSeries> results)
    {
        await using var json = new Utf8JsonWriter(stream);
        json.WriteStartArray();
        foreach (var s in results)
        {
            json.WriteStartObject();
            json.WriteString("target", s.Name);
            json.WriteStartObject("tags");
            foreach (var (k, v) in s.Tags)
            {
                json.WriteString(k, v);
            }
            json.WriteEndObject();
            json.WriteStartArray("datapoints");
            for (var i = 0; i < s.Listed; i++)
            {
                json.WriteStartArray();
                var v = s.Values[i];
                if (double.IsFinite(v))
                {
                    json.WriteNumberValue(v);
                }
                else
                {
                    json.WriteNullValue();
                }
                json.WriteNumberValue(s.Start + (i * s.Step));
                json.WriteEndArray();
            }
            json.WriteEndArray();
            json.WriteEndObject();
            if (json.BytesPending > 64 * 1024)
            {
                await json.FlushAsync();
            }
        }
        json.WriteEndArray();
        await json.FlushAsync();
    }

    /// <summary>The series a render reads, fetched from the store up front (one pipelined read).</summary>
    private sealed class StoreSource : ISeriesSource
    {
        private readonly Dictionary<string, List<string>> _matches = new(StringComparer.Ordinal);
        private readonly Dictionary<string, (long[] Times, double[] Values)> _raw = new(StringComparer.Ordinal);
        private readonly Dictionary<string, (long[] Times, double[] Values, long Step)> _rollups = new(StringComparer.Ordinal);
        private long _now;
        private long _rawFrom;

        public static async Task<StoreSource> LoadAsync(StoreConnection store, SeriesOptions series, GraphiteNames names, IEnumerable<string> patterns,
            bool rollups, long now, long fullDuration, int maxSeries)
        {
            var source = new StoreSource { _now = now, _rawFrom = now - fullDuration };
            string[]? all = null;
            var wanted = new HashSet<string>(StringComparer.Ordinal);
            foreach (var pattern in patterns)
            {
                var glob = new GraphiteGlob(pattern);
                // A plain name is read even when the name list has not caught up with it yet.
                var matched = glob.IsLiteral ? [pattern] : GraphiteNames.Matching(all ??= await names.AllAsync(), glob).ToList();
                source._matches[pattern] = matched;
                wanted.UnionWith(matched);
                if (wanted.Count > maxSeries)
                {
                    throw new ArgumentException($"the targets match more than {maxSeries} series (Web:GraphiteMaxSeries); narrow the pattern");
                }
            }
            var keys = wanted.ToArray();
            var raw = await Task.WhenAll(keys.Select(k => store.Database.StringGetAsync(series.FullNamespace + k)));
            var stored = rollups ? await Task.WhenAll(keys.Select(k => store.Database.StringGetAsync(StoreKeys.Rollup(k)))) : null;
            for (var i = 0; i < keys.Length; i++)
            {
                if (raw[i] is { IsNull: false } r)
                {
                    source._raw[keys[i]] = SeriesCodec.DecodeAll((byte[])r!, out _);
                }
                if (stored?[i] is { IsNull: false } s && Rollup((byte[])s!) is { } history)
                {
                    source._rollups[keys[i]] = history;
                }
            }
            return source;
        }

        public IReadOnlyList<TimeSeries> Fetch(string pattern, long from, long until)
        {
            var result = new List<TimeSeries>();
            // As whisper: nothing from the future, and a range into it ends now.
            if (from >= _now)
            {
                return result;
            }
            until = Math.Min(until, _now);
            foreach (var name in _matches.GetValueOrDefault(pattern) ?? [])
            {
                if (from < _rawFrom && _rollups.TryGetValue(name, out var r))
                {
                    result.Add(Slots.FromPoints(name, r.Times, r.Values, from, until, r.Step, pattern));
                }
                else if (_raw.TryGetValue(name, out var p) && p.Times.Length > 0)
                {
                    result.Add(Slots.FromPoints(name, p.Times, p.Values, from, until, Slots.StepOf(p.Times), pattern));
                }
            }
            return result;
        }

        private static (long[], double[], long)? Rollup(byte[] raw)
        {
            var slotSeconds = raw.Length >= RollupHistory.HeaderBytes ? RollupHistory.StoredSlotSeconds(raw) : 0;
            var history = slotSeconds >= 1 ? new RollupHistory(slotSeconds, int.MaxValue) : null;
            if (history is null || !history.TryLoad(raw))
            {
                return null;
            }
            var times = new List<long>();
            var values = new List<double>();
            for (var i = 0; i < history.Slots.Length; i++)
            {
                if (!float.IsNaN(history.Slots[i]))
                {
                    times.Add((history.FirstSlot + i) * history.SlotSeconds);
                    values.Add(history.Slots[i]);
                }
            }
            return ([.. times], [.. values], history.SlotSeconds);
        }
    }
}
