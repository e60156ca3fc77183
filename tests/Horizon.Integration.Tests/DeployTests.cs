using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using static Horizon.Integration.Tests.AnalyzerTests;
using static Horizon.Integration.Tests.TestSupport;

namespace Horizon.Integration.Tests;

/// <summary>The verdict after a deploy: KPIs (by metadata and by a name pattern) compared with the
/// hour before, through a real host, its analyzer, the API a deploy tool gates on and a receiver.</summary>
public sealed class DeployTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task ADeployThatMovesAKpiIsBadAndNamesItOneThatMovesNothingIsOkAndTheVerdictReachesAReceiver()
    {
        await using var receiver = new HttpReceiver();
        await using var host = await HorizonHost.StartAsync(null, new Dictionary<string, string?>
        {
            ["Analyzer:Alerts:IncidentReceivers:0:Kind"] = "webhook",
            ["Analyzer:Alerts:IncidentReceivers:0:Url"] = receiver.Url,
            ["Analyzer:Deploys:Kpis:0"] = "api.*.latency",
        });
        var web = $"http://{host.Endpoint("web")}";
        using var http = WritingClient();
        using var anonymous = new HttpClient();
        // A KPI by its metadata (orders: bad when they fall), and one by the configured pattern.
        using (var kpi = new StringContent("""{"kpi":true,"badDirection":"Down"}"""))
        {
            (await http.PutAsync($"{web}/api/metadata/checkout.orders", kpi, Ct)).EnsureSuccessStatusCode();
        }
        var now = Now - (Now % 10);
        long calm = now - 3000, broken = now - 400;
        var random = new Random(5);
        IEnumerable<(long, double)> Points(Func<long, double> level) =>
            Enumerable.Range(0, 720).Select(i => now - 7190 + (i * 10L)).Select(t => (t, level(t) + (random.NextDouble() * 10) - 5));
        await SeedAsync(host.Db, "checkout.orders", Points(t => t >= broken ? 120 : 200));
        await SeedAsync(host.Db, "api.web.latency", Points(_ => 50));
        // Not a KPI: it moves after the calm deploy, and nobody asked.
        await SeedAsync(host.Db, "batch.jobs", Points(t => t >= calm ? 900 : 10));

        async Task<string> PostAsync(string json)
        {
            using var body = new StringContent(json);
            var posted = await (await http.PostAsync($"{web}/api/events", body, Ct)).EnsureSuccessStatusCode().Content.ReadFromJsonAsync<JsonElement>(Ct);
            return posted.GetProperty("id").GetString()!;
        }
        var calmId = await PostAsync($$"""{"what":"deploy web 1233","tags":"deploy web","when":{{calm}}}""");
        var brokenId = await PostAsync($$"""{"what":"deploy web 1234","tags":"deploy web","when":{{broken}}}""");
        var flagId = await PostAsync($$"""{"what":"flag checkout-v2 on","tags":"flag","when":{{broken}}}""");

        async Task<JsonElement> VerdictAsync(string id) => await anonymous.GetFromJsonAsync<JsonElement>($"{web}/api/deploys/{id}", Ct);
        await WaitUntilAsync(async () => (await VerdictAsync(brokenId)).GetProperty("verdict").GetString() != "pending", "the broken deploy's verdict", 60);
        var bad = await VerdictAsync(brokenId);
        Assert.Equal("bad", bad.GetProperty("verdict").GetString());
        var orders = bad.GetProperty("kpis").EnumerateArray().Single(k => k.GetProperty("metric").GetString() == "checkout.orders");
        Assert.Equal("bad", orders.GetProperty("verdict").GetString());
        Assert.InRange(orders.GetProperty("after").GetDouble(), 110, 130);
        Assert.InRange(orders.GetProperty("before").GetDouble(), 190, 210);
        Assert.True(orders.GetProperty("spreads").GetDouble() < -8, orders.ToString());
        Assert.Equal("ok", bad.GetProperty("kpis").EnumerateArray().Single(k => k.GetProperty("metric").GetString() == "api.web.latency").GetProperty("verdict").GetString());
        Assert.Equal(2, bad.GetProperty("kpis").GetArrayLength());

        await WaitUntilAsync(async () => (await VerdictAsync(calmId)).GetProperty("verdict").GetString() != "pending", "the calm deploy's verdict", 60);
        Assert.Equal("ok", (await VerdictAsync(calmId)).GetProperty("verdict").GetString());
        Assert.Equal(HttpStatusCode.NotFound, (await anonymous.GetAsync($"{web}/api/deploys/{flagId}", Ct)).StatusCode);

        // The bad verdict is an incident named after the deploy, sent to the receiver.
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(60));
        string message;
        do
        {
            message = await receiver.Bodies.Reader.ReadAsync(timeout.Token);
        }
        while (!message.Contains("deploy verdict bad after deploy web 1234", StringComparison.Ordinal));
        Assert.Contains("checkout.orders", message, StringComparison.Ordinal);
        Assert.Contains("after deploy web 1234", message, StringComparison.Ordinal);
        Assert.Contains("horizon_deploy_verdicts_total{verdict=\"bad\"} 1", await host.ScrapeAsync(), StringComparison.Ordinal);

        // A deploy just made is pending until its window has passed; the list has all three, newest first.
        var fresh = await PostAsync($$"""{"what":"deploy web 1235","tags":"deploy web","when":{{Now}}}""");
        var pending = await VerdictAsync(fresh);
        Assert.Equal("pending", pending.GetProperty("verdict").GetString());
        Assert.Equal(pending.GetProperty("when").GetInt64() + 240, pending.GetProperty("decides_at").GetInt64());
        var list = await anonymous.GetFromJsonAsync<JsonElement>($"{web}/api/deploys?from={now - 7200}&until={Now + 60}", Ct);
        Assert.Equal(["pending", "bad", "ok"], list.GetProperty("deploys").EnumerateArray().Select(d => d.GetProperty("verdict").GetString()));
        // One posted long after the fact (past its window and the hour after it) is never decided, and says so.
        var late = await PostAsync($$"""{"what":"deploy web 1200","tags":"deploy web","when":{{now - 20_000}}}""");
        Assert.Equal("not_decided", (await VerdictAsync(late)).GetProperty("verdict").GetString());

        // The page lists the deploys with their verdicts, and the bad one says which KPI moved.
        await using var browser = await DevTools.OpenAsync($"{web}/");
        await browser.WaitForAsync("document.querySelectorAll('#deploys tr[data-verdict]').length === 4", "the deploys on the page");
        Assert.Equal("pending,bad,ok,not_decided", (string)(await browser.EvaluateAsync("[...document.querySelectorAll('#deploys tr[data-verdict]')].map(r => r.dataset.verdict).join()"))!);
        var row = (string)(await browser.EvaluateAsync($"document.querySelector('#deploys tr[data-deploy=\"{brokenId}\"]').textContent"))!;
        Assert.Contains("deploy web 1234", row, StringComparison.Ordinal);
        Assert.Contains("checkout.orders: ", row, StringComparison.Ordinal);
        Assert.Contains("2 of 2 held", (string)(await browser.EvaluateAsync($"document.querySelector('#deploys tr[data-deploy=\"{calmId}\"]').textContent"))!, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ASeasonalKpiIsJudgedBeyondWhatTheSameTimeYesterdaySaw()
    {
        await using var host = await HorizonHost.StartAsync(null);
        var web = $"http://{host.Endpoint("web")}";
        using var http = WritingClient();
        using var anonymous = new HttpClient();
        // Both rise by 40 at the deploy, as they do every day at that time; only one says it is daily.
        foreach (var (name, metadata) in new[] { ("shop.visits", """{"kpi":true,"seasonality":"Daily"}"""), ("shop.carts", """{"kpi":true}""") })
        {
            using var body = new StringContent(metadata);
            (await http.PutAsync($"{web}/api/metadata/{name}", body, Ct)).EnsureSuccessStatusCode();
        }
        var now = Now - (Now % 60);
        var deploy = now - 420;
        var rush = deploy % 86400;
        double Daily(long t) => 100 + ((((t % 86400) - rush + 86400) % 86400) < 3600 ? 40 : 0);
        var random = new Random(9);
        foreach (var name in new[] { "shop.visits", "shop.carts" })
        {
            await SeedAsync(host.Db, name, Enumerable.Range(0, 720).Select(i => now - 7190 + (i * 10L)).Select(t => (t, Daily(t) + (random.NextDouble() * 4) - 2)));
            // The analyzer's roll-ups (ensemble mode) of the week before: a mean per 10 minutes.
            var rollup = new Horizon.Algorithms.Detection.RollupHistory(600);
            for (var t = now - (8 * 86400); t < now - 86400 + 7200; t += 60)
            {
                rollup.Add(t, Daily(t) + (random.NextDouble() * 4) - 2);
            }
            await host.Db.StringSetAsync(Horizon.Core.StoreKeys.Rollup(name), rollup.Serialize(rollup.FirstSlot, withHeader: true));
        }
        using (var body = new StringContent($$"""{"what":"deploy shop 77","tags":"deploy shop","when":{{deploy}}}"""))
        {
            var id = (await (await http.PostAsync($"{web}/api/events", body, Ct)).EnsureSuccessStatusCode().Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("id").GetString();
            JsonElement verdict = default;
            await WaitUntilAsync(async () => (verdict = await anonymous.GetFromJsonAsync<JsonElement>($"{web}/api/deploys/{id}", Ct)).GetProperty("verdict").GetString() != "pending", "the verdict", 60);
            var kpis = verdict.GetProperty("kpis").EnumerateArray().ToDictionary(k => k.GetProperty("metric").GetString()!);
            Assert.Equal("ok", kpis["shop.visits"].GetProperty("verdict").GetString());
            Assert.Contains("expected from the same time yesterday", kpis["shop.visits"].GetProperty("reason").GetString(), StringComparison.Ordinal);
            Assert.Equal("bad", kpis["shop.carts"].GetProperty("verdict").GetString());
            Assert.Equal("bad", verdict.GetProperty("verdict").GetString());
        }
    }
}
