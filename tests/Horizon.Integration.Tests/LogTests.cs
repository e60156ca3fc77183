using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using static Horizon.Integration.Tests.TestSupport;

namespace Horizon.Integration.Tests;

/// <summary>Logs end to end on a real host: util-linux's logger over UDP and TCP (RFC 5424, RFC
/// 3164, octet counting), plain and JSON lines over sockets and HTTP, the live tail over
/// server-sent events, templates and their series, and a new error template becoming an incident.</summary>
public sealed class LogTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static async Task LoggerAsync(params string[] args)
    {
        using var logger = Process.Start(new ProcessStartInfo("logger", args) { RedirectStandardError = true })!;
        var errors = await logger.StandardError.ReadToEndAsync(Ct);
        await logger.WaitForExitAsync(Ct);
        Assert.True(logger.ExitCode == 0, $"logger {string.Join(' ', args)}: {errors}");
    }

    private static async Task<JsonElement> JsonAsync(string url) => await new HttpClient().GetFromJsonAsync<JsonElement>(url, Ct);

    [Fact]
    public async Task LoggerLinesOverUdpAndTcpInBothRfcsAreGroupedIntoTemplatesWhoseCountsBecomeSeries()
    {
        await using var host = await HorizonHost.StartAsync(null, new Dictionary<string, string?> { ["Logs:FlushInterval"] = "00:00:01" });
        var udp = host.Endpoint("syslog_udp").Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var tcp = host.Endpoint("syslog_tcp").Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var users = new[] { "alice", "bob", "carol", "dave", "erin", "frank" };
        for (var i = 0; i < users.Length; i++)
        {
            // RFC 5424 (logger's default) over UDP, TCP with newlines, TCP octet-counted; RFC 3164 over TCP.
            var transport = (i % 3) switch
            {
                0 => new[] { "--udp", "--port", udp },
                1 => ["--tcp", "--port", tcp],
                _ => ["--tcp", "--octet-count", "--port", tcp],
            };
            await LoggerAsync([.. transport, "--server", "127.0.0.1", "-t", "authd", "-p", "auth.info", $"session opened for {users[i]} from 10.0.0.{i + 1}"]);
        }
        await LoggerAsync("--rfc3164", "--tcp", "--server", "127.0.0.1", "--port", tcp, "-t", "authd", "-p", "auth.err", "disk /dev/sda1 is full on node 7");
        await LoggerAsync("--tcp", "--server", "127.0.0.1", "--port", tcp, "-t", "billing", "-p", "user.warning", "charge retried for order 41");

        var web = $"http://{host.Endpoint("web")}";
        await WaitUntilAsync(async () => (await JsonAsync($"{web}/api/logs/recent")).GetProperty("count").GetInt32() == 8, "all eight lines in the tail");
        var recent = (await JsonAsync($"{web}/api/logs/recent?source=authd")).GetProperty("lines").EnumerateArray().ToList();
        Assert.Equal(7, recent.Count);
        Assert.Equal(6, recent.Count(l => l.GetProperty("severity").GetString() == "info"));
        Assert.Equal("disk /dev/sda1 is full on node 7", recent.Single(l => l.GetProperty("severity").GetString() == "err").GetProperty("line").GetString());
        var errors = (await JsonAsync($"{web}/api/logs/recent?severity=warning")).GetProperty("lines").EnumerateArray().Select(l => l.GetProperty("source").GetString()).ToList();
        Assert.Equal(["authd", "billing"], errors.Order());

        // Six lines of one template, whatever transport they came by; its count per interval is a series.
        await WaitUntilAsync(async () => (await JsonAsync($"{web}/api/logs/templates")).GetProperty("count").GetInt32() == 3, "three templates stored");
        var templates = (await JsonAsync($"{web}/api/logs/templates?source=authd")).GetProperty("templates").EnumerateArray().ToList();
        var session = templates.Single(t => t.GetProperty("template").GetString() == "session opened for <*> from <*>");
        Assert.Equal(6, session.GetProperty("lines").GetInt64());
        Assert.Equal("session opened for alice from 10.0.0.1", session.GetProperty("samples")[0].GetString());
        var series = session.GetProperty("series").GetString()!;
        Assert.Equal($"logs.authd.{session.GetProperty("id").GetString()}", series);
        await WaitUntilAsync(async () => (await ReadSeriesAsync(host.Db, series)).Sum(p => p.Value) == 6, "the template's counts in its series");
        var scrape = await host.ScrapeAsync();
        Assert.Equal(2, Scraped(scrape, "horizon_log_lines_total{listener=\"syslog_udp\"}"));
        Assert.Equal(6, Scraped(scrape, "horizon_log_lines_total{listener=\"syslog_tcp\"}"));
        Assert.Equal(3, Scraped(scrape, "horizon_log_templates"));
    }

    [Fact]
    public async Task PlainAndJsonLinesNameTheirSourceAndABadLineIsRefusedAloneWithAReason()
    {
        await using var host = await HorizonHost.StartAsync(null);
        await SendTcpAsync(host.Endpoint("logs_plain"), "source=checkout\nERROR payment declined for order 17\nINFO payment ok for order 18\n");
        // A plain line that starts with a number and a space is a line, not a syslog octet count.
        await SendTcpAsync(host.Endpoint("logs_plain"), "a line from a nameless peer\n12 workers started\n");
        await SendTcpAsync(host.Endpoint("logs_json"), """
            {"level":"error","msg":"db timeout after 30s","service":"orders"}
            {"msg": "unterminated
            {"level":"info"}
            {"level":40,"message":"slow query \"q7\" took 812 ms","host":"db02"}
            """ + "\n");
        using var http = WritingClient();
        var web = $"http://{host.Endpoint("web")}";
        using (var body = new StringContent("{\"msg\":\"posted over http\",\"app\":\"cron\"}\n{\"msg\":\"second\",\"app\":\"cron\"}", Encoding.UTF8, "application/x-ndjson"))
        {
            var posted = await http.PostAsync($"{web}/api/logs", body, Ct);
            Assert.Equal(HttpStatusCode.Accepted, posted.StatusCode);
        }
        using (var body = new StringContent("nobody may", Encoding.UTF8, "text/plain"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await new HttpClient().PostAsync($"{web}/api/logs?source=x", body, Ct)).StatusCode);
        }
        await WaitUntilAsync(async () => (await JsonAsync($"{web}/api/logs/recent")).GetProperty("count").GetInt32() == 8, "eight good lines");
        var lines = (await JsonAsync($"{web}/api/logs/recent")).GetProperty("lines").EnumerateArray()
            .ToDictionary(l => l.GetProperty("line").GetString()!, l => (Source: l.GetProperty("source").GetString(), Severity: l.GetProperty("severity").GetString()));
        Assert.Equal(("checkout", "err"), lines["ERROR payment declined for order 17"]);
        Assert.Equal(("checkout", "info"), lines["INFO payment ok for order 18"]);
        Assert.Equal(("127_0_0_1", "unknown"), lines["a line from a nameless peer"]);
        Assert.Equal(("127_0_0_1", "unknown"), lines["12 workers started"]);
        Assert.Equal(("orders", "err"), lines["db timeout after 30s"]);
        Assert.Equal(("db02", "warning"), lines["slow query \"q7\" took 812 ms"]);
        Assert.Equal(("cron", "unknown"), lines["second"]);
        var scrape = await host.ScrapeAsync();
        Assert.Equal(1, Scraped(scrape, "horizon_log_lines_rejected_total{listener=\"logs_json\",reason=\"bad_json\"}"));
        Assert.Equal(1, Scraped(scrape, "horizon_log_lines_rejected_total{listener=\"logs_json\",reason=\"no_message\"}"));
    }

    [Fact]
    public async Task TheLiveTailStreamsTheLinesThatPassItsFilterWithTheirMatchesAsTheyArrive()
    {
        await using var host = await HorizonHost.StartAsync(null);
        var web = $"http://{host.Endpoint("web")}";
        using var http = new HttpClient { Timeout = Timeout.InfiniteTimeSpan };
        using var response = await http.GetAsync($"{web}/api/logs/tail?q=time[d]?%20?out&severity=warning&backlog=0", HttpCompletionOption.ResponseHeadersRead, Ct);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        using var stream = new StreamReader(await response.Content.ReadAsStreamAsync(Ct));
        var sent = new StringBuilder();
        sent.Append("source=api\n");
        for (var i = 0; i < 50; i++)
        {
            sent.Append(i % 5 == 0 ? Invariant($"ERROR upstream timed out after {i} ms\n") : i % 5 == 1 ? Invariant($"INFO upstream timed out after {i} ms (retried)\n") : Invariant($"WARN cache miss {i}\n"));
        }
        await SendTcpAsync(host.Endpoint("logs_plain"), sent.ToString());
        var got = new List<JsonElement>();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(20));
        while (got.Count < 10 && await stream.ReadLineAsync(timeout.Token) is { } line)
        {
            if (line.StartsWith("data: ", StringComparison.Ordinal))
            {
                got.Add(JsonDocument.Parse(line[6..]).RootElement.Clone());
            }
        }
        // Only the errors: the info lines match the text but not the severity, the warnings the severity but not the text.
        Assert.Equal(10, got.Count);
        Assert.All(got, e => Assert.Equal("err", e.GetProperty("severity").GetString()));
        Assert.Equal(Enumerable.Range(0, 10).Select(i => $"ERROR upstream timed out after {i * 5} ms"), got.Select(e => e.GetProperty("line").GetString()));
        var match = got[0].GetProperty("matches")[0];
        Assert.Equal("timed out", got[0].GetProperty("line").GetString()!.Substring(match[0].GetInt32(), match[1].GetInt32()));
        Assert.StartsWith("logs.api.", got[0].GetProperty("series").GetString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, (await http.GetAsync($"{web}/api/logs/tail?q=(unclosed", Ct)).StatusCode);
    }

    private static string Invariant(FormattableString s) => s.ToString(System.Globalization.CultureInfo.InvariantCulture);

    [Fact]
    public async Task ATailClientThatFallsBehindIsToldWhatItMissedAndIngestLosesNothing()
    {
        await using var host = await HorizonHost.StartAsync(null, new Dictionary<string, string?>
        {
            ["Logs:TailLines"] = "500",
            ["Logs:TailClientLag"] = "200",
        });
        var web = $"http://{host.Endpoint("web")}";
        using var http = new HttpClient { Timeout = Timeout.InfiniteTimeSpan };
        using var response = await http.GetAsync($"{web}/api/logs/tail?backlog=0", HttpCompletionOption.ResponseHeadersRead, Ct);
        using var stream = new StreamReader(await response.Content.ReadAsStreamAsync(Ct));
        const int Lines = 20_000;
        var text = new StringBuilder("source=burst\n");
        for (var i = 0; i < Lines; i++)
        {
            text.Append(Invariant($"request {i} served in {i % 97} ms\n"));
        }
        await SendTcpAsync(host.Endpoint("logs_plain"), text.ToString());
        long delivered = 0, missed = 0;
        string? kind = null;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        while (delivered + missed < Lines && await stream.ReadLineAsync(timeout.Token) is { } line)
        {
            if (line.StartsWith("event: ", StringComparison.Ordinal))
            {
                kind = line[7..];
            }
            else if (line.StartsWith("data: ", StringComparison.Ordinal))
            {
                var data = JsonDocument.Parse(line[6..]).RootElement;
                if (kind == "dropped")
                {
                    missed += data.GetProperty("missed").GetInt64();
                }
                else
                {
                    delivered++;
                }
            }
        }
        Assert.Equal(Lines, delivered + missed);
        Assert.True(missed > 0, "a burst forty times the tail's size cannot all reach a client polling every 100 ms");
        Assert.Equal(missed, Scraped(await host.ScrapeAsync(), "horizon_log_tail_dropped_total"));
        // Every line was grouped and counted all the same.
        await WaitUntilAsync(async () => (await JsonAsync($"{web}/api/logs/templates?source=burst")).GetProperty("templates").EnumerateArray().Sum(t => t.GetProperty("lines").GetInt64()) == Lines,
            "every line counted in its template");
    }

    [Fact]
    public async Task TemplatesSurviveARestartSoTheirSeriesGoOnUnderTheSameIds()
    {
        var data = Path.Combine(Path.GetTempPath(), "horizon-logs-" + Guid.NewGuid().ToString("N"));
        try
        {
            string id;
            await using (var first = await HorizonHost.StartAsync(null, dataDirectory: data))
            {
                await SendTcpAsync(first.Endpoint("logs_plain"), "source=worker\njob 1 finished in 20 ms\njob 2 finished in 31 ms\n");
                var web = $"http://{first.Endpoint("web")}";
                await WaitUntilAsync(async () => (await JsonAsync($"{web}/api/logs/templates")).GetProperty("count").GetInt32() == 1, "the template stored");
                id = (await JsonAsync($"{web}/api/logs/templates")).GetProperty("templates")[0].GetProperty("id").GetString()!;
            }
            await using var second = await HorizonHost.StartAsync(null, dataDirectory: data);
            await SendTcpAsync(second.Endpoint("logs_plain"), "source=worker\njob 3 finished in 44 ms\n");
            var web2 = $"http://{second.Endpoint("web")}";
            await WaitUntilAsync(async () => (await JsonAsync($"{web2}/api/logs/templates")).GetProperty("templates")[0].GetProperty("lines").GetInt64() == 3,
                "the third line counted in the restored template");
            var templates = (await JsonAsync($"{web2}/api/logs/templates")).GetProperty("templates");
            Assert.Equal(1, templates.GetArrayLength());
            Assert.Equal(id, templates[0].GetProperty("id").GetString());
            Assert.Equal(0, Scraped(await second.ScrapeAsync(), "horizon_log_new_templates_total{recorded=\"false\"}"));
        }
        finally
        {
            Directory.Delete(data, recursive: true);
        }
    }

    [Fact]
    public async Task AnErrorTemplateAppearingAfterItsSourcesWarmUpBecomesAnIncident()
    {
        await using var host = await HorizonHost.StartAsync(null, new Dictionary<string, string?>
        {
            ["Logs:FlushInterval"] = "00:00:01",
            ["Logs:NewTemplateAfter"] = "00:00:03",
        });
        var web = $"http://{host.Endpoint("web")}";
        // During the warm-up everything is new, errors too: none is a finding.
        await SendTcpAsync(host.Endpoint("logs_json"), """{"service":"payments","level":"error","msg":"startup check failed for module 3"}""" + "\n");
        await SendTcpAsync(host.Endpoint("logs_json"), """{"service":"payments","level":"info","msg":"request 1 served"}""" + "\n");
        await WaitUntilAsync(async () => (await JsonAsync($"{web}/api/logs/templates")).GetProperty("count").GetInt32() == 2, "the warm-up templates stored");
        await Task.Delay(3500, Ct);
        // After it: a new info template is not a finding, a new error template is.
        await SendTcpAsync(host.Endpoint("logs_json"), """{"service":"payments","level":"info","msg":"cache warmed with 512 entries"}""" + "\n");
        await SendTcpAsync(host.Endpoint("logs_json"), """{"service":"payments","level":"error","msg":"card vault unreachable: connection refused"}""" + "\n");
        using var http = new HttpClient();
        string open = "";
        await WaitUntilAsync(async () => (open = await http.GetStringAsync($"{web}/api/incidents?state=open", Ct)).Contains("card vault unreachable", StringComparison.Ordinal),
            "an open incident naming the new error template");
        var templates = (await JsonAsync($"{web}/api/logs/templates?source=payments")).GetProperty("templates").EnumerateArray().ToList();
        var vault = templates.Single(t => t.GetProperty("template").GetString()!.StartsWith("card vault", StringComparison.Ordinal)).GetProperty("series").GetString()!;
        Assert.Contains(vault, open, StringComparison.Ordinal);
        Assert.Contains("new log template (err) from payments", open, StringComparison.Ordinal);
        foreach (var quiet in new[] { "startup check", "cache warmed", "request" })
        {
            var series = templates.Single(t => t.GetProperty("template").GetString()!.StartsWith(quiet, StringComparison.Ordinal)).GetProperty("series").GetString()!;
            Assert.DoesNotContain(series, open, StringComparison.Ordinal);
        }
        var scrape = await host.ScrapeAsync();
        Assert.Equal(1, Scraped(scrape, "horizon_log_new_templates_total{recorded=\"true\"}"));
        Assert.Equal(1, Scraped(scrape, "horizon_log_template_findings_total"));
    }

    [Fact]
    public async Task ThePageTailsLinesLiveFilteredHighlightedAndPausable()
    {
        await using var host = await HorizonHost.StartAsync(null);
        var web = $"http://{host.Endpoint("web")}";
        await using var browser = await DevTools.OpenAsync($"{web}/");
        // The panel is closed (no stream held) until opened.
        await browser.WaitForAsync("document.getElementById('logs-box')", "the page");
        Assert.False((await browser.EvaluateAsync("document.getElementById('logs-box').open"))!.GetValue<bool>());
        await browser.EvaluateAsync("document.querySelector('#logs-box > summary').click()");
        await browser.WaitForAsync("document.getElementById('log-state')?.textContent.includes('lines')", "the live tail connected");
        await browser.EvaluateAsync("document.getElementById('log-q').value = 'refused'; document.getElementById('log-q').dispatchEvent(new Event('input'))");
        await Task.Delay(1500, Ct); // the filter applies after typing stops, on a new stream
        await SendTcpAsync(host.Endpoint("logs_plain"), "source=edge\nERROR upstream refused connection to 10.0.0.5\nINFO all fine\nWARN backend refused 3 times\n");
        await browser.WaitForAsync("document.querySelectorAll('#log-lines > div').length === 2", "the two matching lines");
        var shown = (await browser.EvaluateAsync("[...document.querySelectorAll('#log-lines > div')].map(d => d.className + '|' + d.querySelector('mark').textContent + '|' + d.textContent).join('\\n')"))!.GetValue<string>();
        var rows = shown.Split('\n');
        Assert.StartsWith("err|refused|", rows[0], StringComparison.Ordinal);
        Assert.EndsWith("ERROR upstream refused connection to 10.0.0.5", rows[0], StringComparison.Ordinal);
        Assert.StartsWith("warning|refused|", rows[1], StringComparison.Ordinal);
        Assert.Contains("edge", rows[1], StringComparison.Ordinal);

        // Paused, new lines wait; resumed, they are shown.
        await browser.EvaluateAsync("document.getElementById('log-pause').click()");
        await SendTcpAsync(host.Endpoint("logs_plain"), "source=edge\nERROR db refused login\n");
        await browser.WaitForAsync("document.getElementById('log-state').textContent.includes('1 waiting')", "the line waiting while paused");
        Assert.Equal(2, (await browser.EvaluateAsync("document.querySelectorAll('#log-lines > div').length"))!.GetValue<int>());
        await browser.EvaluateAsync("document.getElementById('log-pause').click()");
        await browser.WaitForAsync("document.querySelectorAll('#log-lines > div').length === 3", "the waiting line shown on resume");
    }

    [Fact]
    public async Task RsyslogForwardsToHorizonByOctetCountedTcpAndByUdp()
    {
        await using var host = await HorizonHost.StartAsync(null);
        var dir = Directory.CreateTempSubdirectory("horizon-rsyslog-").FullName;
        var input = RedisServer.FreePort();
        // rsyslog as a relay: it receives on UDP and forwards each message twice, RFC 5424 over
        // octet-counted TCP and its classic forward format over UDP.
        await File.WriteAllTextAsync(Path.Combine(dir, "rsyslog.conf"), $"""
            global(workDirectory="{dir}")
            module(load="imudp")
            input(type="imudp" address="127.0.0.1" port="{input}")
            action(type="omfwd" target="127.0.0.1" port="{host.Endpoint("syslog_tcp").Port}" protocol="tcp" TCP_Framing="octet-counted" template="RSYSLOG_SyslogProtocol23Format")
            action(type="omfwd" target="127.0.0.1" port="{host.Endpoint("syslog_udp").Port}" protocol="udp" template="RSYSLOG_ForwardFormat")
            """, Ct);
        using var rsyslog = Process.Start(new ProcessStartInfo("/usr/sbin/rsyslogd", ["-n", "-f", Path.Combine(dir, "rsyslog.conf"), "-i", Path.Combine(dir, "rsyslog.pid")])
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        })!;
        try
        {
            var web = $"http://{host.Endpoint("web")}";
            // rsyslog takes a moment to listen: send until the first message is through.
            await WaitUntilAsync(async () =>
            {
                await LoggerAsync("--udp", "--server", "127.0.0.1", "--port", input.ToString(System.Globalization.CultureInfo.InvariantCulture), "-t", "shop", "-p", "local0.err", "order 17 failed: card declined");
                return (await JsonAsync($"{web}/api/logs/recent?source=shop")).GetProperty("count").GetInt32() >= 2;
            }, "the message forwarded by rsyslog both ways");
            var lines = (await JsonAsync($"{web}/api/logs/recent?source=shop")).GetProperty("lines").EnumerateArray().ToList();
            Assert.All(lines, l =>
            {
                Assert.Equal("order 17 failed: card declined", l.GetProperty("line").GetString());
                Assert.Equal("err", l.GetProperty("severity").GetString());
            });
            var scrape = await host.ScrapeAsync();
            Assert.True(Scraped(scrape, "horizon_log_lines_total{listener=\"syslog_tcp\"}") >= 1);
            Assert.True(Scraped(scrape, "horizon_log_lines_total{listener=\"syslog_udp\"}") >= 1);
            Assert.Equal(0, Scraped(scrape, "horizon_log_lines_rejected_total{listener=\"syslog_tcp\",reason=\"bad_priority\"}"));
        }
        finally
        {
            rsyslog.Kill(entireProcessTree: true);
            await rsyslog.WaitForExitAsync(Ct);
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task AnIncidentListsTheLogTemplateThatMovedWithItsMetricWithWhatItSays()
    {
        await using var host = await HorizonHost.StartAsync(null, new Dictionary<string, string?>
        {
            ["Analyzer:MinPassInterval"] = "00:00:00.5",
            ["Analyzer:Mode"] = "ensemble",
            ["Logs:FlushInterval"] = "00:00:01",
            ["Logs:ZeroFillFor"] = "00:00:00",
        });
        var web = $"http://{host.Endpoint("web")}";
        await SendTcpAsync(host.Endpoint("logs_plain"), "source=api\nERROR upstream refused connection to 10.0.0.5\n");
        await WaitUntilAsync(async () => (await JsonAsync($"{web}/api/logs/templates")).GetProperty("count").GetInt32() == 1, "the template stored");
        var series = (await JsonAsync($"{web}/api/logs/templates")).GetProperty("templates")[0].GetProperty("series").GetString()!;
        await WaitUntilAsync(async () => (await ReadSeriesAsync(host.Db, series)).Count == 1, "the template's first count stored");
        // A day of both: the latency bursts at the end, and so do the refusals (judged gently, so
        // they are not in the incident themselves but move with it).
        using var http = WritingClient();
        using (var gentle = new StringContent("""{"sensitivity":0.01}"""))
        {
            (await http.PutAsync($"{web}/api/metadata/{series}", gentle, Ct)).EnsureSuccessStatusCode();
        }
        var now = Now;
        var random = new Random(4);
        await AnalyzerTests.SeedAsync(host.Db, series, AnalyzerTests.Day(now, i => random.Next(0, 3) + (i >= 1437 ? 60 : 0)));
        await AnalyzerTests.SeedAsync(host.Db, "api.latency", AnalyzerTests.Day(now, i => 100 + (random.NextDouble() * 3) + (i >= 1437 ? 400 : 0)));
        string id = "";
        await WaitUntilAsync(async () =>
        {
            var open = (await JsonAsync($"{web}/api/incidents?state=open")).GetProperty("incidents").EnumerateArray()
                .FirstOrDefault(i => i.GetProperty("metrics").EnumerateArray().Any(m => m.GetProperty("metric").GetString() == "api.latency"));
            id = open.ValueKind == JsonValueKind.Object ? open.GetProperty("id").GetString()! : "";
            return id != "";
        }, "an incident on api.latency", 60);
        var moved = await JsonAsync($"{web}/api/incidents/{id}/moved-with?k=3");
        Assert.Equal(series, moved.GetProperty("results")[0].GetProperty("metric").GetString());

        await using var browser = await DevTools.OpenAsync($"{web}/#incident={Uri.EscapeDataString(id)}");
        await browser.WaitForAsync("document.querySelector('#moved-with [data-moved] .meta')", "the moved-with list with the template");
        var said = (string)(await browser.EvaluateAsync("document.querySelector('#moved-with [data-moved] .meta').textContent"))!;
        Assert.Equal("log template: ERROR upstream refused connection to <*>; e.g. ERROR upstream refused connection to 10.0.0.5", said);
    }
}
