using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading.Channels;
using Horizon.Analyzer;
using Horizon.Storage;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;
using static Horizon.Integration.Tests.TestSupport;

namespace Horizon.Integration.Tests;

/// <summary>What happens when the store is slow, goes away, comes back empty, and when the
/// process is told to stop: nothing accepted is lost, memory stays bounded.</summary>
public sealed class FaultTests
{
    private static string Lines(int names, int perName, long now, int nameOffset = 0)
    {
        var sb = new StringBuilder(names * perName * 24);
        for (var j = 0; j < perName; j++)
        {
            for (var i = 0; i < names; i++)
            {
                sb.Append("fault.m").Append(i + nameOffset).Append(' ').Append(j).Append(' ').Append(now - perName + j).Append('\n');
            }
        }
        return sb.ToString();
    }

    private static async Task<long> CountStoredPointsAsync(IDatabase db, int names, int nameOffset = 0)
    {
        long total = 0;
        for (var i = 0; i < names; i++)
        {
            total += (await ReadSeriesAsync(db, $"fault.m{i + nameOffset}")).Count;
        }
        return total;
    }

    // Round j gives each <prefix>.m<i> the value j at start + j, a round every 20 ms, on one connection.
    private static Task StreamRoundsAsync(IPEndPoint endpoint, string prefix, int names, int rounds, long start) => Task.Run(async () =>
    {
        using var client = new TcpClient();
        await client.ConnectAsync(endpoint);
        var stream = client.GetStream();
        for (var j = 0; j < rounds; j++)
        {
            var sb = new StringBuilder();
            for (var i = 0; i < names; i++)
            {
                sb.Append(prefix).Append(".m").Append(i).Append(' ').Append(j).Append(' ').Append(start + j).Append('\n');
            }
            await stream.WriteAsync(Encoding.ASCII.GetBytes(sb.ToString()));
            await Task.Delay(20);
        }
    }, TestContext.Current.CancellationToken);

    [Fact]
    public async Task ASlowStoreSlowsTheSenderAndKeepsTheBufferBounded()
    {
        await using var redis = await RedisServer.StartAsync();
        const int maxBuffered = 8192;
        await using var host = await HorizonHost.StartAsync(redis.ConnectionString, new Dictionary<string, string?>
        {
            ["Writer:MaxBufferedPoints"] = maxBuffered.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Writer:BatchSize"] = "256",
            ["Writer:FlushPoints"] = "1024",
            ["Writer:MaxInFlightFlushes"] = "2",
        });
        var writer = host.Services.GetRequiredService<SeriesWriter>();
        const int names = 1000, perName = 900;
        var payload = Encoding.ASCII.GetBytes(Lines(names, perName, Now));

        await using (var admin = await redis.ConnectAsync())
        {
            await admin.GetServers()[0].ExecuteAsync("CLIENT", "PAUSE", "4000", "WRITE");
        }
        long sent = 0;
        var sender = Task.Run(async () =>
        {
            using var client = new TcpClient();
            await client.ConnectAsync(host.Endpoint("plaintext"));
            var stream = client.GetStream();
            for (var offset = 0; offset < payload.Length; offset += 65536)
            {
                var n = Math.Min(65536, payload.Length - offset);
                await stream.WriteAsync(payload.AsMemory(offset, n));
                Interlocked.Add(ref sent, n);
            }
        }, TestContext.Current.CancellationToken);

        long maxSeenBuffered = 0, maxSeenInFlight = 0;
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < TimeSpan.FromSeconds(3))
        {
            maxSeenBuffered = Math.Max(maxSeenBuffered, writer.BufferedPoints);
            maxSeenInFlight = Math.Max(maxSeenInFlight, writer.InFlightPoints);
            await Task.Delay(20, TestContext.Current.CancellationToken);
        }
        var sentWhilePaused = Interlocked.Read(ref sent);

        Assert.False(sender.IsCompleted, "the sender should be held back while the store is paused");
        Assert.True(sentWhilePaused < payload.Length / 2, $"{sentWhilePaused} of {payload.Length} bytes went out while the store was paused");
        // The bound: the writer's buffer, plus the one batch the waiting connection holds.
        Assert.True(maxSeenBuffered is > 0 and <= maxBuffered + 256, $"buffered points peaked at {maxSeenBuffered}");
        Assert.True(maxSeenInFlight <= 2 * (1024 + 256), $"in-flight points peaked at {maxSeenInFlight}");

