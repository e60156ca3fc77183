using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Horizon.Algorithms.Similarity;
using Horizon.Analyzer;
using Microsoft.Extensions.DependencyInjection;
using static Horizon.Integration.Tests.AnalyzerTests;
using static Horizon.Integration.Tests.TestSupport;

namespace Horizon.Integration.Tests;

/// <summary>Similarity search through the HTTP API over what the analyzer indexed from the embedded
/// store: planted shapes among two thousand random walks.</summary>
public sealed class SimilarTests
{
    private static readonly CancellationToken Ct = TestContext.Current.CancellationToken;

    // A bump five hours ago and a step an hour and a half ago, on a gentle daily wave.
    private static double Planted(int i) => 50 + (5 * Math.Sin(i / 229.0)) + (i is > 1100 and < 1160 ? 30 : 0) + (i > 1350 ? 20 : 0);

    internal static async Task<HorizonHost> StartSeededAsync(int randomMetrics = 2000)
    {
        var host = await HorizonHost.StartAsync(null, new Dictionary<string, string?> { ["Analyzer:MinPassInterval"] = "00:00:01" });
        var now = Now;
        var random = new Random(17);
        for (var m = 0; m < randomMetrics; m++)
        {
            var v = random.NextDouble() * 1000;
            await SeedAsync(host.Db, $"random.walk{m}", Day(now, _ => v += random.NextDouble() - 0.5));
        }
        await SeedAsync(host.Db, "planted.a", Day(now, i => Planted(i) + random.NextDouble()));
        await SeedAsync(host.Db, "planted.scaled", Day(now, i => (Planted(i) * 40) + 7000 + (random.NextDouble() * 40)));
        await SeedAsync(host.Db, "other.scaled", Day(now, i => (Planted(i) * 2) + random.NextDouble()));
        await SeedAsync(host.Db, "planted.later", Day(now, i => Planted(Math.Max(0, i - 20)) + random.NextDouble())); // 20 minutes later
        var index = host.Services.GetRequiredService<ShapeIndex>();
        await WaitUntilAsync(() => Task.FromResult(index.Day.Count == randomMetrics + 4), "the analyzer indexed every metric", 60);
        return host;
    }

