using System.Text.Json;
using System.Threading.Channels;
using Horizon.Analyzer;
using Horizon.Core;
using Horizon.Core.Series;
using Horizon.Storage;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;
using static Horizon.Integration.Tests.TestSupport;

namespace Horizon.Integration.Tests;

public abstract class AnalyzerTests(IStoreUnderTest store)
{
    internal static byte[] Encode(IEnumerable<(long Ts, double Value)> points)
    {
        var list = points.ToList();
        var buffer = new byte[list.Count * SeriesCodec.MaxPointSize];
        var n = 0;
        foreach (var (ts, v) in list)
        {
            n += SeriesCodec.WritePoint(buffer.AsSpan(n), ts, v);
        }
        return buffer[..n];
    }

    internal static async Task SeedAsync(IDatabase db, string name, IEnumerable<(long Ts, double Value)> points)
    {
        await db.StringSetAsync("metrics." + name, Encode(points));
        await db.SetAddAsync("metrics.unique_metrics", "metrics." + name);
    }

    internal static IEnumerable<(long, double)> Day(long now, Func<int, double> value, int points = 1440, int step = 60) =>
        Enumerable.Range(0, points).Select(i => (now - (long)(points - 1 - i) * step, value(i)));

    internal static async Task WaitForPassesAsync(HorizonHost host, int morePasses)
    {
        var analyzer = host.Services.GetRequiredService<AnalyzerService>();
        var target = analyzer.Passes + morePasses;
        await WaitUntilAsync(() => Task.FromResult(analyzer.Passes >= target), $"{morePasses} analyzer passes", 60);
    }

