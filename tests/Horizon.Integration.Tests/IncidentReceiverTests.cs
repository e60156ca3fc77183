using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using static Horizon.Integration.Tests.AnalyzerTests;
using static Horizon.Integration.Tests.TestSupport;

namespace Horizon.Integration.Tests;

/// <summary>Incidents to the native receivers (webhook in Alertmanager's shape, Slack, PagerDuty),
/// each a real HTTP endpoint on loopback, one of them dead (it accepts and never answers).</summary>
public sealed class IncidentReceiverTests
{
    private static async Task<JsonElement> NextAsync(HttpReceiver receiver, Func<JsonElement, bool> wanted, CancellationToken ct)
    {
        while (true)
        {
            using var document = JsonDocument.Parse(await receiver.Bodies.Reader.ReadAsync(ct));
            if (wanted(document.RootElement))
            {
                return document.RootElement.Clone();
            }
        }
    }

    [Fact]
    public async Task EachReceiverGetsItsRoutedIncidentsOpenedAndResolvedInItsShapeAndADeadOneDelaysOnlyItself()
    {
        await using var webhook = new HttpReceiver();
        await using var slack = new HttpReceiver();
        await using var pagerDuty = new HttpReceiver();
        // Accepts connections and never answers: every POST to it waits for the timeout.
        using var dead = new TcpListener(IPAddress.Loopback, 0);
        dead.Start();
        var held = new List<Socket>();
        var stop = TestContext.Current.CancellationToken;
        _ = Task.Run(async () =>
        {
            while (true)
            {
                try
                {
                    held.Add(await dead.AcceptSocketAsync(stop));
                }
                catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException)
                {
                    return;
                }
            }
        }, stop);
        await using var host = await HorizonHost.StartAsync(null, new Dictionary<string, string?>
        {
            ["Analyzer:MinPassInterval"] = "00:00:00.5",
            ["Analyzer:Mode"] = "ensemble",
            ["Analyzer:Incidents:ResolveAfter"] = "00:00:03",
            ["Analyzer:Incidents:MinCorrelation"] = "0",
            ["Analyzer:Alerts:ExternalUrl"] = "https://horizon.example",
            ["Analyzer:Alerts:Timeout"] = "00:00:30",
            ["Analyzer:Alerts:IncidentReceivers:0:Kind"] = "webhook",
            ["Analyzer:Alerts:IncidentReceivers:0:Url"] = $"http://127.0.0.1:{((IPEndPoint)dead.LocalEndpoint).Port}/dead",
            ["Analyzer:Alerts:IncidentReceivers:1:Kind"] = "webhook",
            ["Analyzer:Alerts:IncidentReceivers:1:Name"] = "generic",
            ["Analyzer:Alerts:IncidentReceivers:1:Url"] = webhook.Url,
            ["Analyzer:Alerts:IncidentReceivers:2:Kind"] = "slack",
            ["Analyzer:Alerts:IncidentReceivers:2:Url"] = slack.Url,
            ["Analyzer:Alerts:IncidentReceivers:3:Kind"] = "pagerduty",
            ["Analyzer:Alerts:IncidentReceivers:3:Url"] = pagerDuty.Url,
            ["Analyzer:Alerts:IncidentReceivers:3:RoutingKey"] = "R0UT1NGKEY",
            ["Analyzer:Alerts:IncidentReceivers:3:Owner"] = "payments",
        });
        var ct = TestContext.Current.CancellationToken;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(30)); // the dead receiver alone would take 90 s
        using var http = WritingClient();
        var web = $"http://{host.Endpoint("web")}";
        using (var metadata = new StringContent("""{"owner":"payments"}"""))
        {
            (await http.PutAsync($"{web}/api/metadata/pay.checkout.latency", metadata, ct)).EnsureSuccessStatusCode();
        }
        var now = Now;
        var random = new Random(12);
        await SeedAsync(host.Db, "pay.checkout.latency", Day(now, i => i == 1439 ? 900 : 100 + (random.NextDouble() * 10)));
        await SeedAsync(host.Db, "web.<!channel>.errors", Day(now, i => i == 1439 ? 700 : 50 + (random.NextDouble() * 5)));

        // The generic webhook: Alertmanager's notification shape, one per incident.
        var firing = new Dictionary<string, JsonElement>();
        while (firing.Count < 2)
        {
            var n = await NextAsync(webhook, e => e.GetProperty("status").GetString() == "firing", timeout.Token);
            firing[n.GetProperty("commonLabels").GetProperty("metric").GetString()!] = n;
        }
        var pay = firing["pay.checkout.latency"];
        Assert.Equal("4", pay.GetProperty("version").GetString());
        Assert.Equal("generic", pay.GetProperty("receiver").GetString());
        var payId = pay.GetProperty("groupLabels").GetProperty("incident").GetString()!;
        var alert = pay.GetProperty("alerts")[0];
        Assert.Equal("firing", alert.GetProperty("status").GetString());
        Assert.Equal("payments", alert.GetProperty("labels").GetProperty("owner").GetString());
        Assert.Equal($"https://horizon.example/#incident={payId}", alert.GetProperty("generatorURL").GetString());

        // Slack: Block Kit, the metric's name escaped (it notifies nobody), a button to the page.
        var slackWeb = await NextAsync(slack, e => e.GetProperty("text").GetString()!.Contains("web.", StringComparison.Ordinal), timeout.Token);
        var blocks = slackWeb.GetProperty("blocks");
        Assert.Equal("header", blocks[0].GetProperty("type").GetString());
        Assert.StartsWith("[", blocks[0].GetProperty("text").GetProperty("text").GetString(), StringComparison.Ordinal);
        Assert.Contains("web.&lt;!channel&gt;.errors", blocks[1].GetProperty("text").GetProperty("text").GetString(), StringComparison.Ordinal);
        // Slack reads markup (a mention) in the message text and mrkdwn; the header is plain text, shown as it is.
        Assert.DoesNotContain("<", slackWeb.GetProperty("text").GetString(), StringComparison.Ordinal);
        Assert.DoesNotContain("<", blocks[1].GetProperty("text").GetProperty("text").GetString(), StringComparison.Ordinal);
        Assert.Equal("plain_text", blocks[0].GetProperty("text").GetProperty("type").GetString());
        Assert.Equal("actions", blocks[blocks.GetArrayLength() - 1].GetProperty("type").GetString());

        // PagerDuty: only the payments incident (its route), a trigger keyed by the incident.
        var trigger = await NextAsync(pagerDuty, _ => true, timeout.Token);
        Assert.Equal("trigger", trigger.GetProperty("event_action").GetString());
        Assert.Equal("R0UT1NGKEY", trigger.GetProperty("routing_key").GetString());
        Assert.Equal(payId, trigger.GetProperty("dedup_key").GetString());
        Assert.Equal("pay.checkout.latency", trigger.GetProperty("payload").GetProperty("component").GetString());
        Assert.Equal("payments", trigger.GetProperty("payload").GetProperty("group").GetString());

        // Normal points: both resolve; PagerDuty gets the resolve of what it was sent, Slack a resolved message.
        await host.Db.StringAppendAsync("metrics.pay.checkout.latency", Encode([(now + 60, 104)]));
        await host.Db.StringAppendAsync("metrics.web.<!channel>.errors", Encode([(now + 60, 52)]));
        var resolve = await NextAsync(pagerDuty, _ => true, timeout.Token);
        Assert.Equal("resolve", resolve.GetProperty("event_action").GetString());
        Assert.Equal(payId, resolve.GetProperty("dedup_key").GetString());
        var resolvedPay = await NextAsync(webhook, e => e.GetProperty("status").GetString() == "resolved"
            && e.GetProperty("groupLabels").GetProperty("incident").GetString() == payId, timeout.Token);
        Assert.Equal("resolved", resolvedPay.GetProperty("alerts")[0].GetProperty("status").GetString());
        await NextAsync(slack, e => e.GetProperty("text").GetString()!.Contains("[RESOLVED]", StringComparison.Ordinal), timeout.Token);
        Assert.Equal(1, pagerDuty.Requests - 1); // the trigger and the resolve, nothing for the other incident
        Assert.True(webhook.AllSized && slack.AllSized && pagerDuty.AllSized, "every message was sent with a Content-Length");
        dead.Stop();
        foreach (var socket in held)
        {
            socket.Dispose();
        }
    }
    [Fact]
    public async Task InAStormTheMostSevereIncidentsGoFirstAndBeyondTheQueueTheLeastSevereAreDropped()
    {
        await using var receiver = new HttpReceiver();
        var options = new Horizon.Analyzer.AlertOptions
        {
            IncidentReceivers = [new() { Kind = Horizon.Analyzer.Incidents.ReceiverKind.Webhook, Url = receiver.Url, QueueLength = 4, PerMinute = 100 }],
        };
        var metrics = new Horizon.Analyzer.AlertMetrics(new Prometheus.CollectorRegistry());
        using var dispatcher = new Horizon.Analyzer.Incidents.IncidentDispatcher(options, metrics, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, TimeProvider.System);
        // Six incidents open in one pass, the two critical ones last.
        var incidents = Enumerable.Range(0, 6).Select(i => new Horizon.Analyzer.Incidents.Incident
        {
            Id = $"storm-{i}",
            Severity = i >= 4 ? "critical" : "warning",
            Peak = 0.3 + (i / 100.0),
            Metrics = [new() { Metric = $"storm.metric{i}" }],
        }).ToList();
        dispatcher.Dispatch([.. incidents.Select(i => new Horizon.Analyzer.Incidents.IncidentEvent(i.Id, "opened", 0))], incidents);
        using var stop = new CancellationTokenSource();
        var sending = dispatcher.RunAsync(stop.Token);
        var order = new List<string>();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(20));
        while (order.Count < 4)
        {
            using var document = JsonDocument.Parse(await receiver.Bodies.Reader.ReadAsync(timeout.Token));
            order.Add(document.RootElement.GetProperty("groupLabels").GetProperty("incident").GetString()!);
        }
        await stop.CancelAsync();
        await sending;
        Assert.Equal(["storm-5", "storm-4", "storm-3", "storm-2"], order);
        Assert.Equal(4, receiver.Requests);
        Assert.Equal(2, metrics.IncidentMessages.WithLabels("webhook-0", "dropped").Value);
    }
}