    [Fact]
    public async Task SimilarMetricsAreFoundFirstScaledShiftedOrDrawnAndEqualBruteForce()
    {
        await using var host = await StartSeededAsync();
        var web = $"http://{host.Endpoint("web")}";
        using var http = new HttpClient();
        async Task<JsonElement> GetAsync(string query) => await http.GetFromJsonAsync<JsonElement>($"{web}/api/similar?{query}", Ct);
        static List<string> Names(JsonElement r) => [.. r.GetProperty("results").EnumerateArray().Select(x => x.GetProperty("metric").GetString()!)];

        // A day by ten minutes: its copies at other scales and levels first (not itself), the shifted one near.
        var day = await GetAsync("metric=planted.a&range=1d&k=5");
        Assert.Equal(["other.scaled", "planted.scaled"], Names(day).Take(2).Order());
        Assert.DoesNotContain("planted.a", Names(day));
        Assert.True(day.GetProperty("results")[0].GetProperty("correlation").GetDouble() > 0.99);
        Assert.Equal(2004, day.GetProperty("searched").GetInt32());
        // The same ranking as the brute-force reference over the index.
        var index = host.Services.GetRequiredService<ShapeIndex>();
        var row = new float[index.Day.Dims];
        Assert.True(index.Day.TryGet("planted.a", row));
        var reference = ShapeSearch.BruteForce(index.Day, new ShapeQuery(row, 0, 5, Include: n => n != "planted.a"));
        Assert.Equal(reference.Select(r => r.Name), Names(day));

        // A window in the past (six hours ending three hours ago: the bump), and one the index no longer holds.
        var past = await GetAsync($"metric=planted.a&range=6h&until={Now - 10800}&k=2");
        Assert.Equal(["other.scaled", "planted.scaled"], Names(past).Order());
        Assert.Equal(HttpStatusCode.BadRequest, (await http.GetAsync($"{web}/api/similar?metric=planted.a&range=6h&until={Now - 86400}", Ct)).StatusCode);

        // The last two hours by the minute, shift-tolerant: the copy 20 minutes later is found with its lag.
        var shifted = await GetAsync("metric=planted.a&range=2h&k=3&mode=shift&shift=25");
        var later = shifted.GetProperty("results").EnumerateArray().Single(r => r.GetProperty("metric").GetString() == "planted.later");
        Assert.Equal(20 * 60, later.GetProperty("lag_seconds").GetInt32());
        Assert.True(later.GetProperty("correlation").GetDouble() > 0.95, later.ToString());
        // DTW within a 25-minute band: the scaled copies first, and the same ranking as the reference.
        var warped = Names(await GetAsync("metric=planted.a&range=2h&k=5&mode=dtw&band=25"));
        Assert.Equal(["other.scaled", "planted.scaled"], warped.Take(2).Order());
        var recent = new float[index.Recent.Dims];
        Assert.True(index.Recent.TryGet("planted.a", recent));
        Assert.Equal(ShapeSearch.BruteForce(index.Recent, new ShapeQuery(recent, 0, 5, ShapeMode.Dtw, Band: 25, Include: n => n != "planted.a")).Select(r => r.Name), warped);

        // Oculus's way: the nearest by Euclidean distance re-ranked by DTW; the same as from brute force's candidates.
        var reranked = await GetAsync("metric=planted.a&range=2h&k=5&rerank=dtw&band=25&check=true");
        Assert.Equal("euclidean+dtw", reranked.GetProperty("mode").GetString());
        Assert.Equal(["other.scaled", "planted.scaled"], Names(reranked).Take(2).Order());
        Assert.True(reranked.GetProperty("reference").GetProperty("equal").GetBoolean());
        Assert.Equal(HttpStatusCode.BadRequest, (await http.GetAsync($"{web}/api/similar?metric=planted.a&mode=dtw&rerank=dtw", Ct)).StatusCode);

        // A drawn shape over the last six hours: the bump (hours 6 to 5 ago) then the step (1.5 hours ago), as 72 values.
        double[] drawn = [.. Enumerable.Range(0, 72).Select(i => (double)(i is >= 4 and < 16 ? 3 : i >= 54 ? 2 : 0))];
        using (var body = JsonContent.Create(new { values = drawn, range = "6h", k = 3 }))
        {
            var response = await http.PostAsync($"{web}/api/similar", body, Ct);
            var found = await response.EnsureSuccessStatusCode().Content.ReadFromJsonAsync<JsonElement>(Ct);
            Assert.All(Names(found).Take(2), n => Assert.Contains(n, new[] { "planted.a", "planted.scaled", "other.scaled" }));
        }

        // Filters: a name pattern, an owner.
        Assert.Equal(["other.scaled"], Names(await GetAsync("metric=planted.a&k=3&match=other.*")));
        using (var writer = WritingClient())
        using (var owner = new StringContent("""{"owner":"payments"}"""))
        {
            (await writer.PutAsync($"{web}/api/metadata/planted.later", owner, Ct)).EnsureSuccessStatusCode();
        }
        Assert.Equal(["planted.later"], Names(await GetAsync("metric=planted.a&k=3&owner=payments")));

        // What cannot be searched says why (past a day needs the roll-ups of ensemble mode).
        var pastADay = await http.GetAsync($"{web}/api/similar?metric=planted.a&range=7d", Ct);
        Assert.Equal(HttpStatusCode.BadRequest, pastADay.StatusCode);
        Assert.Contains("ensemble mode", await pastADay.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, (await http.GetAsync($"{web}/api/similar?metric=planted.a&range=30d", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await http.GetAsync($"{web}/api/similar?metric=planted.a&mode=cosine", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync($"{web}/api/similar?metric=no.such", Ct)).StatusCode);
        using (var flat = JsonContent.Create(new { values = new[] { 1, 1, 1, 1 } }))
        {
            Assert.Equal(HttpStatusCode.BadRequest, (await http.PostAsync($"{web}/api/similar", flat, Ct)).StatusCode);
        }
    }

    [Fact]
    public async Task AWebOnlyProcessSaysTheIndexLivesInTheAnalyzer()
    {
        await using var host = await HorizonHost.StartAsync(null, role: HorizonRole.Web);
        using var http = new HttpClient();
        var response = await http.GetAsync($"http://{host.Endpoint("web")}/api/similar?metric=x", Ct);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Contains("analyzer", await response.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ASavedShapeIsMatchedAgainstANewIncidentAndShownInItsAlertAndTheIncidentListsWhatMovedWithIt()
    {
        await using var receiver = new HttpReceiver();
        await using var host = await HorizonHost.StartAsync(null, new Dictionary<string, string?>
        {
            ["Analyzer:MinPassInterval"] = "00:00:00.5",
            ["Analyzer:Mode"] = "ensemble",
            ["Analyzer:Alerts:IncidentReceivers:0:Kind"] = "webhook",
            ["Analyzer:Alerts:IncidentReceivers:0:Url"] = receiver.Url,
        });
        var web = $"http://{host.Endpoint("web")}";
        using var http = WritingClient();
        using var anonymous = new HttpClient();
        // A known problem, drawn: flat, then a burst at the end.
        double[] burst = [.. Enumerable.Range(0, 30).Select(i => i >= 27 ? 10.0 : 0)];
        using (var refused = JsonContent.Create(new { name = "x", values = burst }))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.PostAsync($"{web}/api/collections", refused, Ct)).StatusCode);
        }
        using (var flat = JsonContent.Create(new { name = "flat", values = new[] { 2, 2, 2 } }))
        {
            Assert.Equal(HttpStatusCode.BadRequest, (await http.PostAsync($"{web}/api/collections", flat, Ct)).StatusCode);
        }
        JsonElement saved;
        using (var body = JsonContent.Create(new { name = "cache eviction storm", notes = "restart the cache tier", values = burst, created_by = "alice" }))
        {
            saved = await (await http.PostAsync($"{web}/api/collections", body, Ct)).EnsureSuccessStatusCode().Content.ReadFromJsonAsync<JsonElement>(Ct);
        }
        Assert.Equal(30, saved.GetProperty("means").GetArrayLength());

        // A metric bursts the same way; another moved with it but is judged gently (sensitivity), so it is not in the incident.
        using (var gentle = new StringContent("""{"sensitivity":0.01}"""))
        {
            (await http.PutAsync($"{web}/api/metadata/cache.retries", gentle, Ct)).EnsureSuccessStatusCode();
        }
        var now = Now;
        var random = new Random(8);
        for (var m = 0; m < 300; m++)
        {
            var v = random.NextDouble() * 100;
            await SeedAsync(host.Db, $"noise.walk{m}", Day(now, _ => v += random.NextDouble() - 0.5));
        }
        await SeedAsync(host.Db, "cache.retries", Day(now, i => 20 + random.NextDouble() + (i >= 1437 ? 30 : 0)));
        await SeedAsync(host.Db, "cache.evictions", Day(now, i => 100 + (random.NextDouble() * 3) + (i >= 1437 ? 400 : 0)));

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(60));
        using var alert = JsonDocument.Parse(await receiver.Bodies.Reader.ReadAsync(timeout.Token));
        var annotations = alert.RootElement.GetProperty("commonAnnotations");
        Assert.Equal($"looks like: cache eviction storm, saved {DateTime.UtcNow:yyyy-MM-dd}", annotations.GetProperty("looks_like").GetString());
        var id = alert.RootElement.GetProperty("groupLabels").GetProperty("incident").GetString()!;
        var incident = await anonymous.GetFromJsonAsync<JsonElement>($"{web}/api/incidents/{id}", Ct);
        Assert.Equal("cache eviction storm", incident.GetProperty("looks_like").GetProperty("name").GetString());
        Assert.DoesNotContain(incident.GetProperty("metrics").EnumerateArray(), m => m.GetProperty("metric").GetString() == "cache.retries");

        // What moved with it, from the shape index: the retries, at no lag, before any random walk.
        var moved = await anonymous.GetFromJsonAsync<JsonElement>($"{web}/api/incidents/{id}/moved-with?k=3", Ct);
        var first = moved.GetProperty("results")[0];
        Assert.Equal("cache.retries", first.GetProperty("metric").GetString());
        Assert.Equal(0, first.GetProperty("lag_seconds").GetInt32());
        Assert.True(first.GetProperty("correlation").GetDouble() > 0.9, first.ToString());
        // The random walks rank next but moved with nothing: below the correlation floor, not listed.
        Assert.Equal(1, moved.GetProperty("results").GetArrayLength());
        var everything = await anonymous.GetFromJsonAsync<JsonElement>($"{web}/api/incidents/{id}/moved-with?k=3&min_correlation=-1", Ct);
        Assert.Equal(3, everything.GetProperty("results").GetArrayLength());

        // The page's incident view says what it looks like and lists what moved with it.
        await using (var browser = await DevTools.OpenAsync($"{web}/#incident={Uri.EscapeDataString(id)}"))
        {
            await browser.WaitForAsync("document.querySelector('#moved-with [data-moved]')", "the moved-with list");
            Assert.StartsWith("looks like: cache eviction storm, saved ", (string)(await browser.EvaluateAsync("document.querySelector('.looks-like').textContent"))!, StringComparison.Ordinal);
            Assert.Equal("cache.retries", (string)(await browser.EvaluateAsync("document.querySelector('#moved-with [data-moved]').dataset.moved"))!);
        }

        // Listed, saved from a metric's last half hour, deleted.
        using (var fromMetric = JsonContent.Create(new { name = "evictions now", metric = "cache.evictions" }))
        {
            var made = await (await http.PostAsync($"{web}/api/collections", fromMetric, Ct)).EnsureSuccessStatusCode().Content.ReadFromJsonAsync<JsonElement>(Ct);
            Assert.Equal("cache.evictions", made.GetProperty("metric").GetString());
        }
        var listed = (await anonymous.GetFromJsonAsync<JsonElement>($"{web}/api/collections", Ct)).GetProperty("collections");
        Assert.Equal(["evictions now", "cache eviction storm"], listed.EnumerateArray().Select(c => c.GetProperty("name").GetString()));
        var savedId = saved.GetProperty("id").GetString();
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.DeleteAsync($"{web}/api/collections/{savedId}", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await http.DeleteAsync($"{web}/api/collections/{savedId}", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await http.DeleteAsync($"{web}/api/collections/{savedId}", Ct)).StatusCode);
    }

