using System.Diagnostics;
using System.Text.Json;
using Horizon.Core;
using Horizon.Web;
using static Horizon.Integration.Tests.AnalyzerTests;
using static Horizon.Integration.Tests.TestSupport;

namespace Horizon.Integration.Tests;

/// <summary>The anomalies page in a real browser (headless Chromium, which test.sh installs), and
/// the JSON it reads, on the embedded store with the analyzer in ensemble mode.</summary>
public sealed class WebViewTests
{
    private static async Task<HorizonHost> StartWithFindingsAsync()
    {
        var host = await HorizonHost.StartAsync(null, new Dictionary<string, string?>
        {
            ["Analyzer:MinPassInterval"] = "00:00:00.5",
            ["Analyzer:Mode"] = "ensemble",
        });
        var now = Now;
        var random = new Random(3);
        // A deploy five minutes before the spike: drawn on the graphs, named by the incident.
        using (var deploy = new StringContent($$"""{"what":"deploy web 1234","tags":"deploy web","when":{{now - 300}}}"""))
        using (var poster = WritingClient())
        {
            Assert.Equal(System.Net.HttpStatusCode.Created, (await poster.PostAsync($"http://{host.Endpoint("web")}/api/events", deploy, TestContext.Current.CancellationToken)).StatusCode);
        }
        // The metadata before the points: a pass that judges the spike already knows its owner.
        using var http = WritingClient();
        using (var metadata = new StringContent("""{"unit":"ms","owner":"payments"}"""))
        {
            (await http.PutAsync($"http://{host.Endpoint("web")}/api/metadata/web.spiky", metadata, TestContext.Current.CancellationToken)).EnsureSuccessStatusCode();
        }
        await SeedAsync(host.Db, "web.calm", Day(now, _ => 100 + (random.NextDouble() * 10)));
        await SeedAsync(host.Db, "web.spiky", Day(now, i => i == 1439 ? 900 : 100 + (random.NextDouble() * 10)));
        await WaitUntilAsync(async () => (await host.Db.HashGetAsync(StoreKeys.Anomalies, "web.spiky")).HasValue, "web.spiky reported", 60);
        // ... and the pass that found it has ended and published its summary.
        await WaitUntilAsync(async () => (await host.Db.HashGetAsync(StoreKeys.AnalyzerPasses, "0/1")).ToString().Contains("\"metrics\":2,", StringComparison.Ordinal),
            "a pass over both metrics published", 30);
        return host;
    }

