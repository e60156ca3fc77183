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
        await WaitUntilAsync(() => Task.FromResult(host.Metrics.PointsStored.WithLabels("plaintext").Value == names * perName), "every point stored", 120);
        Assert.Equal(names * perName, await CountStoredPointsAsync(host.Db, names));
        Assert.Equal(0, host.Metrics.PointsDropped.WithLabels("plaintext", "shutdown").Value);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task ARedisRestartInTheMiddleOfAStreamLosesNothing(bool directConnections)
    {
        await using var redis = await RedisServer.StartAsync();
        await using var host = await HorizonHost.StartAsync(redis.ConnectionString, WriterPath(directConnections));
        const int names = 50, rounds = 40;
        var now = Now;
        var sender = Task.Run(async () =>
        {
            using var client = new TcpClient();
            await client.ConnectAsync(host.Endpoint("plaintext"));
            var stream = client.GetStream();
            for (var j = 0; j < rounds; j++)
            {
                var sb = new StringBuilder();
                for (var i = 0; i < names; i++)
                {
                    sb.Append("fault.m").Append(i).Append(' ').Append(j).Append(' ').Append(now - rounds + j).Append('\n');
                }
                await stream.WriteAsync(Encoding.ASCII.GetBytes(sb.ToString()));
                await Task.Delay(100);
            }
        }, TestContext.Current.CancellationToken);

        await Task.Delay(1000, TestContext.Current.CancellationToken);
        await redis.KillAsync();
        await Task.Delay(1500, TestContext.Current.CancellationToken);
        await redis.RestartAsync();
        await sender;

        await WaitUntilAsync(() => Task.FromResult(host.Metrics.PointsStored.WithLabels("plaintext").Value >= names * rounds), "every point stored after the restart", 60);
        for (var i = 0; i < names; i++)
        {
            var series = await ReadSeriesAsync(host.Db, $"fault.m{i}");
            // At-least-once: a write the store applied but could not acknowledge is sent again;
            // Roomba later removes such duplicate timestamps. None may be missing.
            Assert.Equal(Enumerable.Range(0, rounds).Select(j => now - rounds + j), series.Select(p => p.Ts).Distinct().Order());
        }
        Assert.True(host.Metrics.WriteErrors.WithLabels("retried").Value > 0, "the outage should have made writes fail and be retried");
        Assert.Equal(0, host.Metrics.PointsDropped.WithLabels("plaintext", "store_error").Value);
        Assert.Contains("metrics.fault.m0", await UniqueMetricsAsync(host.Db));
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
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetTempPath(),
        };
        foreach (var arg in new[]
        {
            Path.Combine(AppContext.BaseDirectory, "horizon.dll"), "ingest", "--redis", $"127.0.0.1:{redis.Port}",
            $"--Listeners:Plaintext:Port={plaintext}", "--Listeners:Pickle:Enabled=false", "--Listeners:Msgpack:Enabled=false",
            "--Listeners:StatsdTcp:Enabled=false", $"--Listeners:StatsdUdp:Port={statsd}", $"--Web:Port={web}",
            "--Statsd:FlushInterval=00:10:00", "--Roomba:Enabled=false",
        })
        {
            info.ArgumentList.Add(arg);
        }
        var output = new StringBuilder();
        using var process = Process.Start(info)!;
        process.OutputDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
        process.ErrorDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
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
            Assert.Equal(7, Assert.Single(await ReadSeriesAsync(db, "stats.counters.shutdown.flushed.count")).Value);
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
    public async Task TheEmbeddedStoreKeepsItsSeriesAcrossRestarts()
    {
        var data = Path.Combine(Path.GetTempPath(), "horizon-persist-" + Guid.NewGuid().ToString("N"));
        try
        {
            var now = Now;
            await using (var first = await HorizonHost.StartAsync(null, dataDirectory: data))
            {
                await SendTcpAsync(first.Endpoint("plaintext"), $"persisted.metric 1 {now - 10}\npersisted.metric 2.5 {now}\n");
                await WaitUntilAsync(() => Task.FromResult(first.Metrics.PointsStored.WithLabels("plaintext").Value == 2), "stored");
            }
            await using var second = await HorizonHost.StartAsync(null, dataDirectory: data);
            Assert.Equal([(now - 10, 1.0), (now, 2.5)], await ReadSeriesAsync(second.Db, "persisted.metric"));
            Assert.Contains("metrics.persisted.metric", await UniqueMetricsAsync(second.Db));
        }
        finally
        {
            Directory.Delete(data, recursive: true);
        }
    }
}
