using System.Diagnostics;
using System.Net;
using System.Text.Json;
using static Horizon.Integration.Tests.AnalyzerTests;
using static Horizon.Integration.Tests.TestSupport;

namespace Horizon.Integration.Tests;

/// <summary>Graphite's read API, asked the way Grafana's Graphite data source asks (the request
/// shapes below are Grafana's), and checked against graphite-web itself: Debian's graphite-web
/// 1.1.8 renders the same points from whisper files with its own functions and JSON renderer
/// (Graphite/graphite_reference.py), and Horizon's answer must be the same, series for series,
/// timestamp for timestamp.</summary>
public sealed class GraphiteTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    // Every function served, alone and nested, over globs, braces and classes, mixed steps, gaps
    // and a counter that resets.
    private static readonly string[] Targets =
    [
        "app.web1.requests", "app.*.requests", "app.{web1,db}.requests", "app.web[12].requests", "app.web?.requests",
        "alias(app.web1.requests,'front end')", "aliasByNode(app.*.requests,1)", "aliasByNode(app.*.requests,0,-1)", "aliasByMetric(app.*.requests)",
        "sumSeries(app.*.requests)", "sum(app.web*.requests)", "averageSeries(app.*.requests)", "avg(app.*.requests)",
        "maxSeries(app.*.requests)", "minSeries(app.*.requests)", "group(app.web1.requests,app.db.requests)",
        "sumSeries(app.web1.requests,app.fast.latency)", "averageSeries(app.fast.latency,app.db.requests)",
        "scale(app.*.requests,0.5)", "offset(app.web1.requests,-3)",
        "summarize(app.web1.requests,'1h','sum')", "summarize(app.web1.requests,'15min','avg')", "summarize(app.web1.requests,'1h','max',true)",
        "summarize(app.fast.latency,'10min','last')",
        "movingAverage(app.web1.requests,5)", "movingAverage(app.web1.requests,'10min')", "movingAverage(app.fast.latency,'5min')",
        "nonNegativeDerivative(hits.counter)", "nonNegativeDerivative(hits.counter,1000000)", "perSecond(hits.counter)", "derivative(hits.counter)",
        "asPercent(app.*.requests)", "asPercent(app.web1.requests,app.db.requests)", "asPercent(app.web1.requests,1000)",
        "timeShift(app.web1.requests,'1h')", "timeShift(app.web1.requests,'-30min')", "timeShift(app.web1.requests,'+15min')",
        "consolidateBy(app.web1.requests,'max')",
        "alias(summarize(sumSeries(app.*.requests),'30min','sum'),'total per half hour')",
        "perSecond(summarize(hits.counter,'5min','max'))",
        "no.such.metric", "sumSeries(no.such.*)",
    ];

    [Fact]
    public async Task RenderAndFindAnswerAsGraphiteWebDoesForTheSamePoints()
    {
        await using var host = await HorizonHost.StartAsync(null);
        var web = $"http://{host.Endpoint("web")}";
        var now = Now - (Now % 60);
        var series = await SeedAsync(host, now);
        // graphite-web is asked with its `now` at `until`, and so is Horizon: what lies past it
        // ("+15min" reads ahead) is cut at the same second on both sides, whatever the clock says.
        var (from, until) = (now - (2 * 3600), now);
        string[] finds = ["*", "app.*", "app.{web1,db}", "app.web?.*", "app.*.req*", "hits", "hits.*", "nothing.*"];

        foreach (var maxDataPoints in new int?[] { null, 50, 1 })
        {
            var reference = Reference(series, Targets, finds, from, until, maxDataPoints);
            using var http = new HttpClient();
            foreach (var target in Targets)
            {
                // Grafana's request: POST /render, a form of target, from, until, format, maxDataPoints.
                var form = new List<KeyValuePair<string, string>> { new("target", target), new("from", from.ToString()), new("until", until.ToString()), new("now", until.ToString()), new("format", "json") };
                if (maxDataPoints is { } m)
                {
                    form.Add(new("maxDataPoints", m.ToString()));
                }
                using var body = new FormUrlEncodedContent(form);
                var response = await http.PostAsync($"{web}/render", body, Ct);
                var text = await response.Content.ReadAsStringAsync(Ct);
                Assert.True(response.IsSuccessStatusCode, $"{target}: {(int)response.StatusCode} {text}");
                var expected = reference.GetProperty("render").GetProperty(target);
                Assert.True(expected.ValueKind == JsonValueKind.Array, $"graphite-web refused {target}: {expected}");
                AssertSame(target, maxDataPoints, expected, JsonDocument.Parse(text).RootElement);
            }
            if (maxDataPoints is null)
            {
                foreach (var query in finds)
                {
                    // Grafana's request: GET /metrics/find?query=...&from=...&until=... (treejson).
                    var nodes = JsonDocument.Parse(await http.GetStringAsync($"{web}/metrics/find?query={Uri.EscapeDataString(query)}&from={from}&until={until}", Ct)).RootElement;
                    var found = nodes.EnumerateArray().Select(n => $"{n.GetProperty("id").GetString()}:{n.GetProperty("leaf").GetInt32() == 1}").Order(StringComparer.Ordinal);
                    var wanted = reference.GetProperty("find").GetProperty(query).EnumerateArray()
                        .Select(n => $"{n.GetProperty("path").GetString()}:{n.GetProperty("leaf").GetBoolean()}").Order(StringComparer.Ordinal);
                    Assert.Equal(string.Join(' ', wanted), string.Join(' ', found));
                    Assert.All(nodes.EnumerateArray(), n => Assert.Equal(n.GetProperty("leaf").GetInt32() == 0 ? 1 : 0, n.GetProperty("expandable").GetInt32()));
                }
            }
        }
    }

    [Fact]
    public async Task GrafanasOtherRequestsAreAnsweredAndBadOnesRefusedWithAReason()
    {
        await using var host = await HorizonHost.StartAsync(null);
        var web = $"http://{host.Endpoint("web")}";
        var now = Now - (Now % 60);
        await SeedAsync(host, now);
        using var http = new HttpClient();

        // Grafana's relative times ("now-6h" becomes "-6h", "5m" becomes "5min") and a GET render.
        var rendered = JsonDocument.Parse(await http.GetStringAsync($"{web}/render?target=app.web1.requests&from=-6h&until=now&format=json&maxDataPoints=20", Ct)).RootElement;
        Assert.Equal("app.web1.requests", rendered[0].GetProperty("target").GetString());
        Assert.InRange(rendered[0].GetProperty("datapoints").GetArrayLength(), 10, 20);
        Assert.Equal("app.web1.requests", rendered[0].GetProperty("tags").GetProperty("name").GetString());
        Assert.Equal(3, JsonDocument.Parse(await http.GetStringAsync($"{web}/render?target=app.*.requests&from=-10min&until=now&format=json", Ct)).RootElement.GetArrayLength());

        // The version (1.1: Grafana then asks for /functions) and the function index Grafana's editor reads.
        Assert.Equal(Horizon.Web.GraphiteApi.Version, await http.GetStringAsync($"{web}/version", Ct));
        var functions = JsonDocument.Parse(await http.GetStringAsync($"{web}/functions", Ct)).RootElement;
        var summarize = functions.GetProperty("summarize");
        Assert.Equal("Transform", summarize.GetProperty("group").GetString());
        Assert.Equal(["seriesList", "intervalString", "func", "alignToFrom"], summarize.GetProperty("params").EnumerateArray().Select(p => p.GetProperty("name").GetString()));
        Assert.True(functions.TryGetProperty("perSecond", out _));
        // No tags: empty answers, not 404s that Grafana would show as errors.
        Assert.Equal("[]", await http.GetStringAsync($"{web}/tags", Ct));
        Assert.Equal("[]", await http.GetStringAsync($"{web}/tags/autoComplete/tags?expr=name%3Dx", Ct));
        var index = JsonDocument.Parse(await http.GetStringAsync($"{web}/metrics/index.json", Ct)).RootElement;
        Assert.Equal(["app.db.requests", "app.fast.latency", "app.web1.requests", "app.web2.requests", "hits.counter"], index.EnumerateArray().Select(n => n.GetString()));
        var completer = JsonDocument.Parse(await http.GetStringAsync($"{web}/metrics/find?query=app.*&format=completer", Ct)).RootElement;
        Assert.Contains(completer.GetProperty("metrics").EnumerateArray(), n => n.GetProperty("path").GetString() == "app.web1." && n.GetProperty("is_leaf").GetString() == "0");

        // What cannot be answered says why, with a 400.
        foreach (var (query, why) in new[]
        {
            ("target=sumSeries(app.*&format=json", "unclosed call to sumSeries"),
            ("target=holtWintersForecast(app.web1.requests)&format=json", "unknown function holtWintersForecast"),
            ("target=app.web1.requests&format=png", "format=png is not served"),
            ("target=app.web1.requests&from=yesterdayish", "Graphite times"),
            ("target=app.web1.requests&from=-1h&until=-2h", "from before until"),
            ("target=app.web1.requests&maxDataPoints=0", "maxDataPoints"),
            ("target=app.[web", "unclosed '['"),
        })
        {
            var response = await http.GetAsync($"{web}/render?{query}", Ct);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Contains(why, await response.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        }
        Assert.Equal(HttpStatusCode.BadRequest, (await http.GetAsync($"{web}/metrics/find?query=", Ct)).StatusCode);
    }

    [Fact]
    public async Task DeploysAndIncidentsAreGraphiteEventsForGrafanasAnnotations()
    {
        await using var host = await HorizonHost.StartAsync(null, new Dictionary<string, string?>
        {
            ["Analyzer:MinPassInterval"] = "00:00:00.5",
            ["Analyzer:Mode"] = "ensemble",
        });
        var web = $"http://{host.Endpoint("web")}";
        using var anonymous = new HttpClient();
        using var writer = WritingClient();
        var now = Now;
        // A deploy tool that posts to Graphite's event API (tags as Graphite 1.1 takes them, a string).
        using (var deploy = new StringContent($$"""{"what":"deploy web 1234","tags":"deploy web","when":{{now - 600}},"data":"master at abc123"}"""))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.PostAsync($"{web}/events/", deploy, Ct)).StatusCode);
            Assert.Equal(HttpStatusCode.Created, (await writer.PostAsync($"{web}/events/", deploy, Ct)).StatusCode);
        }
        var random = new Random(5);
        await AnalyzerTests.SeedAsync(host.Db, "web.latency", Day(now, i => i == 1439 ? 900 : 100 + (random.NextDouble() * 10)));
        await WaitUntilAsync(async () => JsonDocument.Parse(await anonymous.GetStringAsync($"{web}/api/incidents?state=open", Ct)).RootElement
            .GetProperty("count").GetInt32() == 1, "an incident", 60);

        // Grafana's request for an annotation by tags: GET /events/get_data?from=..&until=..&tags=...
        async Task<JsonElement> Events(string tags) =>
            JsonDocument.Parse(await anonymous.GetStringAsync($"{web}/events/get_data?from=-1h&until=now{tags}", Ct)).RootElement;
        var deploys = await Events("&tags=deploy");
        var only = Assert.Single(deploys.EnumerateArray());
        Assert.Equal("deploy web 1234", only.GetProperty("what").GetString());
        Assert.Equal(now - 600, only.GetProperty("when").GetInt64());
        Assert.Equal(["deploy", "web"], only.GetProperty("tags").EnumerateArray().Select(t => t.GetString()));
        Assert.Equal("master at abc123", only.GetProperty("data").GetString());
        var anomalies = await Events("&tags=anomaly");
        var incident = Assert.Single(anomalies.EnumerateArray());
        Assert.StartsWith("anomaly ", incident.GetProperty("what").GetString(), StringComparison.Ordinal);
        Assert.Contains("web.latency", incident.GetProperty("what").GetString(), StringComparison.Ordinal);
        Assert.Contains("web.latency", incident.GetProperty("tags").EnumerateArray().Select(t => t.GetString()));
        // A panel's annotation narrowed to its metrics (a glob), and one that matches nothing.
        Assert.Single((await Events("&tags=anomaly%20web.*")).EnumerateArray());
        Assert.Empty((await Events("&tags=anomaly%20db.*")).EnumerateArray());
        // No tags: everything, oldest first.
        Assert.Equal(["deploy web 1234", incident.GetProperty("what").GetString()], (await Events("")).EnumerateArray().Select(e => e.GetProperty("what").GetString()));
    }

    [Fact]
    public async Task AWideGlobIsRefusedBeyondTheSeriesLimit()
    {
        await using var host = await HorizonHost.StartAsync(null, new Dictionary<string, string?> { ["Web:GraphiteMaxSeries"] = "3" });
        var web = $"http://{host.Endpoint("web")}";
        await SeedAsync(host, Now - (Now % 60));
        using var http = new HttpClient();
        var response = await http.GetAsync($"{web}/render?target=app.*.*&format=json", Ct);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("more than 3 series (Web:GraphiteMaxSeries)", await response.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync($"{web}/render?target=app.web*.requests&format=json", Ct)).StatusCode);
    }

    // Three hours of points at a minute (gaps in two), one at ten seconds, and a counter that
    // resets; stored in Horizon, and returned for graphite-web's whisper files.
    private static async Task<Dictionary<string, (int Step, List<(long, double)> Points)>> SeedAsync(HorizonHost host, long now)
    {
        var random = new Random(23);
        var series = new Dictionary<string, (int, List<(long, double)>)>
        {
            ["app.web1.requests"] = (60, [.. Day(now, i => Math.Round(100 + (10 * Math.Sin(i / 10.0)) + random.NextDouble(), 3), 180).Where((_, i) => i % 17 != 5)]),
            ["app.web2.requests"] = (60, [.. Day(now, i => Math.Round(50 + (random.NextDouble() * 20), 3), 180).Where((_, i) => i % 23 != 7)]),
            ["app.db.requests"] = (60, [.. Day(now, i => 200 + (i % 13), 180)]),
            ["app.fast.latency"] = (10, [.. Day(now, i => Math.Round(5 + random.NextDouble(), 4), 1080, 10)]),
            ["hits.counter"] = (60, [.. Day(now, i => i < 100 ? 1000 + (i * 37) : (i - 100) * 41, 180)]),
        };
        foreach (var (name, (_, points)) in series)
        {
            await AnalyzerTests.SeedAsync(host.Db, name, points);
        }
        return series;
    }

    private static JsonElement Reference(Dictionary<string, (int Step, List<(long, double)> Points)> series, string[] targets, string[] finds, long from, long until, int? maxDataPoints)
    {
        var dir = Directory.CreateTempSubdirectory("graphite-web-");
        try
        {
            var request = JsonSerializer.Serialize(new
            {
                dir = dir.FullName,
                from,
                until,
                maxDataPoints,
                targets,
                finds,
                series = series.ToDictionary(s => s.Key, s => new { step = s.Value.Step, points = s.Value.Points.Select(p => new[] { p.Item1, p.Item2 }) }),
            });
            var script = Path.Combine(AppContext.BaseDirectory, "Graphite", "graphite_reference.py");
            using var python = Process.Start(new ProcessStartInfo("/usr/bin/python3", [script])
            {
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            }) ?? throw new InvalidOperationException("cannot start /usr/bin/python3");
            python.StandardInput.Write(request);
            python.StandardInput.Close();
            var stderr = python.StandardError.ReadToEndAsync(Ct);
            var output = python.StandardOutput.ReadToEnd();
            python.WaitForExit();
            Assert.True(python.ExitCode == 0, $"graphite-web's reference failed (test.sh installs graphite-web with apt-get): {stderr.Result}");
            return JsonDocument.Parse(output).RootElement.Clone();
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    private static void AssertSame(string target, int? maxDataPoints, JsonElement expected, JsonElement actual)
    {
        var what = $"{target} (maxDataPoints {maxDataPoints?.ToString() ?? "none"})";
        Assert.True(expected.GetArrayLength() == actual.GetArrayLength(), $"{what}: graphite-web has {expected.GetArrayLength()} series, Horizon {actual.GetArrayLength()}: {actual}");
        for (var s = 0; s < expected.GetArrayLength(); s++)
        {
            var (e, a) = (expected[s], actual[s]);
            Assert.Equal(e.GetProperty("target").GetString(), a.GetProperty("target").GetString());
            var (ep, ap) = (e.GetProperty("datapoints"), a.GetProperty("datapoints"));
            Assert.True(ep.GetArrayLength() == ap.GetArrayLength(),
                $"{what} {e.GetProperty("target")}: graphite-web {ep.GetArrayLength()} points from {(ep.GetArrayLength() > 0 ? ep[0][1] : default)}, Horizon {ap.GetArrayLength()} from {(ap.GetArrayLength() > 0 ? ap[0][1] : default)}");
            for (var i = 0; i < ep.GetArrayLength(); i++)
            {
                Assert.True(ep[i][1].GetInt64() == ap[i][1].GetInt64(), $"{what}: point {i} at {ep[i][1]} in graphite-web, {ap[i][1]} in Horizon");
                var (ev, av) = (ep[i][0], ap[i][0]);
                var same = ev.ValueKind == JsonValueKind.Null ? av.ValueKind == JsonValueKind.Null
                    : av.ValueKind == JsonValueKind.Number && Math.Abs(ev.GetDouble() - av.GetDouble()) <= 1e-9 * Math.Max(1, Math.Abs(ev.GetDouble()));
                Assert.True(same, $"{what} {e.GetProperty("target")}: at {ep[i][1]} graphite-web has {ev}, Horizon {av}");
            }
        }
    }
}