    [Fact]
    public async Task TheIncidentListAndViewShowTheIncidentWithItsChartAndAMalformedLinkDoesNotHang()
    {
        await using var host = await StartWithFindingsAsync();
        var web = $"http://{host.Endpoint("web")}";
        using var http = new HttpClient();
        var id = await OpenIncidentAsync(web);

        // A second analyzer shard that stopped an hour ago: the page warns.
        await host.Db.HashSetAsync(StoreKeys.AnalyzerPasses, "1/2",
            $$"""{"shard":"1/2","finished_at":{{Now - 3600}},"duration_seconds":1.5,"metrics":10,"analysed":10}""");
        var dom = await Browser.DumpDomAsync($"{web}/#incident={Uri.EscapeDataString(id)}");
        Assert.Contains("Warning: the analyzer shard 1/2 has not finished a pass for 60 min", Between(dom, "id=\"stale\"", "</p>"), StringComparison.Ordinal);
        // The list: the incident, open, linked.
        var row = Between(dom, $"data-incident=\"{id}\"", "</tr>");
        Assert.Contains("web.spiky is anomalous", row, StringComparison.Ordinal);
        Assert.Contains($"href=\"#incident={id}\"", row, StringComparison.Ordinal);
        Assert.Contains("5 min after deploy web 1234", row, StringComparison.Ordinal);
        // The view: title, its metric with the reasons, the actions, and uPlot's chart (a canvas).
        var view = Between(dom, $"data-incident-view=\"{id}\"", "</ul>");
        Assert.Contains("<h2>web.spiky is anomalous</h2>", view, StringComparison.Ordinal);
        Assert.Contains("level: expected", view, StringComparison.Ordinal);
        Assert.Contains("<button id=\"ack\">Acknowledge</button>", view, StringComparison.Ordinal);
        Assert.Contains("class=\"uplot", view, StringComparison.Ordinal);
        Assert.Contains("<canvas", view, StringComparison.Ordinal);
        Assert.Contains("web.spiky</div>", view, StringComparison.Ordinal); // the chart's legend names the series
        Assert.Contains("<span class=\"after\">5 min after deploy web 1234</span>", view, StringComparison.Ordinal);
        Assert.Contains("data-events=\"1\"", view, StringComparison.Ordinal); // the deploy drawn on the chart

        // Screenshots, desktop here and phone width below, kept with the test output.
        var shots = Path.Combine(AppContext.BaseDirectory, "screenshots");
        await Browser.ScreenshotAsync($"{web}/#incident={Uri.EscapeDataString(id)}", Path.Combine(shots, "incident-desktop.png"), 1280, 900);
        await Browser.ScreenshotAsync($"{web}/#metric=web.calm&range=1h", Path.Combine(shots, "metric-desktop.png"), 1280, 900);

        // At phone width the page itself does not scroll sideways: a wide table scrolls in its own box.
        await using (var phone = await DevTools.OpenAsync($"{web}/#incident={Uri.EscapeDataString(id)}", 390, 844))
        {
            // A window is never narrower than about 500 px: the phone's viewport is emulated.
            await phone.CallAsync("Emulation.setDeviceMetricsOverride", new System.Text.Json.Nodes.JsonObject { ["width"] = 390, ["height"] = 844, ["deviceScaleFactor"] = 1, ["mobile"] = true });
            await phone.EvaluateAsync("window.beforeReload = true; location.reload()");
            await phone.WaitForAsync($"!window.beforeReload && document.querySelector('[data-incident-view] canvas') && document.querySelector('[data-incident=\"{id}\"]')", "the incident, its chart and the list at phone width");
            var overflow = (await phone.EvaluateAsync("document.documentElement.scrollWidth - document.documentElement.clientWidth"))!.GetValue<int>();
            var wider = overflow <= 0 ? "" : (await phone.EvaluateAsync("[...document.querySelectorAll('main *')]"
                + ".filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 0.5).slice(0, 6).map(e => e.tagName + '.' + e.className).join(', ')"))!.GetValue<string>();
            Assert.True(overflow <= 0, $"the page is {overflow} px wider than a 390 px phone: {wider}");
            await phone.ScreenshotAsync(Path.Combine(shots, "incident-mobile.png"));
        }

        // A malformed escape in a link is taken as it is: the page renders and says there is no such series.
        var bad = await Browser.DumpDomAsync($"{web}/#metric=%E0%A4%A");
        Assert.Contains("no such series", Between(bad, "<div id=\"view\">", "</div>"), StringComparison.Ordinal);
        Assert.Contains($"data-incident=\"{id}\"", bad, StringComparison.Ordinal);
    }