    [Fact]
    public async Task AShapeDrawnWithTheMouseAndTheSimilarButtonOfAGraphFindThePlantedMetrics()
    {
        await using var host = await StartSeededAsync(500);
        var web = $"http://{host.Endpoint("web")}";
        await using var browser = await DevTools.OpenAsync($"{web}/");
        await browser.WaitForAsync("document.getElementById('draw')", "the drawing canvas");
        await browser.EvaluateAsync("document.getElementById('draw').scrollIntoView(); document.getElementById('draw-range').value = '6h'");
        var box = (await browser.EvaluateAsync("(() => { const r = document.getElementById('draw').getBoundingClientRect(); return [r.left, r.top, r.width, r.height]; })()"))!.AsArray();
        double left = (double)box[0]!, top = (double)box[1]!, width = (double)box[2]!, height = (double)box[3]!;
        // The last six hours as a person draws them: low, a bump (hours 6 to 5 ago), low, a step up 1.5 hours ago.
        double Y(double f) => top + height - 10 - (f * (height - 20) / 3);
        await browser.MouseAsync("mousePressed", left + 1, Y(0));
        for (var x = 0; x < width - 1; x += 4)
        {
            var f = x / width;
            await browser.MouseAsync("mouseMoved", left + x, Y(f is >= 4 / 72.0 and < 16 / 72.0 ? 3 : f >= 54 / 72.0 ? 2 : 0));
        }
        await browser.MouseAsync("mouseReleased", left + width - 2, Y(2));
        await browser.EvaluateAsync("document.getElementById('draw-search').click()");
        await browser.WaitForAsync("document.querySelectorAll('#draw-results [data-similar]').length > 0", "the drawn shape's results");
        var first = (await browser.EvaluateAsync("[...document.querySelectorAll('#draw-results [data-similar]')].slice(0, 2).map(d => d.dataset.similar)"))!.AsArray().Select(n => (string)n!).ToList();
        Assert.All(first, n => Assert.Contains(n, new[] { "planted.a", "planted.scaled", "other.scaled" }));
        await browser.WaitForAsync("document.querySelectorAll('#draw-results canvas').length >= 2", "the results' graphs");
        await browser.ScreenshotAsync(Path.Combine(AppContext.BaseDirectory, "screenshots", "shape-search.png"));

        // From a metric's graph: its similar metrics, with graphs.
        await browser.EvaluateAsync("location.hash = 'metric=planted.a&range=1d'");
        await browser.WaitForAsync("document.getElementById('similar-go')", "the metric view");
        await browser.EvaluateAsync("document.getElementById('similar-go').click()");
        await browser.WaitForAsync("document.querySelectorAll('#similar-results [data-similar]').length > 0", "the similar metrics");
        var similar = (await browser.EvaluateAsync("[...document.querySelectorAll('#similar-results [data-similar]')].slice(0, 2).map(d => d.dataset.similar)"))!.AsArray().Select(n => (string)n!).Order();
        Assert.Equal(["other.scaled", "planted.scaled"], similar);
    }

