using Horizon.Storage;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;
using static Horizon.Integration.Tests.TestSupport;

namespace Horizon.Integration.Tests;

public sealed class ClusterTests(RedisCluster cluster) : IClassFixture<RedisCluster>
{
    [Fact]
    public async Task SeriesSpreadOverClusterNodesAreWrittenAndTrimmed()
    {
        await using var host = await HorizonHost.StartAsync(cluster.ConnectionString);
        var now = Now;
        const int names = 300;
        var lines = string.Concat(Enumerable.Range(0, names).Select(i => $"cluster.m{i} {i} {now - 5}\ncluster.m{i} {i + 1} {now}\n"));
        await SendTcpAsync(host.Endpoint("plaintext"), lines);
        await WaitUntilAsync(() => Task.FromResult(host.WriterMetrics.PointsStored.WithLabels("plaintext").Value == 2 * names), "every point stored");

        // The keys really are spread: every master holds some.
        var perNode = new List<long>();
        foreach (var server in host.Store.Multiplexer.GetServers().Where(s => !s.IsReplica))
        {
            perNode.Add(await server.DatabaseSizeAsync());
        }
        Assert.Equal(3, perNode.Count);
        Assert.All(perNode, n => Assert.True(n > 10, $"keys per node: {string.Join(", ", perNode)}"));
        for (var i = 0; i < names; i += 37)
        {
            Assert.Equal([(now - 5, (double)i), (now, i + 1.0)], await ReadSeriesAsync(host.Db, $"cluster.m{i}"));
        }
        Assert.Equal(names, (await UniqueMetricsAsync(host.Db)).Count);

        // Roomba's script runs on whichever node owns each key.
        for (var i = 0; i < 30; i++)
        {
            await host.Db.StringAppendAsync($"metrics.cluster.m{i}", Encoding((now - 100_000, -1)));
            await host.Db.KeyDeleteAsync($"metrics.cluster.gone{i}");
            await host.Db.SetAddAsync("metrics.unique_metrics", $"metrics.cluster.gone{i}");
        }
        var roomba = host.Services.GetRequiredService<Roomba>();
        foreach (var i in Enumerable.Range(0, 30))
        {
            await host.Db.StringSetAsync($"metrics.cluster.old{i}", Encoding((now - 100_000, 1), (now - 99_000, 2)));
            await host.Db.SetAddAsync("metrics.unique_metrics", $"metrics.cluster.old{i}");
        }
        var pass = await roomba.RunPassAsync(TestContext.Current.CancellationToken);
        Assert.Equal((30, 30), (pass.Deleted, pass.Missing));
        Assert.Equal(names, (await UniqueMetricsAsync(host.Db)).Count);
    }

    private static byte[] Encoding(params (long Ts, double Value)[] points)
    {
        var buffer = new byte[points.Length * Core.Series.SeriesCodec.MaxPointSize];
        var n = 0;
        foreach (var (ts, v) in points)
        {
            n += Core.Series.SeriesCodec.WritePoint(buffer.AsSpan(n), ts, v);
        }
        return buffer[..n];
    }
}
