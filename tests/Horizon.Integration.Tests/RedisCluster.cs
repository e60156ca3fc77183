using System.Diagnostics;
using StackExchange.Redis;

namespace Horizon.Integration.Tests;

/// <summary>A real three-master Redis Cluster on loopback (redis-server in cluster mode, joined
/// with redis-cli --cluster create), for the tests that prove Horizon works on a cluster.</summary>
public abstract class RedisClusterBase(int replicas) : IAsyncLifetime
{
    private readonly List<RedisServer> _nodes = [];

    /// <summary>The nodes.</summary>
    public IReadOnlyList<RedisServer> Nodes => _nodes;

    /// <summary>All nodes, as a StackExchange.Redis connection string.</summary>
    public string ConnectionString => string.Join(',', _nodes.Select(n => $"127.0.0.1:{n.Port}"));

    /// <inheritdoc />
    public async ValueTask InitializeAsync()
    {
        for (var i = 0; i < 3 * (1 + replicas); i++)
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
        create.ArgumentList.Add(replicas.ToString(System.Globalization.CultureInfo.InvariantCulture));
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

    /// <summary>Promotes a replica with CLUSTER FAILOVER (the coordinated kind: its master stops
    /// taking writes until the replica has caught up, then they swap) and waits until every node
    /// agrees. Returns the old master's port.</summary>
    public async Task<int> FailOverAsync()
    {
        var replica = 0;
        foreach (var n in _nodes)
        {
            if (await ReplicationAsync(n.Port) is { } info && info.Contains("role:slave", StringComparison.Ordinal))
            {
                replica = n.Port;
                break;
            }
        }
        if (replica == 0)
        {
            throw new InvalidOperationException("no replica to promote");
        }
        await using var promote = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{replica},allowAdmin=true");
        var server = promote.GetServers()[0];
        var deadline = DateTime.UtcNow.AddSeconds(60);
        var masterPort = 0;
        // A replica takes a manual failover only once its link to the master is up (a new
        // cluster's replicas are still syncing); a failover not done in 10 s is asked again.
        while (DateTime.UtcNow < deadline)
        {
            var info = (string?)await server.ExecuteAsync("INFO", "replication") ?? "";
            if (info.Contains("role:master", StringComparison.Ordinal) && masterPort != 0)
            {
                return masterPort;
            }
            if (info.Contains("master_link_status:up", StringComparison.Ordinal))
            {
                masterPort = int.Parse(info.Split('\n').First(l => l.StartsWith("master_port:", StringComparison.Ordinal))["master_port:".Length..].Trim(), System.Globalization.CultureInfo.InvariantCulture);
                await server.ExecuteAsync("CLUSTER", "FAILOVER");
                var asked = DateTime.UtcNow;
                while (DateTime.UtcNow - asked < TimeSpan.FromSeconds(10)
                    && ((string?)await server.ExecuteAsync("INFO", "replication"))?.Contains("role:master", StringComparison.Ordinal) != true)
                {
                    await Task.Delay(100);
                }
                continue;
            }
            await Task.Delay(100);
        }
        throw new TimeoutException("the replica was not promoted");
    }

    /// <summary>Kills a master that has a replica (SIGKILL: no hand-over) and waits until the
    /// cluster has promoted the replica (after cluster-node-timeout). Returns the killed port.</summary>
    public async Task<int> KillMasterAsync()
    {
        // A replica fails over only with data recent enough, so the master killed is one whose
        // replica's link is up (a new cluster's replicas may still be in their first sync).
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            foreach (var n in _nodes)
            {
                if (await ReplicationAsync(n.Port) is not { } info || !info.Contains("role:slave", StringComparison.Ordinal)
                    || !info.Contains("master_link_status:up", StringComparison.Ordinal))
                {
                    continue;
                }
                var masterPort = int.Parse(info.Split('\n').First(l => l.StartsWith("master_port:", StringComparison.Ordinal))["master_port:".Length..].Trim(), System.Globalization.CultureInfo.InvariantCulture);
                await _nodes.First(m => m.Port == masterPort).KillAsync();
                while (DateTime.UtcNow < deadline.AddSeconds(30))
                {
                    if ((await ReplicationAsync(n.Port))?.Contains("role:master", StringComparison.Ordinal) == true)
                    {
                        return masterPort;
                    }
                    await Task.Delay(200);
                }
                throw new TimeoutException("the replica of the killed master was not promoted");
            }
            await Task.Delay(200);
        }
        throw new InvalidOperationException("no replica with its link to its master up");
    }

    // INFO replication of a node, or null when it does not answer (a killed one).
    private static async Task<string?> ReplicationAsync(int port)
    {
        try
        {
            await using var mux = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{port},allowAdmin=true,connectTimeout=2000");
            return (string?)await mux.GetServers()[0].ExecuteAsync("INFO", "replication");
        }
        catch (RedisConnectionException)
        {
            return null;
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        GC.SuppressFinalize(this);
        foreach (var n in _nodes)
        {
            await n.DisposeAsync();
        }
    }
}

/// <summary>Three masters, no replicas.</summary>
public sealed class RedisCluster() : RedisClusterBase(0);

/// <summary>Three masters with a replica each.</summary>
public sealed class ReplicatedRedisCluster() : RedisClusterBase(1);
