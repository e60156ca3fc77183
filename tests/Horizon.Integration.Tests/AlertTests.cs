using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Threading.Channels;
using Horizon.Analyzer;
using Horizon.Core;
using static Horizon.Integration.Tests.AnalyzerTests;
using static Horizon.Integration.Tests.TestSupport;

namespace Horizon.Integration.Tests;

/// <summary>Alerts to webhooks: real HTTP receivers on loopback, the analyzer in ensemble mode on
/// the embedded store.</summary>
public sealed class AlertTests
{
    private static double Counter(string scraped, string series) =>
        scraped.Split('\n').Where(l => l.StartsWith(series + " ", StringComparison.Ordinal))
            .Select(l => double.Parse(l[(series.Length + 1)..], CultureInfo.InvariantCulture)).SingleOrDefault();

    private static Task<HorizonHost> StartAsync(params string[] webhooks) => StartAsync(new Dictionary<string, string?>(), null, webhooks);

    // The embedded store (in dataDirectory when given), the analyzer in ensemble mode every half second, alerts to webhooks.
    private static async Task<HorizonHost> StartAsync(Dictionary<string, string?> settings, string? dataDirectory, params string[] webhooks)
    {
        settings["Analyzer:MinPassInterval"] = "00:00:00.5";
        settings["Analyzer:Mode"] = "ensemble";
        for (var i = 0; i < webhooks.Length; i++)
        {
            settings[$"Analyzer:Alerts:Webhooks:{i}"] = webhooks[i];
        }
        return await HorizonHost.StartAsync(null, settings, dataDirectory);
    }

    [Fact]
    public async Task ANewAnomalyIsPostedOnceWithItsReasonsAndOwnerAndARepeatIsHeldBack()
    {
        await using var receiver = new HttpReceiver();
        await using var host = await StartAsync(receiver.Url);
        var ct = TestContext.Current.CancellationToken;
        using var http = WritingClient();
        using (var metadata = new StringContent("""{"unit":"ms","owner":"payments"}"""))
        {
            (await http.PutAsync($"http://{host.Endpoint("web")}/api/metadata/alert.spiky", metadata, ct)).EnsureSuccessStatusCode();
        }
        var now = Now;
        var random = new Random(5);
        await SeedAsync(host.Db, "alert.calm", Day(now, _ => 100 + (random.NextDouble() * 10)));
        await SeedAsync(host.Db, "alert.spiky", Day(now, i => i == 1439 ? 900 : 100 + (random.NextDouble() * 10)));

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(60));
        var body = await receiver.Bodies.Reader.ReadAsync(timeout.Token);
        using var alert = JsonDocument.Parse(body);
        var text = alert.RootElement.GetProperty("text").GetString()!;
        Assert.StartsWith("Horizon: alert.spiky = 900ms at ", text, StringComparison.Ordinal);
        Assert.Contains("is anomalous (score 0.", text, StringComparison.Ordinal);
        // The reasons follow (the strongest first), the level's among them.
        Assert.Contains("; owner payments: ", text, StringComparison.Ordinal);
        Assert.Contains("level: expected 10", text, StringComparison.Ordinal);
        var anomaly = alert.RootElement.GetProperty("anomaly");
        Assert.Equal("alert.spiky", anomaly.GetProperty("metric").GetString());
        Assert.Equal(now, anomaly.GetProperty("timestamp").GetInt64());

