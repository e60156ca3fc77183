using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using static Horizon.Integration.Tests.AnalyzerTests;
using static Horizon.Integration.Tests.TestSupport;

namespace Horizon.Integration.Tests;

/// <summary>Incidents delivered to a real Prometheus Alertmanager (Debian's
/// <c>prometheus-alertmanager</c>, installed by test.sh), which notifies a webhook on loopback:
/// what an on-call team's routing would receive.</summary>
public sealed class AlertmanagerTests
{
    /// <summary>An Alertmanager on a free loopback port whose one route sends every group, firing and
    /// resolved, at once to a webhook whose bodies land in <see cref="Hook"/>.</summary>
    private sealed class Alertmanager : IAsyncDisposable
    {
        private readonly Process _process;
        private readonly string _directory;

        private Alertmanager(Process process, HttpReceiver hook, string directory, int port)
        {
            (_process, Hook, _directory, Port) = (process, hook, directory, port);
        }

        public int Port { get; }

        public string Url => $"http://127.0.0.1:{Port}";

        /// <summary>Alertmanager's webhook notifications.</summary>
        public HttpReceiver Hook { get; }

        public static async Task<Alertmanager> StartAsync()
        {
            var binary = new[] { "/usr/bin/prometheus-alertmanager", "/usr/bin/alertmanager" }.FirstOrDefault(File.Exists)
                ?? throw new InvalidOperationException("prometheus-alertmanager is not installed (test.sh installs it with apt-get)");
            var directory = Path.Combine(Path.GetTempPath(), "horizon-am-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(directory);
            var hook = new HttpReceiver();
            await File.WriteAllTextAsync(Path.Combine(directory, "alertmanager.yml"), $"""
                route:
                  receiver: hook
                  group_by: ['incident']
                  group_wait: 1s
                  group_interval: 1s
                  repeat_interval: 1h
                receivers:
                  - name: hook
                    webhook_configs:
                      - url: {hook.Url}
                        send_resolved: true
                """);
            var port = RedisServer.FreePort();
            var process = Process.Start(new ProcessStartInfo(binary)
            {
                ArgumentList =
                {
                    $"--config.file={Path.Combine(directory, "alertmanager.yml")}", $"--storage.path={Path.Combine(directory, "data")}",
                    $"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address=",
                },
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            })!;
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            var am = new Alertmanager(process, hook, directory, port);
            using var http = new HttpClient();
            await WaitUntilAsync(async () =>
            {
                try
                {
                    return (await http.GetAsync($"{am.Url}/-/ready")).IsSuccessStatusCode;
                }
                catch (HttpRequestException)
                {
                    return false;
                }
            }, "Alertmanager ready", 30);
            return am;
        }

        public async ValueTask DisposeAsync()
        {
            try
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }
            catch (InvalidOperationException)
            {
            }
            _process.Dispose();
            await Hook.DisposeAsync();
            Directory.Delete(_directory, recursive: true);
        }
    }

    // The next notification whose one alert is for this incident with this status.
    private static async Task<JsonElement> NotificationAsync(Alertmanager am, string status, Func<JsonElement, bool> about, CancellationToken ct)
    {
        while (true)
        {
            using var document = JsonDocument.Parse(await am.Hook.Bodies.Reader.ReadAsync(ct));
            var n = document.RootElement.Clone();
            if (n.GetProperty("status").GetString() == status && n.GetProperty("alerts").EnumerateArray().Any(about))
            {
                return n;
            }
        }
    }

