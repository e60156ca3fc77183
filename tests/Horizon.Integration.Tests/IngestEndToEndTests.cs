using System.Buffers;
using System.Net.Sockets;
using System.Text;
using MessagePack;
using StackExchange.Redis;
using static Horizon.Integration.Tests.TestSupport;

namespace Horizon.Integration.Tests;

/// <summary>Real traffic over real sockets into a real store, read back byte for byte.</summary>
public abstract class IngestEndToEndTests(IStoreUnderTest store)
{
    private static readonly Dictionary<string, string?> StatsdOn = new()
    {
        ["Listeners:StatsdUdp:Enabled"] = "true",
        ["Listeners:StatsdTcp:Enabled"] = "true",
    };

    private static byte[] ReferencePoint(long ts, object value)
    {
        var buffer = new ArrayBufferWriter<byte>();
        var w = new MessagePackWriter(buffer);
        w.WriteArrayHeader(2);
        w.Write(ts);
        if (value is double d)
        {
            w.Write(d);
        }
        else
        {
            w.Write(Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture));
        }
        w.Flush();
        return buffer.WrittenSpan.ToArray();
    }

    private static async Task WaitForStoredAsync(HorizonHost host, string listener, double count) =>
        await WaitUntilAsync(() => Task.FromResult(host.WriterMetrics.PointsStored.WithLabels(listener).Value >= count), $"{count} points stored from {listener}");

    [Fact]
    public async Task PlaintextLinesAreStoredAsSkylineMsgpackPairs()
    {
        await using var host = await store.StartHostAsync();
        var now = Now;
        await SendTcpAsync(host.Endpoint("plaintext"), $"web.cpu 12.5 {now - 20}\nweb.cpu 13 {now - 10}\r\nweb.mem -2.25e3 {now}\n");
        await WaitForStoredAsync(host, "plaintext", 3);

        byte[]? cpu = await host.Db.StringGetAsync("metrics.web.cpu");
        Assert.Equal([.. ReferencePoint(now - 20, 12.5), .. ReferencePoint(now - 10, 13L)], cpu!);
        byte[]? mem = await host.Db.StringGetAsync("metrics.web.mem");
        Assert.Equal(ReferencePoint(now, -2250L), mem!);
        var unique = await UniqueMetricsAsync(host.Db);
        Assert.Contains("metrics.web.cpu", unique);
        Assert.Contains("metrics.web.mem", unique);
        Assert.Equal(3, host.IngestMetrics.PointsReceived.WithLabels("plaintext").Value);
    }

    [Fact]
    public async Task ANameWhoseKeyWasDeletedGoesBackIntoTheSetWithItsNextPoint()
    {
        await using var host = await store.StartHostAsync();
        await SendTcpAsync(host.Endpoint("plaintext"), $"comes.back 1 {Now}\n");
        await WaitForStoredAsync(host, "plaintext", 1);
        // What Roomba does to a series that went silent.
        await host.Db.KeyDeleteAsync("metrics.comes.back");
        await host.Db.SetRemoveAsync("metrics.unique_metrics", "metrics.comes.back");

        await SendTcpAsync(host.Endpoint("plaintext"), $"comes.back 2 {Now}\n");
        await WaitForStoredAsync(host, "plaintext", 2);
        Assert.Contains("metrics.comes.back", await UniqueMetricsAsync(host.Db));
        Assert.Equal(2, Assert.Single(await ReadSeriesAsync(host.Db, "comes.back")).Value);
    }

    [Fact]
    public async Task AFinalLineWithoutNewlineIsAcceptedWhenThePeerCloses()
    {
        await using var host = await store.StartHostAsync();
        await SendTcpAsync(host.Endpoint("plaintext"), $"first.line 1 {Now}\nfinal.line 7");
        await WaitForStoredAsync(host, "plaintext", 2);
        Assert.Equal(7, Assert.Single(await ReadSeriesAsync(host.Db, "final.line")).Value);
    }

    [Fact]
    public async Task PicklesFramedAsCarbonRelaySendsThemAreStored()
    {
        await using var host = await store.StartHostAsync();
        var now = Now;
        var first = Enumerable.Range(0, 600).Select(i => ($"relay.host{i % 7}.m{i}", (double)now - 30 + 0.75, i * 0.5)).ToList();
        var second = new[] { ("relay.single", (double)now, 42.0) };
        await SendTcpAsync(host.Endpoint("pickle"), [.. PickleFrame(first), .. PickleFrame(second)]);
        await WaitForStoredAsync(host, "pickle", 601);

        foreach (var (name, ts, value) in first.Take(50).Concat(second))
        {
            var point = Assert.Single(await ReadSeriesAsync(host.Db, name));
            Assert.Equal((long)ts, point.Ts); // carbon's float timestamps are truncated to seconds
            Assert.Equal(value, point.Value);
        }
        Assert.Equal(601, (await UniqueMetricsAsync(host.Db)).Count(m => m.StartsWith("metrics.relay.", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task StatsdOverUdpAndTcpIsAggregatedAndFlushedUnderStatsdNames()
    {
        await using var host = await store.StartHostAsync(StatsdOn);
        await SendUdpAsync(host.Endpoint("statsd_udp"), "api.hits:3|c\napi.latency:10|ms\napi.latency:30|ms"u8.ToArray());
        await SendUdpAsync(host.Endpoint("statsd_udp"), "api.hits:1|c|@0.5"u8.ToArray());
        await SendTcpAsync(host.Endpoint("statsd_tcp"), "api.hits:5|c\nqueue.depth:17|g\nusers:alice|s\nusers:bob|s\n");

        async Task<double> Sum(string name) => (await ReadSeriesAsync(host.Db, name)).Sum(p => p.Value);
        // StatsD's default (legacy) namespace: stats_counts.<name> and stats.<name> for counters.
        await WaitUntilAsync(async () => await Sum("stats_counts.api.hits") == 10, "api.hits to add up to 10");
        await WaitUntilAsync(async () => (await ReadSeriesAsync(host.Db, "stats.timers.api.latency.mean")).Any(p => p.Value == 20), "timer mean 20");
        await WaitUntilAsync(async () => (await ReadSeriesAsync(host.Db, "stats.gauges.queue.depth")).Any(p => p.Value == 17), "gauge 17");
        await WaitUntilAsync(async () => (await ReadSeriesAsync(host.Db, "stats.sets.users.count")).Any(p => p.Value == 2), "set of 2");
        var upper90 = await ReadSeriesAsync(host.Db, "stats.timers.api.latency.upper_90");
        Assert.Contains(upper90, p => p.Value == 30);
        Assert.Contains("metrics.stats.api.hits", await UniqueMetricsAsync(host.Db));
        // StatsD's own metrics, under the names its Graphite backend gives them.
        await WaitUntilAsync(async () => (await ReadSeriesAsync(host.Db, "stats.gauges.statsd.timestamp_lag")).Count > 0, "timestamp_lag from the second flush");
        Assert.Contains(await ReadSeriesAsync(host.Db, "statsd.numStats"), p => p.Value >= 7);
        Assert.Contains(await ReadSeriesAsync(host.Db, "stats_counts.statsd.packets_received"), p => p.Value >= 2);
        var lastFlush = await ReadSeriesAsync(host.Db, "stats.statsd.graphiteStats.last_flush");
        Assert.Contains(lastFlush, p => Math.Abs(p.Value - Now) < 60);
        foreach (var own in new[] { "stats.statsd.processing_time", "stats.statsd.graphiteStats.calculationtime", "stats.statsd.graphiteStats.last_exception",
            "stats.statsd.graphiteStats.flush_time", "stats.statsd.graphiteStats.flush_length" })
        {
            Assert.NotEmpty(await ReadSeriesAsync(host.Db, own));
        }
        // flush_length: the bytes of the flush before it as carbon plaintext lines, some 40 per point.
        Assert.Contains(await ReadSeriesAsync(host.Db, "stats.statsd.graphiteStats.flush_length"), p => p.Value > 40 * 20);
    }

    [Fact]
    public async Task SkylineMsgpackDatagramsAreStored()
    {
        await using var host = await store.StartHostAsync();
        var now = Now;
        for (var i = 0; i < 20; i++)
        {
            var datagram = MessagePackSerializer.Serialize(new object[] { "skyline.udp", new object[] { now - 20 + i, i + 0.5 } }, cancellationToken: TestContext.Current.CancellationToken);
            await SendUdpAsync(host.Endpoint("msgpack"), datagram);
        }
        await WaitForStoredAsync(host, "msgpack", 20);
        var series = await ReadSeriesAsync(host.Db, "skyline.udp");
        Assert.Equal(Enumerable.Range(0, 20).Select(i => (now - 20 + i, i + 0.5)), series.OrderBy(p => p.Ts));
    }

    [Fact]
    public async Task MalformedLinesAreRejectedAloneCountedAndTheConnectionGoesOn()
    {
        await using var host = await store.StartHostAsync(new Dictionary<string, string?> { ["Series:SkipList:0"] = "skipme" });
        var now = Now;
        using var client = new TcpClient();
        await client.ConnectAsync(host.Endpoint("plaintext"), TestContext.Current.CancellationToken);
        var stream = client.GetStream();
        var bad = $"good.a 1 {now}\nbad.value x {now}\nnan.value nan {now}\n{new string('n', 1025)} 1 {now}\n" +
                  $"ctl\u0001name 1 {now}\nmissing.value\nold.point 1 {now - 5000}\nfuture.point 1 {now + 3600}\nx.skipme.y 1 {now}\n";
        await stream.WriteAsync(Encoding.UTF8.GetBytes(bad), TestContext.Current.CancellationToken);
        await WaitForStoredAsync(host, "plaintext", 1);
        // The same connection is still served.
        await stream.WriteAsync(Encoding.UTF8.GetBytes($"good.b 2 {now}\n"), TestContext.Current.CancellationToken);
        await WaitForStoredAsync(host, "plaintext", 2);

        double Rejected(string reason) => host.IngestMetrics.PointsRejected.WithLabels("plaintext", reason).Value;
        Assert.Equal(1, Rejected("bad_value"));
        Assert.Equal(1, Rejected("non_finite_value"));
        Assert.Equal(1, Rejected("name_too_long"));
        Assert.Equal(1, Rejected("invalid_name_character"));
        Assert.Equal(1, Rejected("missing_field"));
        Assert.Equal(1, Rejected("too_old"));
        Assert.Equal(1, Rejected("too_far_in_future"));
        Assert.Equal(1, Rejected("skip_list"));
        Assert.Equal(["metrics.good.a", "metrics.good.b"], (await UniqueMetricsAsync(host.Db)).Order());
        var scraped = await host.ScrapeAsync();
        Assert.Contains("horizon_points_rejected_total{listener=\"plaintext\",reason=\"too_old\"} 1", scraped, StringComparison.Ordinal);
        Assert.Contains("horizon_points_stored_total{listener=\"plaintext\"} 2", scraped, StringComparison.Ordinal);
    }

    [Fact]
    public async Task APickleThatWouldRunCodeClosesOnlyItsOwnConnection()
    {
        await using var host = await store.StartHostAsync();
        using var good = new TcpClient();
        await good.ConnectAsync(host.Endpoint("pickle"), TestContext.Current.CancellationToken);

        using var evil = new TcpClient();
        await evil.ConnectAsync(host.Endpoint("pickle"), TestContext.Current.CancellationToken);
        var payload = File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "Fixtures", "pickle", "evil_reduce.pickle"));
        var frame = new byte[4 + payload.Length];
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(frame, payload.Length);
        payload.CopyTo(frame, 4);
        await evil.GetStream().WriteAsync(frame, TestContext.Current.CancellationToken);
        Assert.Equal(0, await ReadUntilClosedAsync(evil));
        Assert.Equal(1, host.ConnectionMetrics.ConnectionsClosed.WithLabels("pickle", "unsupported_opcode").Value);

        await good.GetStream().WriteAsync(PickleFrame([("still.served", Now, 1)]), TestContext.Current.CancellationToken);
        await WaitForStoredAsync(host, "pickle", 1);
        Assert.Single(await ReadSeriesAsync(host.Db, "still.served"));
    }

    [Fact]
    public async Task OversizedAndTruncatedPickleFramesCloseTheirConnection()
    {
        await using var host = await store.StartHostAsync(new Dictionary<string, string?> { ["Listeners:MaxPickleFrameBytes"] = "4096" });
        using (var big = new TcpClient())
        {
            await big.ConnectAsync(host.Endpoint("pickle"), TestContext.Current.CancellationToken);
            var points = Enumerable.Range(0, 500).Select(i => ($"big.{i}", (double)Now, 1.0));
            await big.GetStream().WriteAsync(PickleFrame(points), TestContext.Current.CancellationToken);
            Assert.Equal(0, await ReadUntilClosedAsync(big));
        }
        Assert.Equal(1, host.ConnectionMetrics.ConnectionsClosed.WithLabels("pickle", "frame_too_large").Value);

        var frame = PickleFrame([("cut.short", Now, 1)]);
        await SendTcpAsync(host.Endpoint("pickle"), frame[..^3]);
        await WaitUntilAsync(() => Task.FromResult(host.ConnectionMetrics.ConnectionsClosed.WithLabels("pickle", "truncated_frame").Value == 1), "truncated frame counted");
        Assert.False(await host.Db.KeyExistsAsync("metrics.cut.short"));
    }

    [Fact]
    public async Task TheHttpApiListsMetricsAndReadsASeriesBack()
    {
        await using var host = await store.StartHostAsync();
        var now = Now;
        await SendTcpAsync(host.Endpoint("plaintext"), $"api.read.a 1.5 {now - 60}\napi.read.a 2 {now}\napi.read.b 3 {now}\nother.c 4 {now}\n");
        await WaitForStoredAsync(host, "plaintext", 4);
        using var http = new HttpClient { BaseAddress = new Uri($"http://{host.Endpoint("web")}") };
        var ct = TestContext.Current.CancellationToken;

        using var series = System.Text.Json.JsonDocument.Parse(await http.GetStringAsync("/api/series/api.read.a", ct));
        Assert.Equal("metrics.api.read.a", series.RootElement.GetProperty("key").GetString());
        Assert.Equal([[now - 60, 1.5], [now, 2]], series.RootElement.GetProperty("points").EnumerateArray()
            .Select(p => new[] { p[0].GetDouble(), p[1].GetDouble() }).ToArray());
        Assert.Equal(System.Net.HttpStatusCode.NotFound, (await http.GetAsync("/api/series/no.such", ct)).StatusCode);
        using (var listed = System.Text.Json.JsonDocument.Parse(await http.GetStringAsync("/api/metrics?match=api.*", ct)))
        {
            Assert.Equal(["api.read.a", "api.read.b"], listed.RootElement.GetProperty("metrics").EnumerateArray().Select(e => e.GetString()));
            Assert.False(listed.RootElement.GetProperty("truncated").GetBoolean());
        }
        using (var cut = System.Text.Json.JsonDocument.Parse(await http.GetStringAsync("/api/metrics?match=*&limit=2", ct)))
        {
            Assert.Equal(2, cut.RootElement.GetProperty("metrics").GetArrayLength());
            Assert.True(cut.RootElement.GetProperty("truncated").GetBoolean());
            Assert.Equal(2, cut.RootElement.GetProperty("limit").GetInt32());
        }
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, (await http.GetAsync("/api/metrics?limit=0", ct)).StatusCode);
        using var health = System.Text.Json.JsonDocument.Parse(await http.GetStringAsync("/health", ct));
        Assert.Equal("ok", health.RootElement.GetProperty("status").GetString());
    }

    private static async Task<int> ReadUntilClosedAsync(TcpClient client)
    {
        var buffer = new byte[64];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        try
        {
            int n;
            while ((n = await client.GetStream().ReadAsync(buffer, timeout.Token)) > 0)
            {
            }
            return n;
        }
        catch (IOException)
        {
            return 0; // reset by the server: closed as well
        }
    }
}

public sealed class IngestOnRedisTests(RedisFixture redis) : IngestEndToEndTests(new RedisStoreUnderTest(redis)), IClassFixture<RedisFixture>;

public sealed class IngestOnGarnetTests() : IngestEndToEndTests(new GarnetStoreUnderTest());