    [Fact]
    public void APassWithinTheLastPasssBinsUpdatesOnlyTheNewestBinAndEndsAsAFullComputationWould()
    {
        var index = new ShapeIndex();
        var now = 1_780_000_000L - (1_780_000_000L % 600) + 100; // 100 s into a ten-minute bin
        var random = new Random(4);
        var points = Enumerable.Range(0, 1440).Select(i => (Ts: now - ((1439 - i) * 60L), V: random.NextDouble() * 100)).ToList();
        index.BeginPass();
        index.Update("m", [.. points.Select(p => p.Ts)], [.. points.Select(p => p.V)], now);
        index.EndPass(now);
        // Five passes later in the same minute-bin... and bins: new points in the newest bins only.
        for (var pass = 1; pass <= 5; pass++)
        {
            points.Add((now + (pass * 10), 500 + pass));
            index.BeginPass();
            index.Update("m", [.. points.Select(p => p.Ts)], [.. points.Select(p => p.V)], now + (pass * 10) + 1);
            index.EndPass(now + (pass * 10) + 1);
        }
        var incremental = new float[index.Day.Dims];
        Assert.True(index.Day.TryGet("m", incremental));
        var full = new float[index.Day.Dims];
        Assert.True(Shapes.Bin([.. points.Select(p => p.Ts)], [.. points.Select(p => p.V)], (now + 51) / 600, 600, full));
        Assert.Equal(full, incremental);
        var recent = new float[index.Recent.Dims];
        Assert.True(index.Recent.TryGet("m", recent));
        var recentFull = new float[index.Recent.Dims];
        Assert.True(Shapes.Bin([.. points.Select(p => p.Ts)], [.. points.Select(p => p.V)], (now + 51) / 60, 60, recentFull));
        Assert.Equal(recentFull, recent);
        // A metric not read in a pass leaves the index.
        index.BeginPass();
        index.EndPass(now + 60);
        Assert.Equal(0, index.Day.Count + index.Recent.Count);
    }