    [Fact]
    public async Task TheLocalCopyEqualsTheStoreAfterConcurrentAppendsTrimsDeletesAndRecreations()
    {
        await using var host = await store.StartHostAsync();
        var db = host.Db;
        var roomba = host.Services.GetRequiredService<Roomba>();
        var now = Now;
        const int keys = 120;
        for (var k = 0; k < keys; k++)
        {
            await SeedAsync(db, $"sync.k{k}", Enumerable.Range(0, 60).Select(i => (now - 100_000 + (long)i, (double)i))
                .Concat(Enumerable.Range(0, 30).Select(i => (now - 3000 + (long)i * 10, (double)i))));
        }
        var directory = Path.Combine(host.WorkDirectory, "sync-test");
        using var cache = LocalSeriesCache.Open(directory);
        var sync = new SeriesSync(host.Store, cache, Shard.All, batchSize: 37);

        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(4));
        var random = new Random(99);
        var nextTs = new long[keys];
        Array.Fill(nextTs, now - 2000);
        var appender = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var k = random.Next(keys);
                var points = new List<(long, double)> { (nextTs[k]++, 1), (nextTs[k]++, 2.5) };
                if (random.Next(5) == 0)
                {
                    points.Add((now - 200_000, -1)); // an expired point for Roomba to remove
                }
                await db.StringAppendAsync($"metrics.sync.k{k}", Encode(points));
                await db.SetAddAsync("metrics.unique_metrics", $"metrics.sync.k{k}");
            }
        }, TestContext.Current.CancellationToken);
        var trimmer = Task.Run(async () =>
        {
            var r = new Random(7);
            while (!stop.IsCancellationRequested)
            {
                await roomba.TrimKeyAsync($"metrics.sync.k{r.Next(keys)}", now);
            }
        }, TestContext.Current.CancellationToken);
        var recreator = Task.Run(async () =>
        {
            var r = new Random(3);
            while (!stop.IsCancellationRequested)
            {
                var k = r.Next(keys);
                await db.KeyDeleteAsync($"metrics.sync.k{k}");
                await db.SetRemoveAsync("metrics.unique_metrics", $"metrics.sync.k{k}");
                await Task.Delay(5);
                await SeedAsync(db, $"sync.k{k}", [(now - 10 - r.Next(1000), r.Next(100))]);
                await Task.Delay(20);
            }
        }, TestContext.Current.CancellationToken);

        var results = new List<SyncResult>();
        while (!stop.IsCancellationRequested)
        {
            results.Add(await sync.SyncAsync(TestContext.Current.CancellationToken));
        }
        await Task.WhenAll(appender, trimmer, recreator);
        await sync.SyncAsync(TestContext.Current.CancellationToken);

        var members = (await db.SetMembersAsync("metrics.unique_metrics")).Select(m => (string)m!).Where(m => db.KeyExists(m)).ToHashSet();
        Assert.Equal(members.Order(), cache.Keys.Order());
        foreach (var key in members)
        {
            byte[]? stored = await db.StringGetAsync(key);
            Assert.True(stored.AsSpan().SequenceEqual(cache.ToArray(cache.Find(key)!)), $"{key} differs from the store");
        }
        Assert.True(results.Sum(r => r.Appended) > 50, "the syncs should have appended tails");
        Assert.True(results.Sum(r => r.FullReads) > 10, "the syncs should have re-read rewritten keys");
    }

    [Fact]
    public async Task APassFlagsAnInjectedSpikeAndPublishesIt()
    {
        await using var host = await store.StartHostAsync(new Dictionary<string, string?>
        {
            ["Analyzer:MinPassInterval"] = "00:00:00.5",
        });
        var db = host.Db;
        var now = Now;
        var random = new Random(2026);
        for (var i = 0; i < 40; i++)
        {
            await SeedAsync(db, $"calm.m{i}", Day(now, _ => 100 + random.NextDouble() * 10));
        }
        await SeedAsync(db, "spiky.metric", Day(now, i => i >= 1437 ? 1000 : 100 + random.NextDouble() * 10));
        await SeedAsync(db, "stale.metric", Day(now - 5000, _ => random.NextDouble()));
        await SeedAsync(db, "boring.metric", Day(now, _ => 7));
        await db.StringSetAsync("metrics.corrupt.metric", new byte[] { 0x92, 0xc0, 0xc0, 0x01 });
        await db.SetAddAsync("metrics.unique_metrics", "metrics.corrupt.metric");

        await WaitForPassesAsync(host, 2);

        var current = await db.HashGetAllAsync(StoreKeys.Anomalies);
        Assert.Equal(["spiky.metric"], current.Select(e => (string)e.Name!));
        using var record = JsonDocument.Parse((string)current[0].Value!);
        Assert.Equal(1000, record.RootElement.GetProperty("value").GetDouble());
        Assert.Equal(now, record.RootElement.GetProperty("timestamp").GetInt64());
        var algorithms = record.RootElement.GetProperty("algorithms").EnumerateArray().Select(a => a.GetString()).ToList();
        Assert.True(algorithms.Count >= 6, string.Join(", ", algorithms));
        Assert.Contains("grubbs", algorithms);
        Assert.Equal(algorithms.Count, record.RootElement.GetProperty("votes").GetInt32());

        // One history entry per (metric, timestamp), however many passes saw it.
        Assert.Equal(1, await db.ListLengthAsync(StoreKeys.AnomalyHistory));

        var summary = host.Services.GetRequiredService<AnalyzerService>().LastPass!;
        Assert.Equal(44, summary.Metrics);
        Assert.Equal(1, summary.Skipped["stale"]);
        Assert.Equal(1, summary.Skipped["boring"]);
        Assert.Equal(1, summary.Skipped["corrupt"]);
        Assert.Equal(41, summary.Analysed);
        Assert.Equal(1, summary.Anomalies);
        Assert.True((await db.HashGetAsync(StoreKeys.AnalyzerPasses, "0/1")).HasValue);

        using var file = JsonDocument.Parse(await File.ReadAllBytesAsync(Path.Combine(host.WorkDirectory, "anomalies.json"), TestContext.Current.CancellationToken));
        Assert.Equal("spiky.metric", Assert.Single(file.RootElement.GetProperty("anomalies").EnumerateArray()).GetProperty("metric").GetString());

        var scraped = await host.ScrapeAsync();
        Assert.Contains("horizon_analyzer_anomalies 1", scraped, StringComparison.Ordinal);
        Assert.Contains("horizon_analyzer_skipped_total{reason=\"corrupt\"}", scraped, StringComparison.Ordinal);

        // When the spike is gone, so is the current anomaly.
        await SeedAsync(db, "spiky.metric", Day(now, _ => 100 + random.NextDouble() * 10));
        await WaitUntilAsync(async () => (await db.HashLengthAsync(StoreKeys.Anomalies)) == 0, "the anomaly to clear", 30);
    }

    [Fact]
    public async Task FindingsArePublishedWhileThePassRunsAndEnterTheHistoryOnce()
    {
        // The host's own analyzer has no metrics, so it never touches these fields.
        await using var host = await store.StartHostAsync();
        var db = host.Db;
        var publisher = new AnomalyPublisher(host.Store, new AnalyzerOptions { AnomaliesFile = "" }, new Shard(0, 1));
        AnomalyRecord Finding(string metric, long ts) => new(metric, ts, 1000, 6, 6, ["grubbs"], ts);
        PassSummary Summary(int anomalies) => new("0/1", 0, 1, 0, 1, 2, 2, 0, new Dictionary<string, int>(), 0, new Dictionary<string, long>(), anomalies, 0, 0);
        async Task<string[]> Current() => [.. (await db.HashKeysAsync(StoreKeys.Anomalies)).Select(k => (string)k!).Order()];

        // First pass: each finding is in the hash and the history before the pass ends.
        var found = Channel.CreateUnbounded<AnomalyRecord>();
        var publishing = publisher.PublishAsFoundAsync(found.Reader);
        found.Writer.TryWrite(Finding("a", 100));
        await WaitUntilAsync(async () => (await Current()).SequenceEqual(["a"]), "a published during the pass", 10);
        found.Writer.TryWrite(Finding("a", 100));
        found.Writer.TryWrite(Finding("b", 100));
        await WaitUntilAsync(async () => (await Current()).SequenceEqual(["a", "b"]), "b published during the pass", 10);
        Assert.False(publishing.IsCompleted);
        found.Writer.TryComplete();
        await publishing;
        Assert.Equal(2, await db.ListLengthAsync(StoreKeys.AnomalyHistory));
        await publisher.PublishAsync([Finding("a", 100), Finding("b", 100)], Summary(2));
        Assert.Equal(2, await db.ListLengthAsync(StoreKeys.AnomalyHistory));

        // Second pass: a still anomalous with the same point (no new history), b gone, then a new point of a.
        found = Channel.CreateUnbounded<AnomalyRecord>();
        publishing = publisher.PublishAsFoundAsync(found.Reader);
        found.Writer.TryWrite(Finding("a", 100));
        found.Writer.TryComplete();
        await publishing;
        await publisher.PublishAsync([Finding("a", 100)], Summary(1));
        Assert.Equal(["a"], await Current());
        Assert.Equal(2, await db.ListLengthAsync(StoreKeys.AnomalyHistory));

        found = Channel.CreateUnbounded<AnomalyRecord>();
        publishing = publisher.PublishAsFoundAsync(found.Reader);
        found.Writer.TryWrite(Finding("a", 110));
        await WaitUntilAsync(async () => await db.ListLengthAsync(StoreKeys.AnomalyHistory) == 3, "a's new point in the history during the pass", 10);
        using var newest = JsonDocument.Parse((string)(await db.ListGetByIndexAsync(StoreKeys.AnomalyHistory, 0))!);
        Assert.Equal(110, newest.RootElement.GetProperty("timestamp").GetInt64());
        found.Writer.TryComplete();
        await publishing;
        await publisher.PublishAsync([Finding("a", 110)], Summary(1));
        Assert.Equal(3, await db.ListLengthAsync(StoreKeys.AnomalyHistory));
    }

    [Fact]
    public async Task TheEnsembleModeExplainsAnomaliesFollowsMetadataAndForecastsExhaustion()
    {
        await using var host = await store.StartHostAsync(new Dictionary<string, string?>
        {
            ["Analyzer:MinPassInterval"] = "00:00:00.5",
            ["Analyzer:Mode"] = "ensemble",
        });
        var db = host.Db;
        var ct = TestContext.Current.CancellationToken;
        var api = $"http://{host.Endpoint("web")}/api/metadata/";
        using var http = WritingClient();
        using (var disk = new StringContent("""{"unit":"%","owner":"storage","capacity":100}"""))
        {
            Assert.Equal(System.Net.HttpStatusCode.OK, (await http.PutAsync(api + "disk.used", disk, ct)).StatusCode);
        }
        using (var latency = new StringContent("""{"unit":"ms","badDirection":"Up"}"""))
        {
            Assert.Equal(System.Net.HttpStatusCode.OK, (await http.PutAsync(api + "latency.drop", latency, ct)).StatusCode);
        }
        using (var bad = new StringContent("""{"sensitivity":-1}"""))
        {
            var rejected = await http.PutAsync(api + "bad.metric", bad, ct);
            Assert.Equal(System.Net.HttpStatusCode.BadRequest, rejected.StatusCode);
            Assert.Contains("sensitivity", await rejected.Content.ReadAsStringAsync(ct), StringComparison.Ordinal);
        }
        using (var stored = JsonDocument.Parse(await http.GetStringAsync(api + "disk.used", ct)))
        {
            Assert.Equal("storage", stored.RootElement.GetProperty("owner").GetString());
        }
        Assert.Equal(System.Net.HttpStatusCode.NotFound, (await http.GetAsync(api + "bad.metric", ct)).StatusCode);

        var now = Now;
        var random = new Random(7);
        for (var i = 0; i < 10; i++)
        {
            await SeedAsync(db, $"calm.m{i}", Day(now, _ => 100 + random.NextDouble() * 10));
        }
        await SeedAsync(db, "spiky.metric", Day(now, i => i == 1439 ? 1000 : 100 + random.NextDouble() * 10));
        // A latency that drops is good news for its owners.
        await SeedAsync(db, "latency.drop", Day(now, i => i == 1439 ? 5 : 100 + random.NextDouble() * 10));
        // Three days at 10 minutes, filling from 40 % to 70 %: 100 % in about three days.
        await SeedAsync(db, "disk.used", Day(now, i => 40 + (30.0 * i / 431) + random.NextDouble(), points: 432, step: 600));

        // Three days at 10 minutes of writes, quiet for 3 h every night; the last point makes the
        // current quiet spell longer than any before it.
        await SeedAsync(db, "writes.stopped", Day(now, i => i % 144 < 18 || i >= 412 ? 0 : 500 + (random.NextDouble() * 400), points: 432, step: 600));

        // Three days every 30 minutes, and 20 days of its 30-minute roll-ups stored by an earlier run.
        var halfHourly = Day(now, _ => 50 + random.NextDouble(), points: 144, step: 1800).ToList();
        var storedFirst = (halfHourly[0].Item1 / 1800) - 960;
        var restored = new byte[12 + (960 * 4)];
        BitConverter.TryWriteBytes(restored, 1800);
        BitConverter.TryWriteBytes(restored.AsSpan(4), storedFirst);
        for (var i = 0; i < 960; i++)
        {
            BitConverter.TryWriteBytes(restored.AsSpan(12 + (i * 4)), 50.5f);
        }
        await db.StringSetAsync(StoreKeys.RollupPrefix + "queue.half_hourly", restored);
        await SeedAsync(db, "queue.half_hourly", halfHourly);

        await WaitForPassesAsync(host, 2);

        var current = (await db.HashGetAllAsync(StoreKeys.Anomalies)).ToDictionary(e => (string)e.Name!, e => (string)e.Value!);
        Assert.Contains("spiky.metric", current.Keys);
        using (var stopped = JsonDocument.Parse(current["writes.stopped"]))
        {
            Assert.Contains(stopped.RootElement.GetProperty("reasons").EnumerateArray(), r => r.GetString()!.StartsWith("flatline: held at 0 for 3.2 h", StringComparison.Ordinal));
        }
        Assert.Contains("exhaustion:disk.used", current.Keys);
        Assert.DoesNotContain("latency.drop", current.Keys);
        Assert.DoesNotContain(current.Keys, k => k.StartsWith("calm.", StringComparison.Ordinal));

        using var spike = JsonDocument.Parse(current["spiky.metric"]);
        Assert.True(spike.RootElement.GetProperty("score").GetDouble() >= 0.31);
        Assert.Contains(spike.RootElement.GetProperty("reasons").EnumerateArray(), r => r.GetString()!.StartsWith("level: expected", StringComparison.Ordinal));
        // Sampled every minute: five times the judgements a day of the 5-minute calibration.
        Assert.Contains(spike.RootElement.GetProperty("reasons").EnumerateArray(), r => r.GetString()!.StartsWith("calibrated: sampled every 60 s, 5x as often", StringComparison.Ordinal));
        Assert.Equal("anomaly", spike.RootElement.GetProperty("kind").GetString());

        using var exhaustion = JsonDocument.Parse(current["exhaustion:disk.used"]);
        var days = exhaustion.RootElement.GetProperty("seconds_to_capacity").GetDouble() / 86400;
        Assert.InRange(days, 1.5, 4.5);
        Assert.Equal("storage", exhaustion.RootElement.GetProperty("owner").GetString());
        Assert.Equal("%", exhaustion.RootElement.GetProperty("unit").GetString());

        // The roll-up of every metric is kept in the store: header + 4 bytes per closed 10-minute slot.
        byte[] rollup = (await db.StringGetAsync(StoreKeys.RollupPrefix + "disk.used"))!;
        Assert.InRange((rollup.Length - 12) / 4, 430, 433);
        Assert.Equal(600, BitConverter.ToInt32(rollup, 0));
        // ... and expires once a silent metric's slots are all past the 14-day retention.
        var ttl = await db.KeyTimeToLiveAsync(StoreKeys.RollupPrefix + "disk.used");
        Assert.NotNull(ttl);
        Assert.InRange(ttl.Value, TimeSpan.FromDays(13.9), TimeSpan.FromDays(14));
        // A metric sampled every 30 minutes keeps 30-minute slots: restored from the store and grown
        // (not restarted from its series), the same 2016 slots covering 42 days.
        byte[] halfHourlyRollup = (await db.StringGetAsync(StoreKeys.RollupPrefix + "queue.half_hourly"))!;
        Assert.Equal(1800, BitConverter.ToInt32(halfHourlyRollup, 0));
        Assert.Equal(storedFirst, BitConverter.ToInt64(halfHourlyRollup, 4));
        Assert.InRange((halfHourlyRollup.Length - 12) / 4, 960 + 142, 960 + 144);
        var halfHourlyTtl = await db.KeyTimeToLiveAsync(StoreKeys.RollupPrefix + "queue.half_hourly");
        Assert.NotNull(halfHourlyTtl);
        Assert.InRange(halfHourlyTtl.Value, TimeSpan.FromDays(41.9), TimeSpan.FromDays(42));

        Assert.Contains("horizon_analyzer_exhaustion_forecasts 1", await host.ScrapeAsync(), StringComparison.Ordinal);
        Assert.Equal(System.Net.HttpStatusCode.NoContent, (await http.DeleteAsync(api + "disk.used", ct)).StatusCode);
        Assert.False(await db.HashExistsAsync(StoreKeys.Metadata, "disk.used"));
    }
}