    [Fact]
    public async Task FromTheIncidentViewAPersonAcknowledgesSilencesAndTeachesNotAnomalous()
    {
        await using var host = await StartWithFindingsAsync();
        var web = $"http://{host.Endpoint("web")}";
        using var http = new HttpClient();
        var ct = TestContext.Current.CancellationToken;
        var id = await OpenIncidentAsync(web);

        await using var browser = await DevTools.OpenAsync($"{web}/#incident={Uri.EscapeDataString(id)}");
        await browser.WaitForAsync("document.getElementById('ack')", "the incident view with its Acknowledge button");
        // Without a name nothing is written; with one and the token, the acknowledgement shows.
        await browser.EvaluateAsync("document.getElementById('ack').click()");
        await browser.WaitForAsync("document.getElementById('done').textContent === 'your name first'", "the name asked for");
        await browser.EvaluateAsync($"document.getElementById('who').value = 'alice'; document.getElementById('token').value = '{WriteToken}'; document.getElementById('ack').click()");
        await browser.WaitForAsync("document.getElementById('done').textContent === 'acknowledged by alice'", "the acknowledgement confirmed");
        // The analyzer applies it on its next pass; the view shows it in the incident's details.
        await WaitUntilAsync(async () => JsonDocument.Parse(await http.GetStringAsync($"{web}/api/incidents/{id}", ct)).RootElement
            .GetProperty("acknowledged") is { ValueKind: JsonValueKind.Object } ack && ack.GetProperty("by").GetString() == "alice", "the acknowledgement stored", 30);
        await browser.EvaluateAsync($"incident('{id}', true, true)");
        await browser.WaitForAsync("document.querySelector('#incident .meta').innerText.includes('acknowledged by alice')", "the acknowledgement in the view");
        await browser.WaitForAsync("!document.getElementById('ack')", "no Acknowledge button once acknowledged");

        // Silence: its metric for two hours, made by alice, shown in the view.
        await browser.EvaluateAsync("document.getElementById('silence').click()");
        await browser.WaitForAsync("document.getElementById('done').textContent.startsWith('silenced web.spiky until')", "the silence confirmed");
        var silences = JsonDocument.Parse(await http.GetStringAsync($"{web}/api/silences", ct)).RootElement.GetProperty("silences");
        var silence = silences[0].GetProperty("silence");
        Assert.Equal("web.spiky", silence.GetProperty("metric").GetString());
        Assert.Equal("alice", silence.GetProperty("created_by").GetString());
        Assert.Equal(7200, silence.GetProperty("ends_at").GetInt64() - silence.GetProperty("starts_at").GetInt64());

        // Not anomalous: the metric is taught its shape.
        await browser.EvaluateAsync("document.getElementById('teach').click()");
        await browser.WaitForAsync("document.getElementById('done').textContent.startsWith('taught: web.spiky')", "the teaching confirmed");
        var profiles = JsonDocument.Parse(await http.GetStringAsync($"{web}/api/profiles/web.spiky", ct)).RootElement.GetProperty("profiles");
        Assert.Equal("alice", profiles[0].GetProperty("by").GetString());
        Assert.Equal(id, profiles[0].GetProperty("incident").GetString());
    }

    [Fact]
    public async Task MetadataIsEditedFromTheMetricViewAndTheKeyboardOpensAnIncident()
    {
        await using var host = await StartWithFindingsAsync();
        var web = $"http://{host.Endpoint("web")}";
        using var http = new HttpClient();
        var ct = TestContext.Current.CancellationToken;
        await WaitUntilAsync(async () => JsonDocument.Parse(await http.GetStringAsync($"{web}/api/incidents?state=open", ct)).RootElement
            .GetProperty("count").GetInt32() == 1, "an incident", 30);

        await using var browser = await DevTools.OpenAsync($"{web}/#metric=web.calm");
        await browser.WaitForAsync("document.getElementById('m-save')", "the metadata form");
        await browser.EvaluateAsync($"document.getElementById('edit').open = true; document.getElementById('m-unit').value = 'req/s'; document.getElementById('m-owner').value = 'search'; " +
            $"document.getElementById('m-capacity').value = '5000'; document.getElementById('m-bad').value = 'Down'; document.getElementById('m-token').value = '{WriteToken}'; document.getElementById('m-save').click()");
        await browser.WaitForAsync("document.getElementById('m-done').textContent === 'saved'", "the metadata saved");
        var metadata = JsonDocument.Parse(await http.GetStringAsync($"{web}/api/metadata/web.calm", ct)).RootElement;
        Assert.Equal("search", metadata.GetProperty("owner").GetString());
        Assert.Equal("req/s", metadata.GetProperty("unit").GetString());
        Assert.Equal(5000, metadata.GetProperty("capacity").GetDouble());
        Assert.Equal("Down", metadata.GetProperty("badDirection").GetString());

        // j marks the first incident, Enter opens it, Escape closes it.
        await browser.WaitForAsync("document.querySelector('#incidents tr[data-incident]')", "the incident list");
        await browser.EvaluateAsync("document.activeElement.blur(); document.dispatchEvent(new KeyboardEvent('keydown', { key: 'j' }))");
        await browser.WaitForAsync("document.querySelector('#incidents tr.marked')", "an incident marked");
        await browser.EvaluateAsync("document.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter' }))");
        await browser.WaitForAsync("location.hash.startsWith('#incident=') && document.querySelector('[data-incident-view]')", "the incident opened");
        await browser.EvaluateAsync("document.dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape' }))");
        await browser.WaitForAsync("!document.querySelector('[data-incident-view]')", "the incident closed");
    }