        // Later passes repeat the finding (same point): no second alert. A new anomalous point on
        // the same metric within RepeatAfter is held back and counted.
        await WaitForPassesAsync(host, 3);
        await host.Db.StringAppendAsync("metrics.alert.spiky", Encode([(now + 60, 1500)]));
        await WaitUntilAsync(async () => Counter(await host.ScrapeAsync(), "horizon_alerts_suppressed_total{reason=\"repeat\"}") >= 1, "the repeat held back", 60);
        Assert.Equal(1, Counter(await host.ScrapeAsync(), "horizon_alerts_sent_total"));
        Assert.Equal(1, receiver.Requests);
        Assert.False(receiver.Bodies.Reader.TryRead(out _));
    }

    [Fact]
    public async Task AlertTextIsEscapedForEachReceiverSoAMetricNameCanNeitherNotifyNorLink()
    {
        await using var slack = new HttpReceiver();
        await using var mattermost = new HttpReceiver();
        await using var host = await StartAsync(new Dictionary<string, string?> { ["Analyzer:Alerts:MattermostWebhooks:0"] = mattermost.Url }, null, slack.Url);
        const string name = "evil.<!channel>.[see](http://x.example)@here";
        var random = new Random(4);
        await SeedAsync(host.Db, name, Day(Now, i => i == 1439 ? 900 : 100 + (random.NextDouble() * 10)));

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(60));
        using var toSlack = JsonDocument.Parse(await slack.Bodies.Reader.ReadAsync(timeout.Token));
        using var toMattermost = JsonDocument.Parse(await mattermost.Bodies.Reader.ReadAsync(timeout.Token));
        var slackText = toSlack.RootElement.GetProperty("text").GetString()!;
        Assert.Contains("evil.&lt;!channel&gt;.[see](http://x.example)@here", slackText, StringComparison.Ordinal);
        Assert.DoesNotContain('<', slackText);
        var mattermostText = toMattermost.RootElement.GetProperty("text").GetString()!;
        Assert.Contains("evil.\\<\\!channel\\>.\\[see\\]\\(http\\://x.example\\)@\u200Bhere", mattermostText, StringComparison.Ordinal);
        // The structured copy keeps the name as it is: JSON needs no escaping beyond its own.
        Assert.Equal(name, toSlack.RootElement.GetProperty("anomaly").GetProperty("metric").GetString());
        Assert.True(slack.AllSized && mattermost.AllSized, "every alert was sent with a Content-Length");
    }

    [Fact]
    public async Task AWebhookThatRedirectsIsNotFollowedAndCountsAsFailed()
    {
        await using var elsewhere = new HttpReceiver();
        await using var redirecting = new HttpReceiver { RedirectTo = elsewhere.Url };
        await using var host = await StartAsync(new Dictionary<string, string?> { ["Analyzer:Alerts:Attempts"] = "1" }, null, redirecting.Url);
        var random = new Random(2);
        await SeedAsync(host.Db, "alert.redirected", Day(Now, i => i == 1439 ? 900 : 100 + (random.NextDouble() * 10)));

        await WaitUntilAsync(async () => Counter(await host.ScrapeAsync(), "horizon_alerts_failed_total") >= 1, "the redirect counted as a failure", 60);
        Assert.Equal(1, redirecting.Requests);
        Assert.Equal(0, elsewhere.Requests);
    }

    [Fact]
    public async Task AnAnalyzerThatRestartsDoesNotAlertAgainAboutWhatItReportedBefore()
    {
        await using var receiver = new HttpReceiver();
        var data = Path.Combine(Path.GetTempPath(), "horizon-data-" + Guid.NewGuid().ToString("N"));
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(60));
            await using (var first = await StartAsync([], data, receiver.Url))
            {
                var random = new Random(9);
                await SeedAsync(first.Db, "alert.restart", Day(Now, i => i == 1439 ? 800 : 100 + (random.NextDouble() * 10)));
                await receiver.Bodies.Reader.ReadAsync(timeout.Token);
            }
            await using var second = await StartAsync([], data, receiver.Url);
            Assert.True((await second.Db.HashGetAsync(StoreKeys.Anomalies, "alert.restart")).HasValue, "the finding survived the restart");
            // Its first pass finds the same anomaly again, as new to it: held back, not sent.
            await WaitUntilAsync(async () => Counter(await second.ScrapeAsync(), "horizon_alerts_suppressed_total{reason=\"repeat\"}") >= 1, "the finding held back after the restart", 60);
            await WaitForPassesAsync(second, 2);
            Assert.Equal(1, receiver.Requests);
        }
        finally
        {
            if (Directory.Exists(data))
            {
                Directory.Delete(data, recursive: true);
            }
        }
    }

    [Fact]
    public async Task AFailingWebhookIsRetriedAndOneThatStaysDownIsCountedWithoutStoppingTheAnalyzer()
    {
        await using var flaky = new HttpReceiver(HttpStatusCode.InternalServerError, HttpStatusCode.ServiceUnavailable);
        var dead = $"http://127.0.0.1:{RedisServer.FreePort()}/nobody-listens";
        await using var host = await StartAsync(flaky.Url, dead);
        var now = Now;
        var random = new Random(6);
        await SeedAsync(host.Db, "alert.flaky", Day(now, i => i == 1439 ? 700 : 50 + (random.NextDouble() * 5)));

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(60));
        var body = await flaky.Bodies.Reader.ReadAsync(timeout.Token);
        Assert.Contains("alert.flaky = 700", body, StringComparison.Ordinal);
        Assert.Equal(3, flaky.Requests); // two refusals, then accepted
        await WaitUntilAsync(async () => Counter(await host.ScrapeAsync(), "horizon_alerts_failed_total") >= 1, "the dead webhook counted", 30);
        var scraped = await host.ScrapeAsync();
        Assert.Equal(1, Counter(scraped, "horizon_alerts_sent_total"));
        Assert.Equal(1, Counter(scraped, "horizon_alerts_failed_total"));
        await WaitForPassesAsync(host, 2);
    }

    [Fact]
    public async Task BeyondTheStormLimitTheNewFindingsOfAWindowGoOutAsOneDigest()
    {
        await using var receiver = new HttpReceiver();
        await using var host = await StartAsync(new Dictionary<string, string?>
        {
            ["Analyzer:Alerts:StormLimit"] = "2",
            ["Analyzer:Alerts:StormWindow"] = "00:00:03",
        }, null, receiver.Url);
        var now = Now;
        var random = new Random(8);
        for (var m = 0; m < 6; m++)
        {
            await SeedAsync(host.Db, $"storm.m{m}", Day(now, i => i == 1439 ? 1000 + m : 100 + (random.NextDouble() * 10)));
        }
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(60));
        var single = new List<string>();
        JsonDocument? digest = null;
        while (digest is null)
        {
            var body = JsonDocument.Parse(await receiver.Bodies.Reader.ReadAsync(timeout.Token));
            if (body.RootElement.TryGetProperty("anomalies", out _))
            {
                digest = body;
            }
            else
            {
                single.Add(body.RootElement.GetProperty("anomaly").GetProperty("metric").GetString()!);
                body.Dispose();
            }
        }
        using (digest)
        {
            Assert.Equal(2, single.Count);
            var held = digest.RootElement.GetProperty("anomalies").EnumerateArray().Select(a => a.GetProperty("metric").GetString()!).ToList();
            Assert.Equal(4, held.Count);
            Assert.Equal(Enumerable.Range(0, 6).Select(m => $"storm.m{m}").Order(), single.Concat(held).Order());
            var text = digest.RootElement.GetProperty("text").GetString()!;
            Assert.StartsWith("Horizon: 4 more new findings (2 are sent one by one per 3 s): storm.m", text, StringComparison.Ordinal);
        }
        Assert.Equal(4, Counter(await host.ScrapeAsync(), "horizon_alerts_digested_total"));
        Assert.Equal(3, receiver.Requests);
    }

    [Fact]
    public void AnExhaustionForecastIsRepeatedAfterADayNotAfterTheAnomaliesHalfHour()
    {
        var metrics = new AlertMetrics(Prometheus.Metrics.NewCustomRegistry());
        using var sender = new AlertSender(new AlertOptions { Webhooks = ["http://127.0.0.1:9/x"], RepeatAfter = TimeSpan.Zero },
            metrics, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, TimeProvider.System);
        var anomaly = new AnomalyRecord("disk.used", 1_764_720_000, 90, 0, 6, [], 1_764_720_003, Score: 0.9);
        var exhaustion = anomaly with { Kind = FindingKind.Exhaustion, SecondsToCapacity = 86400, Capacity = 100 };
        sender.Offer(anomaly);
        sender.Offer(anomaly with { Timestamp = anomaly.Timestamp + 10 });
        Assert.Equal(0, metrics.Suppressed.WithLabels("repeat").Value);
        sender.Offer(exhaustion);
        sender.Offer(exhaustion with { Timestamp = exhaustion.Timestamp + 10 });
        Assert.Equal(1, metrics.Suppressed.WithLabels("repeat").Value);
    }

    [Fact]
    public void WebhooksMustBeHttpUrlsAndTheTextCoversSkylineAndExhaustionFindings()
    {
        Assert.Contains("not an http(s) URL", Assert.Throws<ArgumentException>(() => new AlertOptions { Webhooks = ["ftp://example/x"] }.Validate()).Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => new AlertOptions { Attempts = 0 }.Validate());
        Assert.Throws<ArgumentException>(() => new AlertOptions { StormWindow = TimeSpan.Zero }.Validate());
        var skyline = new AnomalyRecord("db.qps", 1_764_720_000, 42, 7, 6, ["first_hour_average", "grubbs"], 1_764_720_003);
        Assert.Equal("Horizon: db.qps = 42 at 2025-12-03 00:00:00 UTC is anomalous (Skyline: 7 algorithms agreed, 6 needed: first_hour_average, grubbs)", AlertSender.Text(skyline));
        var full = new AnomalyRecord("disk.used", 1_764_720_000, 82.5, 0, 6, [], 1_764_720_003, Kind: FindingKind.Exhaustion,
            Reasons: ["drift: 5.1% a day"], SecondsToCapacity: 3 * 86400, Capacity: 100, Unit: "%", Owner: "storage");
        Assert.Equal("Horizon: disk.used reaches its capacity of 100% in 3.0 days (now 82.5% at 2025-12-03 00:00:00 UTC); owner storage: drift: 5.1% a day", AlertSender.Text(full));
    }
}