public sealed class AnalyzerOnRedisTests(RedisFixture redis) : AnalyzerTests(new RedisStoreUnderTest(redis)), IClassFixture<RedisFixture>
{
    [Fact]
    public async Task AnAnalyzerRestartResumesFromItsLocalCopy()
    {
        var work = Path.Combine(Path.GetTempPath(), "horizon-resume-" + Guid.NewGuid().ToString("N"));
        try
        {
            var settings = new Dictionary<string, string?> { ["Analyzer:MinPassInterval"] = "00:00:00.5" };
            var connection = redis.Server.ConnectionString;
            await using (var mux = await redis.Server.ConnectAsync())
            {
                await mux.GetServers()[0].FlushAllDatabasesAsync();
                var now = Now;
                for (var i = 0; i < 100; i++)
                {
                    await SeedAsync(mux.GetDatabase(), $"resume.m{i}", Day(now, j => j % 17));
                }
            }
            // The analyzer alone (no ingest host): both processes see the same redis-server.
            await using (var first = await HorizonHost.StartAsync(connection, settings, role: HorizonRole.Analyze, workDirectory: work))
            {
                await WaitForPassesAsync(first, 1);
                Assert.Equal(100, first.Services.GetRequiredService<AnalyzerService>().LastPass!.Metrics);
            }
            Assert.True(File.Exists(Directory.GetFiles(work, "index.bin", SearchOption.AllDirectories).Single()));
            await using var second = await HorizonHost.StartAsync(connection, settings, role: HorizonRole.Analyze, workDirectory: work);
            await WaitForPassesAsync(second, 1);
            var pass = second.Services.GetRequiredService<AnalyzerService>().LastPass!;
            Assert.Equal(0, pass.FullReads);
            Assert.True(pass.BytesFetched < 100 * (SeriesSync.Overlap + 64), $"{pass.BytesFetched} bytes fetched after a restart");
        }
        finally
        {
            if (Directory.Exists(work))
            {
                Directory.Delete(work, recursive: true);
            }
        }
    }

