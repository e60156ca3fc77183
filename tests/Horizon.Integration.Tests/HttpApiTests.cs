using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using static Horizon.Integration.Tests.TestSupport;

namespace Horizon.Integration.Tests;

/// <summary>What the HTTP API does with requests nobody should be able to make work against it:
/// writes without the token, oversized or malformed input, names that are not series.</summary>
public sealed class HttpApiTests
{
    private static readonly CancellationToken Ct = TestContext.Current.CancellationToken;

    [Fact]
    public async Task MetadataWritesAreRefusedUnlessTheyCarryTheConfiguredToken()
    {
        var metadata = """{"owner":"payments"}""";
        await using (var open = await HorizonHost.StartAsync(null, new Dictionary<string, string?> { ["Web:WriteToken"] = "" }))
        {
            using var http = WritingClient();
            var refused = await http.PutAsync($"http://{open.Endpoint("web")}/api/metadata/m", new StringContent(metadata), Ct);
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
            Assert.Contains("Web:WriteToken", await refused.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
            Assert.Equal(HttpStatusCode.Forbidden, (await http.DeleteAsync($"http://{open.Endpoint("web")}/api/metadata/m", Ct)).StatusCode);
            Assert.False(await open.Db.KeyExistsAsync("horizon.metadata"));
        }
        await using var host = await HorizonHost.StartAsync(null);
        var url = $"http://{host.Endpoint("web")}/api/metadata/m";
        using (var anonymous = new HttpClient())
        {
            var response = await anonymous.PutAsync(url, new StringContent(metadata), Ct);
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            Assert.Equal("Bearer", response.Headers.WwwAuthenticate.Single().Scheme);
        }
        using (var wrong = new HttpClient())
        {
            wrong.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", WriteToken + "x");
            Assert.Equal(HttpStatusCode.Unauthorized, (await wrong.PutAsync(url, new StringContent(metadata), Ct)).StatusCode);
        }
        using (var writer = WritingClient())
        {
            Assert.Equal(HttpStatusCode.OK, (await writer.PutAsync(url, new StringContent(metadata), Ct)).StatusCode);
        }
        Assert.Equal(2, host.Services.GetRequiredService<Horizon.Web.WebMetrics>().WritesRefused.WithLabels("unauthorized").Value);
        using var reader = new HttpClient();
        Assert.Contains("payments", await reader.GetStringAsync(url, Ct), StringComparison.Ordinal);
    }

    [Fact]
    public async Task MetadataWritesAreBoundedInSizeFieldsAndEntries()
    {
        await using var host = await HorizonHost.StartAsync(null, new Dictionary<string, string?> { ["Web:MaxMetadataEntries"] = "2" });
        using var http = WritingClient();
        var api = $"http://{host.Endpoint("web")}/api/metadata/";

        // 25 MB of JSON (what took a host from 90 MB to 7 GB when nothing bounded it).
        var huge = new StringContent("{\"owner\":\"" + new string('x', 25 << 20) + "\"}");
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, (await http.PutAsync(api + "huge", huge, Ct)).StatusCode);
        var chunked = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes("{\"owner\":\"" + new string('x', 100_000) + "\"}")));
        chunked.Headers.ContentLength = null;
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, (await http.PutAsync(api + "chunked", chunked, Ct)).StatusCode);

        var longOwner = await http.PutAsync(api + "long", new StringContent("{\"owner\":\"" + new string('x', 1000) + "\"}"), Ct);
        Assert.Equal(HttpStatusCode.BadRequest, longOwner.StatusCode);
        Assert.Contains("owner", await longOwner.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        var manySkips = "{\"skip\":[" + string.Join(',', Enumerable.Repeat("\"grubbs\"", 100)) + "]}";
        Assert.Equal(HttpStatusCode.BadRequest, (await http.PutAsync(api + "many", new StringContent(manySkips), Ct)).StatusCode);

        Assert.Equal(HttpStatusCode.OK, (await http.PutAsync(api + "a", new StringContent("""{"unit":"ms"}"""), Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.PutAsync(api + "b", new StringContent("""{"unit":"ms"}"""), Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, (await http.PutAsync(api + "c", new StringContent("""{"unit":"ms"}"""), Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.PutAsync(api + "a", new StringContent("""{"unit":"s"}"""), Ct)).StatusCode);
        Assert.Equal(2, await host.Db.HashLengthAsync("horizon.metadata"));
    }

    [Fact]
    public async Task TheAnalyzerReadsMetadataAgainOnlyWhenItChanged()
    {
        await using var host = await HorizonHost.StartAsync(null, new Dictionary<string, string?>
        {
            ["Analyzer:Mode"] = "ensemble",
            ["Analyzer:MinPassInterval"] = "00:00:00.2",
        });
        var metrics = host.AnalyzerMetrics;
        await WaitUntilAsync(() => Task.FromResult(metrics.Passes.Value >= 5), "five passes");
        Assert.Equal(1, metrics.MetadataLoads.Value);

        using var http = WritingClient();
        (await http.PutAsync($"http://{host.Endpoint("web")}/api/metadata/m", new StringContent("""{"unit":"ms"}"""), Ct)).EnsureSuccessStatusCode();
        await WaitUntilAsync(() => Task.FromResult(metrics.MetadataLoads.Value == 2), "the metadata read again after the write");
        var passes = metrics.Passes.Value;
        await WaitUntilAsync(() => Task.FromResult(metrics.Passes.Value >= passes + 5), "five more passes");
        Assert.Equal(2, metrics.MetadataLoads.Value);
    }

    private static async Task<(HttpStatusCode Status, JsonElement Body)> HealthAsync(HorizonHost host, string path = "/health")
    {
        using var http = new HttpClient();
        using var response = await http.GetAsync($"http://{host.Endpoint("web")}{path}", Ct);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct));
        return (response.StatusCode, body.RootElement.Clone());
    }

    private static JsonElement Check(JsonElement health, string name) =>
        health.GetProperty("checks").EnumerateArray().Single(c => c.GetProperty("name").GetString() == name);

    [Fact]
    public async Task HealthIsUnreadyWhileAListenerCannotBindAndSaysWhichWhileLivenessHolds()
    {
        using var squatter = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        squatter.Start();
        var port = ((IPEndPoint)squatter.LocalEndpoint).Port;
        await using var host = await HorizonHost.StartAsync(null, new Dictionary<string, string?> { ["Listeners:Plaintext:Port"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture) });

        var (status, health) = await HealthAsync(host);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Equal("unhealthy", health.GetProperty("status").GetString());
        Assert.False(Check(health, "listener:plaintext").GetProperty("ok").GetBoolean());
        Assert.True(Check(health, "listener:pickle").GetProperty("ok").GetBoolean());
        Assert.True(Check(health, "store").GetProperty("ok").GetBoolean());
        using var http = new HttpClient();
        Assert.Equal("ok", await http.GetStringAsync($"http://{host.Endpoint("web")}/health/live", Ct));
    }

    [Fact]
    public async Task HealthIsUnreadyWhileTheAnalyzerIsStalledAndReadyAgainAfter()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var host = await HorizonHost.StartAsync(redis.ConnectionString, new Dictionary<string, string?>
        {
            ["Analyzer:MinPassInterval"] = "00:00:00.2",
            ["Analyzer:StallAfter"] = "00:00:02",
        });
        await WaitUntilAsync(async () => (await HealthAsync(host)).Status == HttpStatusCode.OK, "ready");

        // The store stops answering everyone for 6 s: the analyzer's pass cannot finish.
        await using (var admin = await redis.ConnectAsync())
        {
            await admin.GetServers()[0].ExecuteAsync("CLIENT", "PAUSE", "6000", "ALL");
        }
        await WaitUntilAsync(async () => (await HealthAsync(host)).Status == HttpStatusCode.ServiceUnavailable, "unready while the analyzer is stalled");
        var (_, stalled) = await HealthAsync(host);
        Assert.False(Check(stalled, "analyzer").GetProperty("ok").GetBoolean());
        Assert.Contains("stalled", Check(stalled, "analyzer").GetProperty("detail").GetString(), StringComparison.Ordinal);
        await WaitUntilAsync(async () => (await HealthAsync(host)).Status == HttpStatusCode.OK, "ready again once the store answers", 60);
    }

    [Fact]
    public async Task AKeyThatIsNotASeriesIsAConflictSayingWhatItHoldsNotAServerError()
    {
        await using var host = await HorizonHost.StartAsync(null);
        await host.Db.SetAddAsync("metrics.unique_metrics", "metrics.some.name");
        using var http = new HttpClient();
        var response = await http.GetAsync($"http://{host.Endpoint("web")}/api/series/unique_metrics", Ct);
        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        Assert.Contains("not a series (it holds a set)", await response.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, (await http.GetAsync($"http://{host.Endpoint("web")}/api/series/x?max=1", Ct)).StatusCode);
    }

    [Fact]
    public async Task TheAnalyzerPassesOverAKeyOfAnotherTypeInTheSetAndCountsIt()
    {
        await using var host = await HorizonHost.StartAsync(null, new Dictionary<string, string?> { ["Analyzer:MinPassInterval"] = "00:00:00.2" });
        await host.Db.HashSetAsync("metrics.not.a.series", "field", "value");
        await host.Db.SetAddAsync("metrics.unique_metrics", "metrics.not.a.series");
        await SendTcpAsync(host.Endpoint("plaintext"), $"real.series 1 {Now}\n");
        await WaitUntilAsync(() => Task.FromResult(host.AnalyzerMetrics.Skipped.WithLabels("not_series").Value >= 2), "passes that skip the hash");
        var passes = host.AnalyzerMetrics.Passes.Value;
        await WaitUntilAsync(() => Task.FromResult(host.AnalyzerMetrics.Passes.Value >= passes + 2), "passes go on");
        Assert.Equal(2, (double)host.AnalyzerMetrics.OwnedSeries.Value);
    }

    [Fact]
    public async Task TheStatsdKeysGaugeCountsTheKeysHeldBetweenFlushes()
    {
        await using var host = await HorizonHost.StartAsync(null, new Dictionary<string, string?> { ["Listeners:StatsdUdp:Enabled"] = "true" });
        foreach (var line in new[] { "gauge.keys.a:1|c", "gauge.keys.b:5|ms", "gauge.keys.c:3|g" })
        {
            await SendUdpAsync(host.Endpoint("statsd_udp"), Encoding.ASCII.GetBytes(line));
        }
        await WaitUntilAsync(() => Task.FromResult(host.StatsdMetrics.Keys.Value >= 3), "the gauge set at a flush");
    }

    [Fact]
    public async Task ThousandsOfRandomRequestsNeverGetAServerErrorAndTheHostStaysUp()
    {
        // A property-based run over the API's inputs: paths, query values, bodies and methods drawn
        // from what the endpoints take and from what they do not.
        var seed = Environment.TickCount;
        var random = new Random(seed);
        await using var host = await HorizonHost.StartAsync(null);
        await SendTcpAsync(host.Endpoint("plaintext"), $"fuzz.known 1 {Now}\n");
        var web = $"http://{host.Endpoint("web")}";
        using var writer = WritingClient();
        using var anonymous = new HttpClient();
        string[] words = ["fuzz.known", "unique_metrics", "a.b", "*", "?", "[a-z]", "%00", "%ff", "%E0%A4%A", "..", "../..", "a%2Fb", "\u0000", "{{", new string('x', 5000), "名前", "-1", "0", "2147483648", "1e9", "NaN", " "];
        string Word() => words[random.Next(words.Length)];
        string Number() => random.Next(6) switch { 0 => "-1", 1 => "0", 2 => "99999999999", 3 => "abc", 4 => random.Next(1, 2000).ToString(System.Globalization.CultureInfo.InvariantCulture), _ => "" };
        byte[] Body() => random.Next(6) switch
        {
            0 => Encoding.UTF8.GetBytes("""{"unit":"ms","owner":"o"}"""),
            1 => Encoding.UTF8.GetBytes("{\"owner\":\"" + Word() + "\",\"sensitivity\":" + Number() + "}"),
            2 => [.. Enumerable.Range(0, random.Next(0, 300)).Select(_ => (byte)random.Next(256))],
            3 => Encoding.UTF8.GetBytes(new string('[', random.Next(1, 2000))),
            4 => [],
            _ => Encoding.UTF8.GetBytes("{\"detectors\":[\"" + Word() + "\"],\"capacity\":" + Number() + "}"),
        };
        var failures = new List<string>();
        for (var i = 0; i < 1500; i++)
        {
            var path = random.Next(7) switch
            {
                0 => $"/api/series/{Word()}?max={Number()}",
                1 => $"/api/metrics?match={Uri.EscapeDataString(Word())}&limit={Number()}",
                2 => $"/api/anomalies?history={Number()}",
                3 => $"/api/metadata/{Word()}",
                4 => "/" + Word(),
                5 => $"/api/status",
                _ => $"/health",
            };
            var method = random.Next(4) switch { 0 => HttpMethod.Put, 1 => HttpMethod.Delete, 2 => HttpMethod.Post, _ => HttpMethod.Get };
            using var request = new HttpRequestMessage(method, web + path);
            if (method != HttpMethod.Get)
            {
                request.Content = new ByteArrayContent(Body());
            }
            try
            {
                using var response = await (random.Next(2) == 0 ? writer : anonymous).SendAsync(request, Ct);
                if ((int)response.StatusCode >= 500 && !(path == "/health" || path.StartsWith("/health", StringComparison.Ordinal)))
                {
                    failures.Add($"{method} {path} -> {(int)response.StatusCode}");
                }
            }
            catch (UriFormatException)
            {
                // The client refused to build the URL: nothing reached the host.
            }
        }
        Assert.True(failures.Count == 0, $"seed {seed}: {failures.Count} server errors, e.g. {string.Join("; ", failures.Take(5))}");
        using var live = await anonymous.GetAsync(web + "/health/live", Ct);
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        Assert.True(await host.Db.HashLengthAsync("horizon.metadata") <= 1 + words.Length);
    }

    [Fact]
    public async Task TheExpectedBandFollowsTheSeriesAndRefusesWhatItCannotDraw()
    {
        await using var host = await HorizonHost.StartAsync(null);
        var random = new Random(3);
        var now = Now;
        await AnalyzerTests.SeedAsync(host.Db, "band.calm", AnalyzerTests.Day(now, i => 100 + (10 * random.NextDouble())));
        await AnalyzerTests.SeedAsync(host.Db, "band.counter", AnalyzerTests.Day(now, i => i * 7.0));
        using var http = new HttpClient();
        var web = $"http://{host.Endpoint("web")}";
        var band = JsonDocument.Parse(await http.GetStringAsync($"{web}/api/band/band.calm?points=50&since={now - 3600}", Ct)).RootElement;
        Assert.Equal("level", band.GetProperty("detector").GetString());
        var rows = band.GetProperty("band").EnumerateArray().Select(r => r.EnumerateArray().Select(v => v.GetDouble()).ToArray()).ToList();
        Assert.Equal(50, rows.Count);
        Assert.Equal(now, (long)rows[^1][0]); // the newest point's band is always drawn
        Assert.True(rows[0][0] >= now - 3600);
        Assert.All(rows, r => Assert.True(r[1] < 100 && r[2] > 103 && r[2] < 107 && r[3] > 110, string.Join(", ", r)));
        Assert.Empty(JsonDocument.Parse(await http.GetStringAsync($"{web}/api/band/band.counter", Ct)).RootElement.GetProperty("band").EnumerateArray());
        Assert.Equal(HttpStatusCode.BadRequest, (await http.GetAsync($"{web}/api/band/band.calm?points=1", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync($"{web}/api/band/no.such.metric", Ct)).StatusCode);
    }
}
