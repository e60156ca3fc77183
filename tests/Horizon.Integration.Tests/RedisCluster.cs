using System.Diagnostics;
using StackExchange.Redis;

namespace Horizon.Integration.Tests;

/// <summary>A real three-master Redis Cluster on loopback (redis-server in cluster mode, joined
/// with redis-cli --cluster create), for the tests that prove Horizon works on a cluster.</summary>
public sealed class RedisCluster : IAsyncLifetime
{
    private readonly List<RedisServer> _nodes = [];

    /// <summary>All nodes, as a StackExchange.Redis connection string.</summary>
    public string ConnectionString => string.Join(',', _nodes.Select(n => $"127.0.0.1:{n.Port}"));

    /// <inheritdoc />
    public async ValueTask InitializeAsync()
    {
        for (var i = 0; i < 3; i++)
        {
            _nodes.Add(await RedisServer.StartAsync("--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "5000"));
        }
        var create = new ProcessStartInfo(RedisServer.RedisCli) { RedirectStandardOutput = true, RedirectStandardError = true };
        create.ArgumentList.Add("--cluster");
        create.ArgumentList.Add("create");
        foreach (var n in _nodes)
        {
            create.ArgumentList.Add($"127.0.0.1:{n.Port}");
        }
        create.ArgumentList.Add("--cluster-replicas");
        create.ArgumentList.Add("0");
        create.ArgumentList.Add("--cluster-yes");
        using var process = Process.Start(create)!;
        var output = await process.StandardOutput.ReadToEndAsync() + await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException("redis-cli --cluster create failed: " + output);
        }
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            var ok = true;
            foreach (var n in _nodes)
            {
                await using var mux = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{n.Port},allowAdmin=true");
                var info = (string?)await mux.GetServers()[0].ExecuteAsync("CLUSTER", "INFO");
                ok &= info?.Contains("cluster_state:ok", StringComparison.Ordinal) == true;
            }
            if (ok)
            {
                return;
            }
            await Task.Delay(200);
        }
        throw new TimeoutException("the cluster did not reach cluster_state:ok");
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        foreach (var n in _nodes)
        {
            await n.DisposeAsync();
        }
    }
}