    [Fact]
    public async Task RangesPastADaySearchTheRollUpsTheAnalyzerKeepsInEnsembleMode()
    {
        await using var host = await HorizonHost.StartAsync(null, new Dictionary<string, string?>
        {
            ["Analyzer:MinPassInterval"] = "00:00:01",
            ["Analyzer:Mode"] = "ensemble",
        });
        var now = Now;
        var firstPoint = now - (1439 * 60);
        var lastSlot = (firstPoint / 600) - 1;
        const int days = 13;
        var random = new Random(23);
        // Thirteen days of 10-minute roll-ups before a day of points: a bump on days 3 and 4, a step from day 9.
        static double Pattern(int day) => (day is 3 or 4 ? 30 : 0) + (day >= 9 ? 20 : 0);
        async Task SeedAsync(string name, Func<int, double> slotValue, Func<int, double> pointValue)
        {
            var history = new Horizon.Algorithms.Detection.RollupHistory(600, (days * 144) + 1);
            for (var k = 0; k < days * 144; k++)
            {
                history.Add(((lastSlot - (days * 144) + 1 + k) * 600) + 60, slotValue(k));
            }
            await host.Db.StringSetAsync(Horizon.Core.StoreKeys.Rollup(name), history.Serialize(history.FirstSlot, withHeader: true));
            await AnalyzerTests.SeedAsync(host.Db, name, Day(now, pointValue));
        }
        for (var m = 0; m < 200; m++)
        {
            var v = random.NextDouble() * 100;
            var walk = new double[(days * 144) + 1440];
            for (var k = 0; k < walk.Length; k++)
            {
                walk[k] = v += random.NextDouble() - 0.5;
            }
            await SeedAsync($"walk.m{m}", k => walk[k], i => walk[(days * 144) + (i / 10)]);
        }
        await SeedAsync("planted.a", k => 50 + Pattern(k / 144) + random.NextDouble(), _ => 70 + random.NextDouble());
        await SeedAsync("planted.scaled", k => 900 + (9 * Pattern(k / 144)) + random.NextDouble(), _ => 1080 + random.NextDouble());
        await SeedAsync("other.scaled", k => 5 + (0.1 * Pattern(k / 144)) + (0.01 * random.NextDouble()), _ => 7 + (0.01 * random.NextDouble()));
        var index = host.Services.GetRequiredService<ShapeIndex>();
        await WaitUntilAsync(() => Task.FromResult(index.Fortnight.Count == 203), "the analyzer indexed every metric's roll-up", 90);

        var web = $"http://{host.Endpoint("web")}";
        using var http = new HttpClient();
        var found = await http.GetFromJsonAsync<JsonElement>($"{web}/api/similar?metric=planted.a&range=14d&k=3", Ct);
        var names = found.GetProperty("results").EnumerateArray().Select(r => r.GetProperty("metric").GetString()!).ToList();
        Assert.Equal(["other.scaled", "planted.scaled"], names.Take(2).Order());
        Assert.Equal(7200, found.GetProperty("bin_seconds").GetInt32());
        var row = new float[index.Fortnight.Dims];
        Assert.True(index.Fortnight.TryGet("planted.a", row));
        Assert.Equal(ShapeSearch.BruteForce(index.Fortnight, new ShapeQuery(row, 0, 3, Include: n => n != "planted.a")).Select(r => r.Name), names);
        // A week: the last 84 bins (the step; the bump is older).
        var week = await http.GetFromJsonAsync<JsonElement>($"{web}/api/similar?metric=planted.a&range=7d&k=2", Ct);
        Assert.Equal(84, week.GetProperty("bins").GetInt32());
    }
}
