using System.Diagnostics;
using System.Globalization;
using Horizon.Analyzer;
using Horizon.Core;
using Horizon.Core.Series;
using Horizon.Storage;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;
using static Horizon.Integration.Tests.TestSupport;

namespace Horizon.Integration.Tests;

/// <summary><c>Series:NameIndex=Split</c> on a real Redis Cluster (3 masters, a replica each): names go to the 64 sets
/// their hash slots pick, spread over every master, with no <c>metrics.unique_metrics</c>; two
/// analyzers (one in this process, one a real horizon process) share them by lease, and when the
/// process is killed its share is taken over; Roomba removes a deleted series from its set; Both
/// keeps Skyline's set as well; and a store written in Skyline's layout is indexed in the split sets
/// by Roomba's first pass when Horizon starts with Both.</summary>
public sealed class SplitNameIndexTests(ReplicatedRedisCluster cluster) : IClassFixture<ReplicatedRedisCluster>
{
    private const int Names = 300;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static Dictionary<string, string?> Settings(string mode, string? member = null)
    {
        var settings = new Dictionary<string, string?> { ["Series:NameIndex"] = mode };
        if (member is not null)
        {
            settings["Analyzer:Shard"] = "auto";
            settings["Analyzer:MemberId"] = member;
            settings["Analyzer:LeaseTimeout"] = "00:00:03";
            settings["Analyzer:MinPassInterval"] = "00:00:00.5";
        }
        return settings;
    }

    private static string Lines(string prefix, long now) =>
        string.Concat(Enumerable.Range(0, Names).SelectMany(i => Enumerable.Range(0, 40).Select(j => $"{prefix}.m{i} {(i + j) % 7} {now - 800 + (20 * j)}\n")));

    // The members of every split set, by set.
    private static async Task<Dictionary<string, HashSet<string>>> PartsAsync(IDatabase db, string fullNamespace = StoreKeys.DefaultNamespace)
    {
        var parts = new Dictionary<string, HashSet<string>>();
        for (var p = 0; p < NameIndex.Parts; p++)
        {
            var key = StoreKeys.NamePart(p, fullNamespace);
            parts[key] = [.. (await db.SetMembersAsync(key)).Select(m => m.ToString())];
        }
        return parts;
    }

    // Each test starts from an empty cluster (the two share it, in either order).
    private async Task FlushAsync()
    {
        await using var admin = await ConnectionMultiplexer.ConnectAsync(cluster.ConnectionString + ",allowAdmin=true");
        foreach (var server in admin.GetServers().Where(s => !s.IsReplica))
        {
            try
            {
                await server.FlushAllDatabasesAsync();
            }
            catch (RedisServerException e) when (e.Message.StartsWith("READONLY", StringComparison.Ordinal))
            {
                // A replica the client did not know to be one yet: its master's flush reaches it.
            }
        }
    }

    [Fact]
    public async Task NamesAreSplitOverTheMastersAndTwoAnalyzersShareThemUntilOneIsKilled()
    {
        await FlushAsync();
        await using var ingest = await HorizonHost.StartAsync(cluster.ConnectionString, Settings("Split"), role: Horizon.HorizonRole.Ingest);
        var now = Now;
        await SendTcpAsync(ingest.Endpoint("plaintext"), Lines("split", now));
        await WaitUntilAsync(() => Task.FromResult(ingest.WriterMetrics.PointsStored.WithLabels("plaintext").Value == Names * 40), "every point stored");

        // Every name in exactly the set its hash slot (as the cluster computes it) picks; none in Skyline's set.
        var db = ingest.Db;
        Assert.False(await db.KeyExistsAsync(StoreKeys.UniqueMetrics()));
        Assert.Equal("split", (string?)await db.StringGetAsync(StoreKeys.NameIndexMark())); // the first process marked the store
        var parts = await PartsAsync(db);
        Assert.Equal(Enumerable.Range(0, Names).Select(i => $"metrics.split.m{i}").Order(StringComparer.Ordinal), parts.Values.SelectMany(p => p).Order(StringComparer.Ordinal));
        await using var admin = await ConnectionMultiplexer.ConnectAsync(cluster.ConnectionString + ",allowAdmin=true");
        var server = admin.GetServers().First(s => !s.IsReplica);
        foreach (var (set, members) in parts)
        {
            foreach (var member in members)
            {
                var slot = (int)await server.ExecuteAsync("CLUSTER", "KEYSLOT", member);
                Assert.Equal(slot, NameIndex.HashSlot(System.Text.Encoding.UTF8.GetBytes(member)));
                Assert.Equal(StoreKeys.NamePart(slot % NameIndex.Parts), set);
            }
        }
        // The sets themselves live on every master.
        var owners = parts.Where(p => p.Value.Count > 0).Select(p => db.IdentifyEndpoint(p.Key)?.ToString()).Distinct().ToList();
        Assert.Equal(3, owners.Count);

        // Two analyzers: this process's and a real horizon process, sharing the names by lease.
        await using var a = await HorizonHost.StartAsync(cluster.ConnectionString, Settings("Split", "analyzer-a"), role: Horizon.HorizonRole.Analyze);
        var analyzerA = a.Services.GetRequiredService<AnalyzerService>();
        await WaitUntilAsync(() => Task.FromResult(analyzerA.LastPass?.Metrics == Names), "analyzer A judging every name alone");
        using var b = StartAnalyzerProcess("analyzer-b", out var output);
        try
        {
            var share = Shard.Auto("analyzer-a", ["analyzer-b"]);
            var mine = Enumerable.Range(0, Names).Count(i => share.Owns($"metrics.split.m{i}"));
            Assert.InRange(mine, 90, 210);
            await WaitUntilAsync(() => Task.FromResult(analyzerA.LastPass?.Metrics == mine), $"analyzer A judging only its share once B joined ({output})", 60);
            var bPass = await WaitForPassAsync(db, "auto:analyzer-b");
            Assert.Equal(Names - mine, bPass);

            // B is killed: no clean leave. Once its lease lapses (3 s), A judges everything again.
            b.Kill();
            await b.WaitForExitAsync(Ct);
            var killed = Now;
            await WaitUntilAsync(() => Task.FromResult(analyzerA.LastPass is { } p && p.FinishedAt > killed + 3 && p.Metrics == Names), "A taking over the killed analyzer's share", 30);
        }
        finally
        {
            if (!b.HasExited)
            {
                b.Kill();
            }
        }

        // Roomba: a deleted series leaves its set.
        await db.KeyDeleteAsync("metrics.split.m7");
        var pass = await ingest.Services.GetRequiredService<Roomba>().RunPassAsync(Ct);
        Assert.Equal(1, pass.Missing);
        var after = await PartsAsync(db);
        Assert.Equal(Names - 1, after.Values.Sum(p => p.Count));
        Assert.DoesNotContain(after.Values, p => p.Contains("metrics.split.m7"));
    }