    [Fact]
    public async Task ThePageShowsEachAnomalyWithItsGraphReasonsAndMetadataAndAnyMetricByName()
    {
        await using var host = await StartWithFindingsAsync();
        var dom = await Browser.DumpDomAsync($"http://{host.Endpoint("web")}/");

        var card = Between(dom, "data-metric=\"web.spiky\"", "</table>");
        Assert.Contains("level: expected", card, StringComparison.Ordinal);
        Assert.Contains("owner payments", card, StringComparison.Ordinal);
        Assert.Contains("value 900ms", card, StringComparison.Ordinal);
        // The graph, drawn by uPlot: the points given to it (600 thinned from the day's 1440, the
        // newest kept), the judged point marked, a canvas and the legend naming the metric.
        Assert.Matches("data-points=\"(600|601)\" data-marked=\"[0-9]+\"", card);
        Assert.Contains("class=\"uplot", card, StringComparison.Ordinal);
        Assert.Contains("<canvas", card, StringComparison.Ordinal);
        Assert.Contains(">web.spiky</div>", card, StringComparison.Ordinal);
        Assert.DoesNotContain("data-metric=\"web.calm\"", dom, StringComparison.Ordinal);
        // The history table lists it too.
        Assert.Matches("<td>web\\.spiky</td>\\s*<td>anomaly</td>", Between(dom, "<tbody id=\"history\">", "</tbody>"));
        Assert.Contains("last analyzer pass", dom, StringComparison.Ordinal);

        // Any metric, linked by name: its graph (no finding marked) and what is stored.
        var calm = Between(await Browser.DumpDomAsync($"http://{host.Endpoint("web")}/#metric=web.calm"), "data-view=\"web.calm\"", "</table>");
        Assert.Contains("1440 points stored", calm, StringComparison.Ordinal);
        Assert.Matches("data-points=\"(600|601)\"", calm);
        Assert.Contains("<canvas", calm, StringComparison.Ordinal);
        Assert.DoesNotContain("data-marked", calm, StringComparison.Ordinal);
        // The level's expected band, shaded around the line (its edges in the legend).
        Assert.Contains("data-band=\"300\"", calm, StringComparison.Ordinal);
        Assert.Contains(">expected high</div>", calm, StringComparison.Ordinal);
        Assert.Contains("data-events=\"1\"", calm, StringComparison.Ordinal); // the deploy, on every graph of its range
        var spiky = Between(await Browser.DumpDomAsync($"http://{host.Endpoint("web")}/#metric=web.spiky"), "data-view=\"web.spiky\"", "</table>");
        Assert.Contains("owner payments", spiky, StringComparison.Ordinal);
        Assert.Contains("data-findings=\"1\"", spiky, StringComparison.Ordinal); // its finding, from the history, marked on the line
        Assert.Contains("<button data-range=\"14d\">14d</button>", calm, StringComparison.Ordinal);
        // Links carry the range and the filter: six hours of every stored point; no finding matches "calm".
        var linked = await Browser.DumpDomAsync($"http://{host.Endpoint("web")}/#metric=web.calm&range=6h&filter=calm");
        var sixHours = Between(linked, "data-view=\"web.calm\"", "</table>");
        Assert.Contains("<button data-range=\"6h\" disabled=\"\">6h</button>", sixHours, StringComparison.Ordinal);
        Assert.Matches("data-points=\"36[01]\"", sixHours);
        Assert.Contains("nothing anomalous matching the filter", Between(linked, "<div id=\"current\">", "</div>"), StringComparison.Ordinal);

        // The roll-up behind the 7- and 14-day ranges: the day's points as 10-minute means.
        using var http = new HttpClient();
        var ct = TestContext.Current.CancellationToken;
        await WaitUntilAsync(async () => (await host.Db.KeyExistsAsync(StoreKeys.Rollup("web.calm"))), "the roll-up stored", 30);
        using var rollup = JsonDocument.Parse(await http.GetStringAsync($"http://{host.Endpoint("web")}/api/rollup/web.calm", ct));
        Assert.Equal(600, rollup.RootElement.GetProperty("slot_seconds").GetInt32());
        var means = rollup.RootElement.GetProperty("points").EnumerateArray().Select(p => p[1].GetDouble()).ToList();
        Assert.InRange(means.Count, 140, 145);
        Assert.All(means, m => Assert.InRange(m, 100, 110));
        Assert.Equal(System.Net.HttpStatusCode.NotFound, (await http.GetAsync($"http://{host.Endpoint("web")}/api/rollup/none.such", ct)).StatusCode);
    }

