using System.Globalization;
using System.Text;
using static Horizon.Integration.Tests.TestSupport;

namespace Horizon.Integration.Tests;

/// <summary>Several ingest nodes behind a real carbon-relay (consistent hashing, pickle), storing
/// into one redis-server: every point stored once and in order, the names spread over both.</summary>
public sealed class IngestNodesTests
{
    [Fact]
    public async Task TwoIngestNodesBehindCarbonRelayStoreEveryPointOnceAndInOrder()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var a = await HorizonHost.StartAsync(redis.ConnectionString, role: HorizonRole.Ingest);
        await using var b = await HorizonHost.StartAsync(redis.ConnectionString, role: HorizonRole.Ingest);
        await using var relay = await CarbonDaemon.StartedAsync(CarbonDaemon.Relay([a.Endpoint("pickle").Port, b.Endpoint("pickle").Port]));

        const int metrics = 1000, points = 5;
        var now = Now;
        var text = new StringBuilder();
        for (var p = 0; p < points; p++)
        {
            for (var m = 0; m < metrics; m++)
            {
                text.Append(CultureInfo.InvariantCulture, $"nodes.host{m % 50:D2}.metric{m:D4} {(m * 10) + p} {now - 60 + (p * 10)}\n");
            }
        }
        await SendTcpAsync(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, relay.LinePort), text.ToString());

        double Stored(HorizonHost h) => h.WriterMetrics.PointsStored.WithLabels("pickle").Value;
        await WaitUntilAsync(() => Task.FromResult(Stored(a) + Stored(b) >= metrics * points), "every point stored by one node or the other", 60);
        Assert.Equal(metrics * points, Stored(a) + Stored(b));
        // Consistent hashing spreads the names (each node a good share), and a name always goes to the same node.
        Assert.InRange(Stored(a) / (metrics * points), 0.25, 0.75);
        var db = a.Db;
        for (var m = 0; m < metrics; m++)
        {
            var series = await ReadSeriesAsync(db, $"nodes.host{m % 50:D2}.metric{m:D4}");
            Assert.Equal(Enumerable.Range(0, points).Select(p => (now - 60 + (p * 10L), (double)((m * 10) + p))), series);
        }
        Assert.Equal(metrics, (await UniqueMetricsAsync(db)).Count(n => n.StartsWith("metrics.nodes.", StringComparison.Ordinal)));
    }
}
