using System.Globalization;
using System.Text;
using static Horizon.Integration.Tests.TestSupport;

namespace Horizon.Integration.Tests;

/// <summary>A master of a real Redis Cluster (three masters, a replica each) fails over to its
/// replica in the middle of a stream: every accepted point is stored once, in order.</summary>
public sealed class ClusterFailoverTests(ReplicatedRedisCluster cluster) : IClassFixture<ReplicatedRedisCluster>
{
    [Fact]
    public Task AMasterFailingOverMidStreamLosesNoAcceptedPoint() => StreamThroughAsync("failover", cluster.FailOverAsync);

    [Fact]
    public Task AMasterKilledMidStreamIsReplacedAndNoAcceptedPointIsLost() => StreamThroughAsync("killed", cluster.KillMasterAsync);

    private async Task StreamThroughAsync(string prefix, Func<Task<int>> disrupt)
    {
        await using var host = await HorizonHost.StartAsync(cluster.ConnectionString, role: Horizon.HorizonRole.Ingest);
        const int names = 300;
        var start = Now - 700;
        Task<int>? failover = null;
        // Points keep coming until ten rounds after the promotion, so it lands mid-stream.
        var rounds = 0;
        var after = 0;
        for (var r = 0; r < 700 && after < 10; r++, rounds++)
        {
            if (failover is { IsCompleted: true })
            {
                after++;
            }
            var text = new StringBuilder();
            for (var i = 0; i < names; i++)
            {
                text.Append(CultureInfo.InvariantCulture, $"{prefix}.m{i} {r} {start + r}\n");
            }
            await SendTcpAsync(host.Endpoint("plaintext"), text.ToString());
            if (r == 10)
            {
                failover = disrupt();
            }
            await Task.Delay(100, TestContext.Current.CancellationToken);
        }
        Assert.Equal(10, after);
        var oldMaster = await failover!;
        await WaitUntilAsync(() => Task.FromResult(host.WriterMetrics.PointsStored.WithLabels("plaintext").Value == names * rounds), "every point stored", 90);
        for (var i = 0; i < names; i++)
        {
            var series = await ReadSeriesAsync(host.Db, $"{prefix}.m{i}");
            Assert.True(series.Select(p => p.Value).SequenceEqual(Enumerable.Range(0, rounds).Select(r => (double)r)),
                $"{prefix}.m{i}: {string.Join(' ', series.Select(p => p.Value))} (the old master was 127.0.0.1:{oldMaster})");
        }
        Assert.Equal(names, (await UniqueMetricsAsync(host.Db)).Count(k => k.StartsWith($"metrics.{prefix}.", StringComparison.Ordinal)));
    }
}