    [Fact]
    public async Task TheAnomaliesApiReturnsCurrentFindingsAndHistoryAndTheSeriesApiThinsWithoutLosingTheSpike()
    {
        await using var host = await StartWithFindingsAsync();
        using var http = new HttpClient();
        var ct = TestContext.Current.CancellationToken;
        var web = $"http://{host.Endpoint("web")}";
        using (var anomalies = JsonDocument.Parse(await http.GetStringAsync($"{web}/api/anomalies?history=5", ct)))
        {
            var current = anomalies.RootElement.GetProperty("current").EnumerateArray().ToList();
            var spiky = Assert.Single(current, a => a.GetProperty("metric").GetString() == "web.spiky");
            Assert.Equal("payments", spiky.GetProperty("owner").GetString());
            Assert.Contains(spiky.GetProperty("reasons").EnumerateArray(), r => r.GetString()!.StartsWith("level: expected", StringComparison.Ordinal));
            Assert.DoesNotContain(current, a => a.GetProperty("metric").GetString() == "web.calm");
            var history = anomalies.RootElement.GetProperty("history").EnumerateArray().ToList();
            Assert.InRange(history.Count, 1, 5);
            Assert.Contains(history, a => a.GetProperty("metric").GetString() == "web.spiky");
            var pass = Assert.Single(anomalies.RootElement.GetProperty("passes").EnumerateArray());
            Assert.Equal("0/1", pass.GetProperty("shard").GetString());
            Assert.Equal(2, pass.GetProperty("metrics").GetInt32());
        }
        using var series = JsonDocument.Parse(await http.GetStringAsync($"{web}/api/series/web.spiky?max=100", ct));
        Assert.Equal(1440, series.RootElement.GetProperty("stored").GetInt32());
        var points = series.RootElement.GetProperty("points").EnumerateArray().Select(p => (T: p[0].GetInt64(), V: p[1].GetDouble())).ToList();
        Assert.InRange(points.Count, 50, 100);
        Assert.Contains(points, p => p.V == 900);
        Assert.True(points.Zip(points.Skip(1)).All(p => p.First.T < p.Second.T), "points in time order");
        using var all = JsonDocument.Parse(await http.GetStringAsync($"{web}/api/series/web.spiky", ct));
        Assert.Equal(1440, all.RootElement.GetProperty("points").GetArrayLength());
    }