    [Fact]
    public async Task ShardsSplitTheMetricsWithoutOverlapAndThePassLoopIsPaced()
    {
        await using (var mux = await redis.Server.ConnectAsync())
        {
            await mux.GetServers()[0].FlushAllDatabasesAsync();
            var db = mux.GetDatabase();
            var now = Now;
            for (var i = 0; i < 200; i++)
            {
                await SeedAsync(db, $"shard.m{i}", Day(now, j => j % 5, points: 100));
            }
        }
        var settings = new Dictionary<string, string?> { ["Analyzer:MinPassInterval"] = "00:00:01" };
        await using var a = await HorizonHost.StartAsync(redis.Server.ConnectionString, new Dictionary<string, string?>(settings) { ["Analyzer:Shard"] = "0/2" }, role: HorizonRole.Analyze);
        await using var b = await HorizonHost.StartAsync(redis.Server.ConnectionString, new Dictionary<string, string?>(settings) { ["Analyzer:Shard"] = "1/2" }, role: HorizonRole.Analyze);
        var started = DateTime.UtcNow;
        var analyzerA = a.Services.GetRequiredService<AnalyzerService>();
        var analyzerB = b.Services.GetRequiredService<AnalyzerService>();
        await WaitUntilAsync(() => Task.FromResult(analyzerA.Passes >= 1 && analyzerB.Passes >= 1), "both shards to pass");
        Assert.Equal(200, analyzerA.LastPass!.Metrics + analyzerB.LastPass!.Metrics);
        Assert.InRange(analyzerA.LastPass.Metrics, 60, 140);
        var owned = Enumerable.Range(0, 200).Count(i => Shard.Parse("0/2").Owns($"metrics.shard.m{i}"));
        Assert.Equal(owned, analyzerA.LastPass.Metrics);

        await Task.Delay(3000, TestContext.Current.CancellationToken);
        var elapsed = (DateTime.UtcNow - started).TotalSeconds;
        Assert.True(analyzerA.Passes <= elapsed + 2, $"{analyzerA.Passes} passes in {elapsed:F1} s with a 1 s minimum interval");
    }
}

public sealed class AnalyzerOnGarnetTests() : AnalyzerTests(new GarnetStoreUnderTest());