    [Fact]
    public async Task BothKeepsSkylinesSetAndSplitIndexesAStoreWrittenInSkylinesLayout()
    {
        await FlushAsync();
        var now = Now;
        // Written by a Skyline-layout Horizon: every name in metrics.unique_metrics only.
        await using (var skyline = await HorizonHost.StartAsync(cluster.ConnectionString, Settings("Skyline"), role: Horizon.HorizonRole.Ingest))
        {
            await SendTcpAsync(skyline.Endpoint("plaintext"), Lines("legacy", now));
            await WaitUntilAsync(() => Task.FromResult(skyline.WriterMetrics.PointsStored.WithLabels("plaintext").Value == Names * 40), "every legacy point stored");
            Assert.Equal(Names, (await UniqueMetricsAsync(skyline.Db)).Count(n => n.StartsWith("metrics.legacy.", StringComparison.Ordinal)));
            Assert.DoesNotContain((await PartsAsync(skyline.Db)).Values.SelectMany(p => p), n => n.StartsWith("metrics.legacy.", StringComparison.Ordinal));
            Assert.Equal("skyline", (string?)await skyline.Db.StringGetAsync(StoreKeys.NameIndexMark()));
        }

        // Started with Both: Roomba's first pass reconciles the keyspace with the index, which
        // puts the legacy names in the split sets too; new names go to both.
        await using var both = await HorizonHost.StartAsync(cluster.ConnectionString, Settings("Both"), role: Horizon.HorizonRole.Ingest);
        Assert.Equal("skyline", (string?)await both.Db.StringGetAsync(StoreKeys.NameIndexMark())); // not yet moved
        var pass = await both.Services.GetRequiredService<Roomba>().RunPassAsync(Ct);
        Assert.Equal(Names, pass.Indexed);
        Assert.Equal("both", (string?)await both.Db.StringGetAsync(StoreKeys.NameIndexMark())); // Roomba moved the store
        Assert.Equal(Names, pass.Scanned); // and the pass itself read the split sets
        Assert.Equal(Names, (await PartsAsync(both.Db)).Values.Sum(p => p.Count(n => n.StartsWith("metrics.legacy.", StringComparison.Ordinal))));
        await SendTcpAsync(both.Endpoint("plaintext"), $"both.new 1 {now}\n");
        await WaitUntilAsync(async () => (await UniqueMetricsAsync(both.Db)).Contains("metrics.both.new"), "a new name in Skyline's set");
        Assert.Contains("metrics.both.new", (await PartsAsync(both.Db))[both.Store.Names.PartOf("metrics.both.new"u8)]);
        Assert.Equal(Names + 1, (await PartsAsync(both.Db)).Values.Sum(p => p.Count));
    }

    // An analyzer as a separate horizon process on the cluster, in auto shard mode.
    private Process StartAnalyzerProcess(string member, out System.Text.StringBuilder output)
    {
        output = new System.Text.StringBuilder();
        return StartHorizon(
        [
            "analyze", "--redis", cluster.ConnectionString,
            "--Series:NameIndex=Split", "--Analyzer:Shard=auto", $"--Analyzer:MemberId={member}", "--Analyzer:LeaseTimeout=00:00:03",
            "--Analyzer:MinPassInterval=00:00:00.5", $"--Analyzer:CacheDirectory={Directory.CreateTempSubdirectory("horizon-split-").FullName}",
            $"--Web:Port={RedisServer.FreePort().ToString(CultureInfo.InvariantCulture)}",
        ], output);
    }

    // The number of metrics in the newest pass summary a shard published.
    private static async Task<int> WaitForPassAsync(IDatabase db, string shard)
    {
        var metrics = -1;
        await WaitUntilAsync(async () =>
        {
            var summary = await db.HashGetAsync(StoreKeys.AnalyzerPasses, shard);
            if (summary.IsNullOrEmpty)
            {
                return false;
            }
            using var json = System.Text.Json.JsonDocument.Parse(summary.ToString());
            metrics = json.RootElement.GetProperty("metrics").GetInt32();
            return true;
        }, $"a pass summary of {shard}", 60);
        return metrics;
    }
}