    [Fact]
    public async Task AnIncidentFiresInAlertmanagerIsAcknowledgedThroughTheApiAndResolves()
    {
        await using var am = await Alertmanager.StartAsync();
        await using var host = await HorizonHost.StartAsync(null, new Dictionary<string, string?>
        {
            ["Analyzer:MinPassInterval"] = "00:00:00.5",
            ["Analyzer:Mode"] = "ensemble",
            ["Analyzer:Alerts:Alertmanagers:0"] = am.Url,
            ["Analyzer:Alerts:AlertmanagerResend"] = "00:00:02",
            ["Analyzer:Alerts:ExternalUrl"] = "http://horizon.example",
            ["Analyzer:Incidents:ResolveAfter"] = "00:00:04",
        });
        var ct = TestContext.Current.CancellationToken;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(90));
        var web = $"http://{host.Endpoint("web")}";
        using var http = WritingClient();
        using (var metadata = new StringContent("""{"owner":"checkout"}"""))
        {
            (await http.PutAsync($"{web}/api/metadata/am.latency", metadata, ct)).EnsureSuccessStatusCode();
        }
        var now = Now;
        var random = new Random(7);
        await SeedAsync(host.Db, "am.latency", Day(now, i => i == 1439 ? 900 : 100 + (random.NextDouble() * 10)));

        // Firing: labels that route it, annotations that explain it, a link back to the page.
        var firing = await NotificationAsync(am, "firing", a => a.GetProperty("labels").GetProperty("metric").GetString() == "am.latency", timeout.Token);
        var alert = firing.GetProperty("alerts")[0];
        var labels = alert.GetProperty("labels");
        Assert.Equal("HorizonAnomaly", labels.GetProperty("alertname").GetString());
        Assert.Equal("checkout", labels.GetProperty("owner").GetString());
        Assert.Equal("anomaly", labels.GetProperty("kind").GetString());
        var id = labels.GetProperty("incident").GetString()!;
        Assert.Equal($"http://horizon.example/#incident={id}", alert.GetProperty("generatorURL").GetString());
        Assert.StartsWith("Horizon: am.latency is anomalous", alert.GetProperty("annotations").GetProperty("summary").GetString(), StringComparison.Ordinal);
        Assert.Contains("level: expected 10", alert.GetProperty("annotations").GetProperty("description").GetString(), StringComparison.Ordinal);

