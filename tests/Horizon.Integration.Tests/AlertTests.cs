using System.Net;
using System.Text.Json;
using Horizon.Analyzer;
using Horizon.Analyzer.Incidents;
using Horizon.Core;
using static Horizon.Integration.Tests.AnalyzerTests;
using static Horizon.Integration.Tests.TestSupport;

namespace Horizon.Integration.Tests;

/// <summary>The Slack and Mattermost webhook shorthands (receivers of incidents like any other),
/// delivery across a restart, retries and redirects: real HTTP receivers on loopback, the analyzer
/// in ensemble mode on the embedded store.</summary>
public sealed class AlertTests
{
    private static string Messages(string receiver, string result) => $"horizon_incident_messages_total{{receiver=\"{receiver}\",result=\"{result}\"}}";

    // The embedded store (in dataDirectory when given), the analyzer in ensemble mode every half second, Slack webhooks.
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

    private static async Task<JsonElement> NextAsync(HttpReceiver receiver, CancellationToken ct)
    {
        using var document = JsonDocument.Parse(await receiver.Bodies.Reader.ReadAsync(ct));
        return document.RootElement.Clone();
    }

    [Fact]
    public async Task TheWebhookShorthandsGetIncidentsEscapedSoAMetricNameCanNeitherNotifyNorLink()
    {
        await using var slack = new HttpReceiver();
        await using var mattermost = new HttpReceiver();
        await using var host = await StartAsync(new Dictionary<string, string?> { ["Analyzer:Alerts:MattermostWebhooks:0"] = mattermost.Url }, null, slack.Url);
        const string name = "evil.<!channel>.[see](http://x.example)@here";
        var random = new Random(4);
        await SeedAsync(host.Db, name, Day(Now, i => i == 1439 ? 900 : 100 + (random.NextDouble() * 10)));

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(60));
        var toSlack = await NextAsync(slack, timeout.Token);
        var toMattermost = await NextAsync(mattermost, timeout.Token);
        var slackText = toSlack.GetProperty("text").GetString()!;
        Assert.StartsWith("Horizon: [", slackText, StringComparison.Ordinal);
        Assert.Contains("evil.&lt;!channel&gt;.[see](http://x.example)@here is anomalous", slackText, StringComparison.Ordinal);
        Assert.DoesNotContain('<', slackText);
        Assert.Equal("header", toSlack.GetProperty("blocks")[0].GetProperty("type").GetString());
        var mattermostText = toMattermost.GetProperty("text").GetString()!;
        Assert.Contains("evil.\\<\\!channel\\>.\\[see\\]\\(http\\://x.example\\)@\u200Bhere", mattermostText, StringComparison.Ordinal);
        Assert.Contains("level\\: expected", mattermostText, StringComparison.Ordinal);
        Assert.False(toMattermost.TryGetProperty("blocks", out _), "Mattermost reads no Block Kit");
        Assert.True(slack.AllSized && mattermost.AllSized, "every message was sent with a Content-Length");
        await WaitUntilAsync(async () => Scraped(await host.ScrapeAsync(), Messages("mattermost-0", "sent")) >= 1, "the Mattermost message counted", 10);
        Assert.Equal(1, Scraped(await host.ScrapeAsync(), Messages("webhooks-0", "sent")));
    }

    [Fact]
    public async Task AWebhookThatRedirectsIsNotFollowedAndCountsAsFailed()
    {
        await using var elsewhere = new HttpReceiver();
        await using var redirecting = new HttpReceiver { RedirectTo = elsewhere.Url };
        await using var host = await StartAsync(new Dictionary<string, string?> { ["Analyzer:Alerts:Attempts"] = "1" }, null, redirecting.Url);
        var random = new Random(2);
        await SeedAsync(host.Db, "alert.redirected", Day(Now, i => i == 1439 ? 900 : 100 + (random.NextDouble() * 10)));

        await WaitUntilAsync(async () => Scraped(await host.ScrapeAsync(), Messages("webhooks-0", "failed")) >= 1, "the redirect counted as a failure", 60);
        Assert.Equal(1, redirecting.Requests);
        Assert.Equal(0, elsewhere.Requests);
    }

    [Fact]
    public async Task AnAnalyzerThatRestartsNeitherSendsAnOpenIncidentAgainNorLosesItsResolve()
    {
        await using var receiver = new HttpReceiver();
        var data = Path.Combine(Path.GetTempPath(), "horizon-data-" + Guid.NewGuid().ToString("N"));
        var settings = new Dictionary<string, string?> { ["Analyzer:Incidents:ResolveAfter"] = "00:00:03" };
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(60));
            var now = Now;
            string opened;
            await using (var first = await StartAsync(new(settings), data, receiver.Url))
            {
                var random = new Random(9);
                await SeedAsync(first.Db, "alert.restart", Day(now, i => i == 1439 ? 800 : 100 + (random.NextDouble() * 10)));
                opened = (await NextAsync(receiver, timeout.Token)).GetProperty("text").GetString()!;
            }
            Assert.Contains("alert.restart is anomalous", opened, StringComparison.Ordinal);
            await using var second = await StartAsync(new(settings), data, receiver.Url);
            // The same anomaly, found again by the new process's first passes, is the open incident it took up: no message.
            await WaitForPassesAsync(second, 3);
            Assert.Equal(1, receiver.Requests);
            // Back to normal: the resolve reaches the receiver the first process sent the incident to.
            await second.Db.StringAppendAsync("metrics.alert.restart", Encode([(now + 60, 104)]));
            var resolved = (await NextAsync(receiver, timeout.Token)).GetProperty("text").GetString()!;
            Assert.Contains("[RESOLVED]", resolved, StringComparison.Ordinal);
            Assert.Contains("alert.restart was anomalous", resolved, StringComparison.Ordinal);
            Assert.Equal(2, receiver.Requests);
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
        await using var host = await StartAsync([], null, flaky.Url, dead);
        var random = new Random(6);
        await SeedAsync(host.Db, "alert.flaky", Day(Now, i => i == 1439 ? 700 : 50 + (random.NextDouble() * 5)));

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(60));
        var body = await NextAsync(flaky, timeout.Token);
        Assert.Contains("alert.flaky is anomalous", body.GetProperty("text").GetString()!, StringComparison.Ordinal);
        Assert.Equal(3, flaky.Requests); // two refusals, then accepted
        await WaitUntilAsync(async () => Scraped(await host.ScrapeAsync(), Messages("webhooks-1", "failed")) >= 1, "the dead webhook counted", 30);
        Assert.Equal(1, Scraped(await host.ScrapeAsync(), Messages("webhooks-0", "sent")));
        await WaitForPassesAsync(host, 2);
    }

    [Fact]
    public async Task AReceiverWithAMinimumScoreHearsOfFewerIncidentsThanThePageShows()
    {
        await using var everything = new HttpReceiver();
        await using var paging = new HttpReceiver();
        var options = new AlertOptions
        {
            IncidentReceivers =
            [
                new() { Kind = ReceiverKind.Webhook, Url = everything.Url, Name = "all" },
                new() { Kind = ReceiverKind.Webhook, Url = paging.Url, Name = "pager", MinScore = 0.5 },
            ],
        };
        var metrics = new AlertMetrics(new Prometheus.CollectorRegistry());
        using var dispatcher = new IncidentDispatcher(options, metrics, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, TimeProvider.System);
        Incident Of(string id, double? peak) => new() { Id = id, Peak = peak, Metrics = [new() { Metric = id + ".m" }] };
        List<Incident> incidents = [Of("weak", 0.31), Of("strong", 0.9), Of("skyline", null)];
        dispatcher.Dispatch([.. incidents.Select(i => new IncidentEvent(i.Id, "opened", 0))], incidents);
        using var stop = new CancellationTokenSource();
        var sending = dispatcher.RunAsync(stop.Token);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(20));
        var paged = new List<string>();
        for (var k = 0; k < 2; k++)
        {
            paged.Add((await NextAsync(paging, timeout.Token)).GetProperty("groupLabels").GetProperty("incident").GetString()!);
        }
        for (var k = 0; k < 3; k++)
        {
            await NextAsync(everything, timeout.Token);
        }
        await stop.CancelAsync();
        await sending;
        Assert.Equal(["skyline", "strong"], paged.Order());
        Assert.Equal(2, paging.Requests);
        Assert.Equal(["all", "pager"], incidents.Single(i => i.Id == "strong").SentTo);
        Assert.Equal(["all"], incidents.Single(i => i.Id == "weak").SentTo);
    }

    [Fact]
    public void ReceiversMustBeHttpUrlsAndSettingsThatCannotWorkAreRefused()
    {
        Assert.Contains("Analyzer:Alerts:Webhooks:0: 'ftp://example/x' is not an http or https URL",
            Assert.Throws<ArgumentException>(() => new AlertOptions { Webhooks = ["ftp://example/x"] }.Validate()).Message, StringComparison.Ordinal);
        Assert.Contains("Analyzer:Alerts:MattermostWebhooks:1:",
            Assert.Throws<ArgumentException>(() => new AlertOptions { MattermostWebhooks = ["http://127.0.0.1/a", "x"] }.Validate()).Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => new AlertOptions { Attempts = 0 }.Validate());
        Assert.Throws<ArgumentException>(() => new AlertOptions { IncidentReceivers = [new() { Url = "http://127.0.0.1/", MinScore = -1 }] }.Validate());
    }
}