    [Fact]
    public void ThinningKeepsEachBucketsLowestAndHighestPointInTimeOrder()
    {
        var ts = Enumerable.Range(0, 1000).Select(i => 1000L + (10L * i)).ToArray();
        var values = Enumerable.Range(0, 1000).Select(i => Math.Sin(i / 50.0)).ToArray();
        values[123] = 50;
        values[777] = -50;
        var keep = new int[ts.Length];
        var n = WebViews.Thin(ts, values, 40, keep);
        Assert.InRange(n, 20, 41);
        Assert.Equal(ts.Length - 1, keep[n - 1]); // the newest point, whatever its value
        Assert.Contains(123, keep[..n]);
        Assert.Contains(777, keep[..n]);
        Assert.True(keep[..n].Zip(keep[1..n]).All(p => p.First < p.Second));
        // Each bucket of 50 points keeps its own extremes.
        for (var b = 0; b < 20; b++)
        {
            var bucket = Enumerable.Range(b * 50, 50).ToArray();
            Assert.Contains(bucket.MaxBy(i => values[i]), keep[..n]);
            Assert.Contains(bucket.MinBy(i => values[i]), keep[..n]);
        }
        Assert.Equal(5, WebViews.Thin(ts.AsSpan(0, 5), values.AsSpan(0, 5), 40, keep));
    }

    // The id of the incident the seeded findings opened, once the analyzer has opened it.
    private static async Task<string> OpenIncidentAsync(string web)
    {
        using var http = new HttpClient();
        string? id = null;
        await WaitUntilAsync(async () =>
        {
            var listed = JsonDocument.Parse(await http.GetStringAsync($"{web}/api/incidents?state=open", TestContext.Current.CancellationToken));
            id = listed.RootElement.GetProperty("incidents").EnumerateArray().Select(i => i.GetProperty("id").GetString()).FirstOrDefault();
            return id is not null;
        }, "an incident", 30);
        return id!;
    }

    private static string Between(string text, string start, string end)
    {
        var i = text.IndexOf(start, StringComparison.Ordinal);
        Assert.True(i >= 0, $"'{start}' not in the page: {text[..Math.Min(text.Length, 3000)]}");
        var j = text.IndexOf(end, i, StringComparison.Ordinal);
        return j < 0 ? text[i..] : text[i..(j + end.Length)];
    }
}

/// <summary>A headless Chromium: the page's DOM once its scripts have run.</summary>
internal static class Browser
{
    public static string Find()
    {
        var configured = Environment.GetEnvironmentVariable("HORIZON_BROWSER");
        if (!string.IsNullOrEmpty(configured))
        {
            return configured;
        }
        foreach (var name in new[] { "chromium", "chromium-browser", "google-chrome" })
        {
            foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator))
            {
                var path = Path.Combine(dir, name);
                if (File.Exists(path))
                {
                    return path;
                }
            }
        }
        throw new InvalidOperationException("no browser: install chromium (test.sh does) or set HORIZON_BROWSER");
    }

    public static Task<string> DumpDomAsync(string url) => RunAsync(url, "--dump-dom");

    /// <summary>A PNG of the page at this window size, written to <paramref name="path"/> (the
    /// tests keep theirs under the test output's <c>screenshots</c> folder).</summary>
    public static async Task ScreenshotAsync(string url, string path, int width, int height)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        await RunAsync(url, $"--screenshot={Path.GetFullPath(path)}", $"--window-size={width},{height}", "--hide-scrollbars");
        Assert.True(new FileInfo(path).Length > 1000, $"no screenshot at {path}");
    }

    private static async Task<string> RunAsync(string url, params string[] what)
    {
        var profile = Directory.CreateTempSubdirectory("horizon-browser-");
        try
        {
            var start = new ProcessStartInfo(Find())
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            foreach (var arg in new[] { "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                         $"--user-data-dir={profile.FullName}", "--virtual-time-budget=8000" }.Concat(what).Append(url))
            {
                start.ArgumentList.Add(arg);
            }
            using var browser = Process.Start(start)!;
            var dom = browser.StandardOutput.ReadToEndAsync();
            var log = browser.StandardError.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            await browser.WaitForExitAsync(timeout.Token);
            Assert.True(browser.ExitCode == 0, $"browser exited with {browser.ExitCode}: {await log}");
            return await dom;
        }
        finally
        {
            profile.Delete(recursive: true);
        }
    }
}
