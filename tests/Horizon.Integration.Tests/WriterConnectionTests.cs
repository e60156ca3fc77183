using Horizon.Storage;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;
using static Horizon.Integration.Tests.TestSupport;

namespace Horizon.Integration.Tests;

/// <summary>The writer's two ways to the store: its own RESP connections (a single node) and
/// StackExchange.Redis (clusters, TLS, or Writer:DirectConnections=false). Both must store the
/// same bytes and handle the store's refusals and credentials the same way.</summary>
public sealed class WriterConnectionTests(RedisCluster cluster) : IClassFixture<RedisCluster>
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task BothConnectionsStoreEveryPointInOrderAndEveryName(bool direct)
    {
        await using var redis = await RedisServer.StartAsync();
        // Small flushes, several in flight: a key's APPENDs must still reach the store in order.
        var settings = WriterPath(direct);
        settings["Writer:FlushPoints"] = "100";
        settings["Writer:BatchSize"] = "64";
        await using var host = await HorizonHost.StartAsync(redis.ConnectionString, settings);
        Assert.Equal(direct, host.Services.GetRequiredService<SeriesWriter>().UsesDirectConnections);
        var now = Now;
        const int names = 40, perName = 900;
        var lines = string.Concat(Enumerable.Range(0, perName).SelectMany(j => Enumerable.Range(0, names).Select(i => $"conn.m{i} {i + j * 0.5} {now - perName + j}\n")));
        await SendTcpAsync(host.Endpoint("plaintext"), lines);
        await WaitUntilAsync(() => Task.FromResult(host.WriterMetrics.PointsStored.WithLabels("plaintext").Value == names * perName), "every point stored");

        for (var i = 0; i < names; i++)
        {
            Assert.Equal(Enumerable.Range(0, perName).Select(j => (now - perName + j, i + j * 0.5)), await ReadSeriesAsync(host.Db, $"conn.m{i}"));
        }
        Assert.Equal(names, (await UniqueMetricsAsync(host.Db)).Count);
        Assert.Equal(0, host.WriterMetrics.WriteErrors.WithLabels("retried").Value);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task AKeyOfAnotherTypeLosesOnlyItsOwnPoints(bool direct)
    {
        await using var redis = await RedisServer.StartAsync();
        await using var host = await HorizonHost.StartAsync(redis.ConnectionString, WriterPath(direct));
        await host.Db.SetAddAsync("metrics.typed.set", "not a series");
        var now = Now;
        await SendTcpAsync(host.Endpoint("plaintext"), $"typed.set 1 {now}\ntyped.ok 2 {now}\ntyped.set 3 {now}\n");
        await WaitUntilAsync(() => Task.FromResult(host.WriterMetrics.PointsDropped.WithLabels("plaintext", "store_error").Value == 2), "the set's two points dropped");

        Assert.Equal([(now, 2.0)], await ReadSeriesAsync(host.Db, "typed.ok"));
        Assert.Equal(1, host.WriterMetrics.PointsStored.WithLabels("plaintext").Value);
        Assert.Equal(1, host.WriterMetrics.WriteErrors.WithLabels("permanent").Value);
        Assert.Equal(RedisType.Set, await host.Db.KeyTypeAsync("metrics.typed.set"));
    }

    [Fact]
    public async Task DirectConnectionsAuthenticateAndUseTheConfiguredDatabase()
    {
        await using var redis = await RedisServer.StartAsync();
        await using (var admin = await redis.ConnectAsync())
        {
            await admin.GetServers()[0].ExecuteAsync("CONFIG", "SET", "requirepass", "s3cret");
        }
        var connection = $"127.0.0.1:{redis.Port},password=s3cret,defaultDatabase=3";
        await using var host = await HorizonHost.StartAsync(connection);
        Assert.True(host.Services.GetRequiredService<SeriesWriter>().UsesDirectConnections);
        var now = Now;
        await SendTcpAsync(host.Endpoint("plaintext"), $"db3.m 7 {now}\n");
        await WaitUntilAsync(() => Task.FromResult(host.WriterMetrics.PointsStored.WithLabels("plaintext").Value == 1), "the point stored");

        await using var check = await ConnectionMultiplexer.ConnectAsync(connection);
        Assert.Equal([(now, 7.0)], await ReadSeriesAsync(check.GetDatabase(3), "db3.m"));
        Assert.False(await check.GetDatabase(0).KeyExistsAsync("metrics.db3.m"));
        Assert.Contains("metrics.db3.m", await UniqueMetricsAsync(check.GetDatabase(3)));
    }

    [Fact]
    public async Task AWrongPasswordIsRetriedUntilItIsFixedAndLosesNothing()
    {
        await using var redis = await RedisServer.StartAsync();
        await using (var admin = await redis.ConnectAsync())
        {
            await admin.GetServers()[0].ExecuteAsync("CONFIG", "SET", "requirepass", "old");
        }
        await using var host = await HorizonHost.StartAsync($"127.0.0.1:{redis.Port},password=new,abortConnect=false");
        var now = Now;
        await SendTcpAsync(host.Endpoint("plaintext"), $"auth.m 1 {now}\n");
        await WaitUntilAsync(() => Task.FromResult(host.WriterMetrics.WriteErrors.WithLabels("retried").Value > 0), "the refused write retried");
        Assert.Equal(0, host.WriterMetrics.PointsStored.WithLabels("plaintext").Value);

        await using (var admin = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{redis.Port},password=old,allowAdmin=true"))
        {
            await admin.GetServers()[0].ExecuteAsync("CONFIG", "SET", "requirepass", "new");
        }
        await WaitUntilAsync(() => Task.FromResult(host.WriterMetrics.PointsStored.WithLabels("plaintext").Value == 1), "the point stored once the password matches");
    }

    [Fact]
    public async Task AClusterReachedThroughOneSeedNodeIsDetectedAndWrittenWhole()
    {
        var seed = cluster.ConnectionString.Split(',')[0];
        await using var host = await HorizonHost.StartAsync(seed);
        var writer = host.Services.GetRequiredService<SeriesWriter>();
        Assert.True(writer.UsesDirectConnections);
        var now = Now;
        const int names = 300;
        await SendTcpAsync(host.Endpoint("plaintext"), string.Concat(Enumerable.Range(0, names).Select(i => $"seeded.m{i} {i} {now}\n")));
        await WaitUntilAsync(() => Task.FromResult(host.WriterMetrics.PointsStored.WithLabels("plaintext").Value == names), "every point stored");

        Assert.False(writer.UsesDirectConnections);
        for (var i = 0; i < names; i += 29)
        {
            Assert.Equal([(now, (double)i)], await ReadSeriesAsync(host.Db, $"seeded.m{i}"));
        }
        Assert.Equal(0, host.WriterMetrics.PointsDropped.WithLabels("plaintext", "store_error").Value);
    }
}