        // The API lists it open; an acknowledgement needs the token and shows on the next pass.
        var open = await http.GetFromJsonAsync<JsonElement>($"{web}/api/incidents?state=open", ct);
        Assert.Equal(id, open.GetProperty("incidents")[0].GetProperty("id").GetString());
        using var anonymous = new HttpClient();
        using (var body = JsonContent.Create(new { by = "mallory" }))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.PostAsync($"{web}/api/incidents/{id}/ack", body, ct)).StatusCode);
        }
        using (var body = JsonContent.Create(new { by = "alice", comment = "rolling back" }))
        {
            (await http.PostAsync($"{web}/api/incidents/{id}/ack", body, ct)).EnsureSuccessStatusCode();
        }
        await WaitUntilAsync(async () => (await http.GetFromJsonAsync<JsonElement>($"{web}/api/incidents/{id}", ct))
            .TryGetProperty("acknowledged", out var ack) && ack.ValueKind == JsonValueKind.Object && ack.GetProperty("by").GetString() == "alice", "the acknowledgement applied", 30);

        // A normal point: nothing is found any more, and after ResolveAfter the incident resolves in Alertmanager too.
        await host.Db.StringAppendAsync("metrics.am.latency", Encode([(now + 60, 104)]));
        var resolved = await NotificationAsync(am, "resolved", a => a.GetProperty("labels").GetProperty("incident").GetString() == id, timeout.Token);
        Assert.Equal("resolved", resolved.GetProperty("alerts")[0].GetProperty("status").GetString());
        var stored = await http.GetFromJsonAsync<JsonElement>($"{web}/api/incidents/{id}", ct);
        Assert.Equal("resolved", stored.GetProperty("state").GetString());
        var history = await http.GetFromJsonAsync<JsonElement>($"{web}/api/incidents/history", ct);
        var events = history.GetProperty("events").EnumerateArray().Where(e => e.GetProperty("incident").GetString() == id).Select(e => e.GetProperty("event").GetString()).Reverse().ToList();
        Assert.Equal(["opened", "acknowledged", "resolved"], events);
    }

    [Fact]
    public async Task SilencesAreWrittenWithTheTokenAndValidated()
    {
        await using var host = await HorizonHost.StartAsync(null, new Dictionary<string, string?>());
        var ct = TestContext.Current.CancellationToken;
        var web = $"http://{host.Endpoint("web")}";
        using var http = WritingClient();
        using var anonymous = new HttpClient();
        using (var body = JsonContent.Create(new { metric = "web.*", duration = "2h", created_by = "sre" }))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.PostAsync($"{web}/api/silences", body, ct)).StatusCode);
        }
        using (var body = JsonContent.Create(new { duration = "2h", created_by = "sre" }))
        {
            var refused = await http.PostAsync($"{web}/api/silences", body, ct);
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
            Assert.Contains("metric pattern, an owner", await refused.Content.ReadAsStringAsync(ct), StringComparison.Ordinal);
        }
        using (var body = JsonContent.Create(new { metric = "web.*", duration = "forever", created_by = "sre" }))
        {
            Assert.Equal(HttpStatusCode.BadRequest, (await http.PostAsync($"{web}/api/silences", body, ct)).StatusCode);
        }
        string id;
        using (var body = JsonContent.Create(new { metric = "web.*", owner = "web", duration = "90m", created_by = "sre", comment = "deploy" }))
        {
            var created = await http.PostAsync($"{web}/api/silences", body, ct);
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
            var silence = await created.Content.ReadFromJsonAsync<JsonElement>(ct);
            id = silence.GetProperty("id").GetString()!;
            Assert.Equal(90 * 60, silence.GetProperty("ends_at").GetInt64() - silence.GetProperty("starts_at").GetInt64());
        }
        var listed = await http.GetFromJsonAsync<JsonElement>($"{web}/api/silences", ct);
        Assert.True(listed.GetProperty("silences")[0].GetProperty("active").GetBoolean());
        Assert.Equal(id, listed.GetProperty("silences")[0].GetProperty("silence").GetProperty("id").GetString());
        Assert.Equal(HttpStatusCode.NoContent, (await http.DeleteAsync($"{web}/api/silences/{id}", ct)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await http.DeleteAsync($"{web}/api/silences/{id}", ct)).StatusCode);
        using (var body = JsonContent.Create(new { by = "alice" }))
        {
            Assert.Equal(HttpStatusCode.NotFound, (await http.PostAsync($"{web}/api/incidents/none/ack", body, ct)).StatusCode);
        }
    }
    [Fact]
    public async Task ADeployThatShiftsThirtyOneMetricsIsOneIncidentInTheApi()
    {
        await using var host = await HorizonHost.StartAsync(null, new Dictionary<string, string?>
        {
            ["Analyzer:MinPassInterval"] = "00:00:00.5",
            ["Analyzer:Mode"] = "ensemble",
        });
        await DeployIsOneIncidentAsync(host, host.Db, [host]);
    }

    [Fact]
    public async Task ADeployAcrossTwoAnalyzerShardsIsStillOneIncident()
    {
        // Two analyzers split the metrics (each judges about half of the 31); they share the
        // incidents in the store, so the deploy is still one incident, not one per shard.
        await using var redis = await RedisServer.StartAsync();
        var settings = new Dictionary<string, string?> { ["Analyzer:MinPassInterval"] = "00:00:00.5", ["Analyzer:Mode"] = "ensemble" };
        await using var a = await HorizonHost.StartAsync(redis.ConnectionString, new Dictionary<string, string?>(settings) { ["Analyzer:Shard"] = "0/2" });
        await using var b = await HorizonHost.StartAsync(redis.ConnectionString, new Dictionary<string, string?>(settings) { ["Analyzer:Shard"] = "1/2" }, role: HorizonRole.Analyze);
        await DeployIsOneIncidentAsync(a, a.Db, [a, b]);
        var shards = (await a.Db.HashGetAllAsync(Horizon.Core.StoreKeys.Incidents)).Select(e => JsonDocument.Parse(e.Value.ToString()).RootElement.GetProperty("shard").GetString()).ToList();
        Assert.Equal(2, shards.Count);
    }

    // 31 metrics of different services shift together for the last six minutes (some up, some
    // down, different scales); one unrelated metric spikes at the same moment: two incidents.
    private static async Task DeployIsOneIncidentAsync(HorizonHost web, StackExchange.Redis.IDatabase db, HorizonHost[] analyzers)
    {
        var ct = TestContext.Current.CancellationToken;
        var now = Now;
        var random = new Random(31);
        var names = new List<string>();
        for (var m = 0; m < 31; m++)
        {
            var scale = Math.Pow(10, m % 3);
            var direction = m % 4 == 0 ? -1 : 1;
            names.Add($"svc{m}.requests.rate{m % 5}");
            await SeedAsync(db, names[^1], Day(now, i => (scale * 100) + (scale * 4 * random.NextDouble()) + (i >= 1434 ? direction * 40 * scale : 0)));
        }
        await SeedAsync(db, "lonely.queue.depth", Day(now, i => 50 + (2 * random.NextDouble()) + (i == 1439 ? 400 : 0)));

        var url = $"http://{web.Endpoint("web")}";
        using var http = new HttpClient();
        JsonElement incidents = default;
        await WaitUntilAsync(async () =>
        {
            incidents = (await http.GetFromJsonAsync<JsonElement>($"{url}/api/incidents?state=open", ct)).GetProperty("incidents");
            return incidents.EnumerateArray().Sum(i => i.GetProperty("metrics").GetArrayLength()) >= 32;
        }, "the findings grouped", 60);
        foreach (var analyzer in analyzers)
        {
            await WaitForPassesAsync(analyzer, 2);
        }
        incidents = (await http.GetFromJsonAsync<JsonElement>($"{url}/api/incidents?state=open", ct)).GetProperty("incidents");
        var groups = incidents.EnumerateArray().Select(i => i.GetProperty("metrics").EnumerateArray().Select(m => m.GetProperty("metric").GetString()!).ToList()).ToList();
        Assert.Equal(2, groups.Count);
        Assert.Equal(names.Order(), groups.Single(g => g.Count > 1).Order());
        Assert.Equal(["lonely.queue.depth"], groups.Single(g => g.Count == 1));
        // The history has two openings and 30 joins, not a row per finding per pass.
        var history = (await http.GetFromJsonAsync<JsonElement>($"{url}/api/incidents/history", ct)).GetProperty("events").EnumerateArray().Select(e => e.GetProperty("event").GetString()).ToList();
        Assert.Equal(2, history.Count(e => e == "opened"));
        Assert.Equal(30, history.Count(e => e == "joined"));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task PeopleTeachingOneMetricAtTheSameMomentAllKeepTheirShapes(bool onRedis)
    {
        await using var redis = onRedis ? await RedisServer.StartAsync() : null;
        await using var host = await HorizonHost.StartAsync(redis?.ConnectionString, role: HorizonRole.Web);
        var store = new Horizon.Analyzer.Incidents.IncidentStore(host.Services.GetRequiredService<Horizon.Storage.StoreConnection>());
        var means = Enumerable.Range(0, Horizon.Analyzer.Incidents.Movement.Bins).Select(i => (float)i).ToArray();
        // Twenty writers, each reading the list and writing it back with its shape, all at once.
        await Task.WhenAll(Enumerable.Range(0, 20).Select(k => Task.Run(() =>
            store.TeachAsync([new Horizon.Analyzer.Incidents.TaughtShape($"p{k}", "busy.metric", 1000, means, 1, $"person{k}", null)]))));
        var kept = await store.ProfilesAsync("busy.metric");
        Assert.Equal(Enumerable.Range(0, 20).Select(k => $"p{k}").Order(), kept.Select(p => p.Id).Order());
        Assert.Equal(20, (long)await host.Db.StringGetAsync(Horizon.Core.StoreKeys.ProfilesVersion));
    }

    [Fact]
    public async Task AShiftThatHoldsKeepsItsIncidentOpenUntilItEnds()
    {
        await using var host = await HorizonHost.StartAsync(null, new Dictionary<string, string?>
        {
            ["Analyzer:MinPassInterval"] = "00:00:00.5",
            ["Analyzer:Mode"] = "ensemble",
            ["Analyzer:Incidents:ResolveAfter"] = "00:00:03",
        });
        var ct = TestContext.Current.CancellationToken;
        var web = $"http://{host.Endpoint("web")}";
        using var http = new HttpClient();
        var now = Now;
        var random = new Random(8);
        double Noise() => 100 + (random.NextDouble() * 4);
        await SeedAsync(host.Db, "cpu.held", Day(now, i => Noise() + (i >= 1430 ? 30 : 0)));
        async Task<JsonElement> IncidentsAsync() => (await http.GetFromJsonAsync<JsonElement>($"{web}/api/incidents", ct)).GetProperty("incidents");
        await WaitUntilAsync(async () => (await IncidentsAsync()).GetArrayLength() == 1, "the shift opened an incident", 60);

        // The shift holds, a point a second for three times ResolveAfter: not reported again (the
        // novelty filter), still abnormal, so the incident stays open.
        for (var k = 1; k <= 9; k++)
        {
            await host.Db.StringAppendAsync("metrics.cpu.held", Encode([(now + (k * 60), Noise() + 30)]));
            await Task.Delay(1000, ct);
        }
        var held = (await IncidentsAsync())[0];
        Assert.Equal("open", held.GetProperty("state").GetString());
        // Back to normal: it resolves.
        for (var k = 10; k <= 60; k++)
        {
            await host.Db.StringAppendAsync("metrics.cpu.held", Encode([(now + (k * 60), Noise())]));
        }
        await WaitUntilAsync(async () => (await IncidentsAsync())[0].GetProperty("state").GetString() == "resolved", "the incident resolved", 30);
        var history = (await http.GetFromJsonAsync<JsonElement>($"{web}/api/incidents/history", ct)).GetProperty("events").EnumerateArray().Select(e => e.GetProperty("event").GetString()).Reverse().ToList();
        Assert.Equal("opened", history[0]);
        Assert.Equal("resolved", history[^1]);
        Assert.Equal(1, history.Count(e => e == "opened"));
    }
    [Fact]
    public async Task NotAnomalousFeedbackTeachesTheMetricSoTheSameMovementIsNoLongerReported()
    {
        await using var host = await HorizonHost.StartAsync(null, new Dictionary<string, string?>
        {
            ["Analyzer:MinPassInterval"] = "00:00:00.5",
            ["Analyzer:Mode"] = "ensemble",
        });
        var ct = TestContext.Current.CancellationToken;
        var web = $"http://{host.Endpoint("web")}";
        using var http = WritingClient();
        var random = new Random(4);
        await SeedAsync(host.Db, "batch.queue", Day(Now, i => i == 1439 ? 400 : 100 + (random.NextDouble() * 5)));
        JsonElement open = default;
        await WaitUntilAsync(async () => (open = (await http.GetFromJsonAsync<JsonElement>($"{web}/api/incidents?state=open", ct)).GetProperty("incidents")).GetArrayLength() == 1, "an incident", 60);
        var id = open[0].GetProperty("id").GetString()!;
        Assert.True((await host.Db.HashGetAsync(Horizon.Core.StoreKeys.Anomalies, "batch.queue")).HasValue);

        using (var anonymous = new HttpClient())
        using (var body = JsonContent.Create(new { verdict = "not_anomalous", by = "mallory" }))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.PostAsync($"{web}/api/incidents/{id}/feedback", body, ct)).StatusCode);
        }
        using (var body = JsonContent.Create(new { verdict = "not_anomalous", by = "alice" }))
        {
            var taught = await (await http.PostAsync($"{web}/api/incidents/{id}/feedback", body, ct)).EnsureSuccessStatusCode().Content.ReadFromJsonAsync<JsonElement>(ct);
            Assert.Equal("batch.queue", taught.GetProperty("taught")[0].GetProperty("metric").GetString());
            Assert.Equal(30, taught.GetProperty("taught")[0].GetProperty("means").GetArrayLength());
        }
        // The same finding, judged again on the next passes, is no longer reported, and counted.
        await WaitUntilAsync(async () => !(await host.Db.HashGetAsync(Horizon.Core.StoreKeys.Anomalies, "batch.queue")).HasValue, "the taught finding gone", 30);
        Assert.True(Scraped(await host.ScrapeAsync(), "horizon_analyzer_findings_taught_total") >= 1);
        var profiles = await http.GetFromJsonAsync<JsonElement>($"{web}/api/profiles/batch.queue", ct);
        Assert.Equal("alice", profiles.GetProperty("profiles")[0].GetProperty("by").GetString());
        // A burst four times as large is not what was taught: reported.
        await host.Db.StringAppendAsync("metrics.batch.queue", Encode([(Now + 60, 1300)]));
        await WaitUntilAsync(async () => (await host.Db.HashGetAsync(Horizon.Core.StoreKeys.Anomalies, "batch.queue")).HasValue, "the larger burst reported", 30);
        Assert.Equal(HttpStatusCode.NoContent, (await http.DeleteAsync($"{web}/api/profiles/batch.queue", ct)).StatusCode);
    }

    [Fact]
    public async Task InBothModesAFindingOfSkylinesVoteAloneCarriesTheVotesNotTheEnsemblesLowScore()
    {
        await using var host = await HorizonHost.StartAsync(null, new Dictionary<string, string?>
        {
            ["Analyzer:MinPassInterval"] = "00:00:00.5",
            ["Analyzer:Mode"] = "both",
        });
        var ct = TestContext.Current.CancellationToken;
        // A spike Skyline's algorithms agree on, on a metric whose team turned the ensemble's
        // sensitivity down (metadata): the ensemble does not flag it; Skyline's vote does.
        using (var http = WritingClient())
        using (var metadata = new StringContent("""{"sensitivity":0.001}"""))
        {
            (await http.PutAsync($"http://{host.Endpoint("web")}/api/metadata/both.moderate", metadata, ct)).EnsureSuccessStatusCode();
        }
        var random = new Random(10);
        await SeedAsync(host.Db, "both.moderate", Day(Now, i => i == 1439 ? 900 : 100 + (random.NextDouble() * 10)));
        await WaitUntilAsync(async () => (await host.Db.HashGetAsync(Horizon.Core.StoreKeys.Anomalies, "both.moderate")).HasValue, "the finding", 60);
        using var finding = JsonDocument.Parse((string)(await host.Db.HashGetAsync(Horizon.Core.StoreKeys.Anomalies, "both.moderate"))!);
        var record = finding.RootElement;
        Assert.True(record.GetProperty("votes").GetInt32() >= record.GetProperty("consensus").GetInt32());
        Assert.False(record.TryGetProperty("score", out var score) && score.ValueKind == JsonValueKind.Number, $"score {score}");
        Assert.StartsWith("Skyline: ", record.GetProperty("reasons")[0].GetString(), StringComparison.Ordinal);
        Assert.Contains("the ensemble scored 0.", record.GetProperty("reasons")[0].GetString(), StringComparison.Ordinal);
    }
}