        await sender;
        await WaitUntilAsync(() => Task.FromResult(host.WriterMetrics.PointsStored.WithLabels("plaintext").Value == names * perName), "every point stored", 120);
        Assert.Equal(names * perName, await CountStoredPointsAsync(host.Db, names));
        Assert.Equal(0, host.WriterMetrics.PointsDropped.WithLabels("plaintext", "shutdown").Value);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task AStoreKilledMidStreamLeavesEverySeriesInTimeOrderWithoutDuplicates(bool directConnections)
    {
        // The store fsyncs every write, so a kill loses nothing it acknowledged; what it applied
        // without acknowledging must not be applied twice, and no flush may overtake an older one.
        await using var redis = await RedisServer.StartAsync();
        var settings = WriterPath(directConnections);
        settings["Writer:FlushPoints"] = "400";
        settings["Writer:BatchSize"] = "100";
        settings["Writer:MaxInFlightFlushes"] = "4";
        settings["Writer:MaxRetryDelay"] = "00:00:00.200";
        await using var host = await HorizonHost.StartAsync(redis.ConnectionString, settings);
        const int names = 200, rounds = 150;
        var start = Now - rounds - 5;
        var sender = StreamRoundsAsync(host.Endpoint("plaintext"), "order", names, rounds, start);

        await Task.Delay(800, TestContext.Current.CancellationToken);
        await redis.KillAsync();
        await Task.Delay(700, TestContext.Current.CancellationToken);
        await redis.RestartAsync();
        await sender;

        await WaitUntilAsync(() => Task.FromResult(host.WriterMetrics.PointsStored.WithLabels("plaintext").Value >= names * rounds), "every point stored after the restart", 60);
        var expected = Enumerable.Range(0, rounds).Select(j => start + j).ToList();
        var disordered = new List<string>();
        for (var i = 0; i < names; i++)
        {
            var series = (await ReadSeriesAsync(host.Db, $"order.m{i}")).Select(p => p.Ts).ToList();
            if (!series.SequenceEqual(expected))
            {
                disordered.Add($"order.m{i}: {string.Join(',', series.Zip(series.Skip(1)).Where(p => p.Second <= p.First).Take(3).Select(p => $"{p.First - start}->{p.Second - start}"))} ({series.Count} points)");
            }
        }
        Assert.True(disordered.Count == 0, $"{disordered.Count} series out of order or with duplicates, e.g. {string.Join("; ", disordered.Take(5))}");
        Assert.True(host.WriterMetrics.WriteErrors.WithLabels("retried").Value > 0, "the outage should have made writes fail and be retried");
        Assert.Equal(0, host.WriterMetrics.PointsDropped.WithLabels("plaintext", "store_error").Value);
        Assert.Equal(names, (await UniqueMetricsAsync(host.Db)).Count(n => n.StartsWith("metrics.order.", StringComparison.Ordinal)));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task WritesTheStoreAppliedButNeverAcknowledgedAreNotAppliedTwice(bool directConnections)
    {
        // Commands reach the store, their replies are lost and the connection is cut: the writer
        // must find its points already at the keys' tails instead of appending them again.
        await using var redis = await RedisServer.StartAsync();
        await using var proxy = FaultyProxy.Start(redis.Port);
        var settings = WriterPath(directConnections);
        settings["Writer:FlushPoints"] = "300";
        settings["Writer:BatchSize"] = "100";
        settings["Writer:MaxRetryDelay"] = "00:00:00.200";
        await using var host = await HorizonHost.StartAsync($"127.0.0.1:{proxy.Port}", settings);
        const int names = 100, rounds = 100;
        var start = Now - rounds - 5;
        var sender = StreamRoundsAsync(host.Endpoint("plaintext"), "lost", names, rounds, start);

        await Task.Delay(600, TestContext.Current.CancellationToken);
        proxy.HoldReplies = true;
        await Task.Delay(300, TestContext.Current.CancellationToken);
        Assert.True(proxy.CutAll() > 0);
        proxy.HoldReplies = false;
        await sender;

        await WaitUntilAsync(() => Task.FromResult(host.WriterMetrics.PointsStored.WithLabels("plaintext").Value >= names * rounds), "every point stored after the cut", 60);
        await using var direct = await redis.ConnectAsync();
        var expected = Enumerable.Range(0, rounds).Select(j => (start + j, (double)j)).ToList();
        for (var i = 0; i < names; i++)
        {
            Assert.Equal(expected, await ReadSeriesAsync(direct.GetDatabase(), $"lost.m{i}"));
        }
        Assert.True(host.WriterMetrics.WriteResendsSkipped.Value > 0, "some writes should have been found applied");
        Assert.Equal(names, (await UniqueMetricsAsync(direct.GetDatabase())).Count(n => n.StartsWith("metrics.lost.", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task PublishingFindingsToAStoreThatWentAwayGivesUpAfterOneFailure()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var host = await HorizonHost.StartAsync(redis.ConnectionString);
        var publisher = new AnomalyPublisher(host.Store, new AnalyzerOptions { AnomaliesFile = "" }, new Shard(0, 1));
        await redis.KillAsync();
        // 3,000 findings are three batches of writes; each would wait out the store's timeout.
        var found = Channel.CreateUnbounded<AnomalyRecord>();
        for (var i = 0; i < 3000; i++)
        {
            found.Writer.TryWrite(new AnomalyRecord($"gone.m{i}", 100, 1, 6, 6, ["grubbs"], 100));
        }
        found.Writer.TryComplete();
        var failures = 0;
        await publisher.PublishAsFoundAsync(found.Reader, _ => failures++);
        Assert.Equal(1, failures);
        Assert.Equal(0, found.Reader.Count);
    }

    [Fact]
    public async Task AStoreThatComesBackEmptyGetsItsUniqueSetRebuilt()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var host = await HorizonHost.StartAsync(redis.ConnectionString);
        await SendTcpAsync(host.Endpoint("plaintext"), $"rebuilt.name 1 {Now}\n");
        await WaitUntilAsync(async () => (await UniqueMetricsAsync(host.Db)).Contains("metrics.rebuilt.name"), "name in the set");

        await redis.KillAsync();
        foreach (var file in Directory.GetFileSystemEntries(redis.Directory))
        {
            if (Directory.Exists(file))
            {
                Directory.Delete(file, recursive: true);
            }
            else
            {
                File.Delete(file);
            }
        }
        await redis.RestartAsync();
        await WaitUntilAsync(() => Task.FromResult(host.Store.Multiplexer.IsConnected), "reconnected");

        await SendTcpAsync(host.Endpoint("plaintext"), $"rebuilt.name 2 {Now}\n");
        await WaitUntilAsync(async () => (await UniqueMetricsAsync(host.Db)).Contains("metrics.rebuilt.name"), "name added to the set again");
    }

    [Fact]
    public async Task SigtermStoresEveryAcceptedPointBeforeTheProcessExits()
    {
        await using var redis = await RedisServer.StartAsync();
        int plaintext = RedisServer.FreePort(), web = RedisServer.FreePort(), statsd = RedisServer.FreePort();
        var output = new StringBuilder();
        using var process = StartHorizon(
        [
            "ingest", "--redis", $"127.0.0.1:{redis.Port}",
            $"--Listeners:Plaintext:Port={plaintext}", "--Listeners:Pickle:Enabled=false", "--Listeners:Msgpack:Enabled=false",
            "--Listeners:StatsdTcp:Enabled=false", $"--Listeners:StatsdUdp:Port={statsd}", $"--Web:Port={web}",
            "--Listeners:StatsdAdmin:Port=0", "--Statsd:FlushInterval=00:10:00", "--Roomba:Enabled=false",
        ], output);
        try
        {
            using var http = new HttpClient();
            await WaitUntilAsync(async () =>
            {
                try
                {
                    return (await http.GetAsync($"http://127.0.0.1:{web}/health")).IsSuccessStatusCode;
                }
                catch (HttpRequestException)
                {
                    return false;
                }
            }, "horizon to start", 60);

            // Points are accepted while the store is paused, so they are still buffered at SIGTERM.
            await using (var admin = await redis.ConnectAsync())
            {
                await admin.GetServers()[0].ExecuteAsync("CLIENT", "PAUSE", "3000", "WRITE");
            }
            const int names = 200, perName = 50;
            await SendTcpAsync(new IPEndPoint(IPAddress.Loopback, plaintext), Lines(names, perName, Now));
            await SendUdpAsync(new IPEndPoint(IPAddress.Loopback, statsd), "shutdown.flushed:7|c"u8.ToArray());
            await WaitUntilAsync(async () =>
            {
                var scraped = await http.GetStringAsync($"http://127.0.0.1:{web}/metrics");
                return scraped.Contains($"horizon_points_received_total{{listener=\"plaintext\"}} {names * perName}", StringComparison.Ordinal)
                    && scraped.Contains("horizon_points_received_total{listener=\"statsd_udp\"} 1", StringComparison.Ordinal);
            }, "the points to be accepted");

            using (var kill = Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                await kill.WaitForExitAsync(TestContext.Current.CancellationToken);
            }
            using var exit = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            await process.WaitForExitAsync(exit.Token);
            Assert.True(process.ExitCode == 0, $"exit code {process.ExitCode}: {output}");

            await using var check = await redis.ConnectAsync();
            var db = check.GetDatabase();
            Assert.Equal(names * perName, await CountStoredPointsAsync(db, names));
            Assert.Equal(7, Assert.Single(await ReadSeriesAsync(db, "stats_counts.shutdown.flushed")).Value);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill();
            }
        }
    }

    [Fact]
    public async Task AKillOfTheEmbeddedStoreLosesOnlyTheLastMomentAndLeavesEverySeriesIndexed()
    {
        // The README's promise: a crash loses at most the points accepted in the second before it,
        // and every series that holds points is in metrics.unique_metrics afterwards. A burst of
        // 20,000 new names just before the kill is when names used to go missing.
        var options = new FaultOptions(Seconds: 3, Rate: 20_000, Names: 20_000, CrashWindow: 1.0);
        for (var trial = 0; trial < 2; trial++)
        {
            var report = await Scenarios.HostKillAsync(options, embedded: true);
            Assert.True(report.Passed, $"{report.Expectation}: {FaultReport.Header}\n{report.Row()}");
            Assert.True(report.Audit.Stored > report.Audit.Sent / 2, report.Row());
        }
    }

    [Fact]
    public async Task WhenTheEmbeddedStoresDiskFillsWritesPauseAndNothingIsLostOnceThereIsRoom()
    {
        // Needs root, as the CI runs: the data directory is a tmpfs mounted (and grown) here.
        Assert.True(Environment.UserName == "root", "mounting a tmpfs for the data directory needs root (./test.sh runs as root in CI)");
        var report = await Scenarios.DiskFullAsync(new FaultOptions(Seconds: 20, Rate: 20_000));
        Assert.True(report.Passed, $"{report.Expectation}: {report.Row()}");
        Assert.Contains("writes paused", report.Notes, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheEmbeddedStoreKeepsItsSeriesAcrossRestarts()
    {
        var data = Path.Combine(Path.GetTempPath(), "horizon-persist-" + Guid.NewGuid().ToString("N"));
        try
        {
            var now = Now;
            await using (var first = await HorizonHost.StartAsync(null, dataDirectory: data))
            {
                Assert.Equal(0, first.Store.SeriesAtStart);
                await SendTcpAsync(first.Endpoint("plaintext"), $"persisted.metric 1 {now - 10}\npersisted.metric 2.5 {now}\n");
                await WaitUntilAsync(() => Task.FromResult(first.WriterMetrics.PointsStored.WithLabels("plaintext").Value == 2), "stored");
            }
            await using var second = await HorizonHost.StartAsync(null, dataDirectory: data);
            Assert.Equal([(now - 10, 1.0), (now, 2.5)], await ReadSeriesAsync(second.Db, "persisted.metric"));
            // What the start-up log and /api/status report as recovered.
            Assert.Equal(1, second.Store.SeriesAtStart);
            Assert.Contains("metrics.persisted.metric", await UniqueMetricsAsync(second.Db));
        }
        finally
        {
            Directory.Delete(data, recursive: true);
        }
    }
}
