using System.Net.Http.Json;
using System.Text.Json;
using Horizon.Analyzer;
using Horizon.Core;
using Microsoft.Extensions.DependencyInjection;
using static Horizon.Integration.Tests.AnalyzerTests;
using static Horizon.Integration.Tests.TestSupport;

namespace Horizon.Integration.Tests;

/// <summary>Analyzers with <c>Analyzer:Shard=auto</c> on one real redis-server: they split the
/// metrics by their leases, a joining one takes its share without restarting the others, a dead one
/// (its lease not renewed) has its share taken over, and /api/analyzers shows each.</summary>
public sealed class ShardLeaseTests
{
    private const int Metrics = 300;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static Dictionary<string, string?> Auto(string member) => new()
    {
        ["Analyzer:Shard"] = "auto",
        ["Analyzer:MemberId"] = member,
        ["Analyzer:LeaseTimeout"] = "00:00:03",
        ["Analyzer:MinPassInterval"] = "00:00:00.5",
    };

    // What each analyzer owned in its last pass, once every listed one has passed since `after`.
    private static async Task<int[]> OwnedAfterAsync(long after, params AnalyzerService[] analyzers)
    {
        await WaitUntilAsync(() => Task.FromResult(analyzers.All(a => a.LastPass is { } p && p.FinishedAt > after + 1)), "a pass of every analyzer after the change", 30);
        return [.. analyzers.Select(a => a.LastPass!.Metrics)];
    }

    [Fact]
    public async Task AutoShardsSplitTheMetricsTakeInAJoinerAndTakeOverADeadMembersShare()
    {
        await using var redis = await RedisServer.StartAsync();
        await using (var mux = await redis.ConnectAsync())
        {
            var db = mux.GetDatabase();
            for (var i = 0; i < Metrics; i++)
            {
                await SeedAsync(db, $"lease.m{i}", Day(Now, j => j % 7, points: 60));
            }
        }
        await using var a = await HorizonHost.StartAsync(redis.ConnectionString, Auto("analyzer-a"), role: Horizon.HorizonRole.Analyze);
        var analyzerA = a.Services.GetRequiredService<AnalyzerService>();
        await WaitUntilAsync(() => Task.FromResult(analyzerA.LastPass?.Metrics == Metrics), "the first analyzer judging everything alone");

        // A second joins: the two split the metrics with no overlap, and A was not restarted.
        var joined = Now;
        await using var b = await HorizonHost.StartAsync(redis.ConnectionString, Auto("analyzer-b"), role: Horizon.HorizonRole.Analyze);
        var analyzerB = b.Services.GetRequiredService<AnalyzerService>();
        var split = await OwnedAfterAsync(joined, analyzerA, analyzerB);
        Assert.Equal(Metrics, split.Sum());
        Assert.InRange(split[0], 90, 210);
        var share = Shard.Auto("analyzer-a", ["analyzer-b"]);
        Assert.Equal(Enumerable.Range(0, Metrics).Count(i => share.Owns($"metrics.lease.m{i}")), split[0]);

        // A third member appears and then dies without leaving (its lease stops being renewed):
        // while it lives the two judge only their share; after its lease, everything again.
        await using (var mux = await redis.ConnectAsync())
        {
            var ghost = new AnalyzerMember("analyzer-c", "elsewhere", 1, Now, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() + 6000, 0, 0);
            await mux.GetDatabase().HashSetAsync(StoreKeys.Analyzers, ghost.Member, JsonSerializer.Serialize(ghost, AnalyzerMembership.Json));
        }
        var appeared = Now;
        var three = await OwnedAfterAsync(appeared, analyzerA, analyzerB);
        Assert.InRange(Metrics - three.Sum(), 50, 150); // the ghost's share, judged by nobody for now
        var web = $"http://{a.Endpoint("web")}";
        var state = await new HttpClient().GetFromJsonAsync<JsonElement>($"{web}/api/analyzers", Ct);
        Assert.Equal(["analyzer-a", "analyzer-b", "analyzer-c"], state.GetProperty("members").EnumerateArray().Select(m => m.GetProperty("member").GetString()));
        Assert.True(state.GetProperty("members")[0].GetProperty("alive").GetBoolean());

        await WaitUntilAsync(async () => !(await new HttpClient().GetFromJsonAsync<JsonElement>($"{web}/api/analyzers", Ct))
            .GetProperty("members").EnumerateArray().Single(m => m.GetProperty("member").GetString() == "analyzer-c").GetProperty("alive").GetBoolean(), "the ghost's lease to lapse", 25);
        var lapsed = Now;
        Assert.Equal(Metrics, (await OwnedAfterAsync(lapsed, analyzerA, analyzerB)).Sum());

        // B stops cleanly: it removes its lease, and A takes everything on its next passes.
        await b.StopAsync();
        var left = Now;
        Assert.Equal(Metrics, (await OwnedAfterAsync(left, analyzerA))[0]);
        Assert.Equal(1, Scraped(await a.ScrapeAsync(), "horizon_analyzer_members"));
        // It left no lease and no pass behind for the page to warn about.
        var after = await new HttpClient().GetFromJsonAsync<JsonElement>($"{web}/api/analyzers", Ct);
        Assert.DoesNotContain(after.GetProperty("members").EnumerateArray(), m => m.GetProperty("member").GetString() == "analyzer-b");
        Assert.False(after.GetProperty("passes").TryGetProperty("auto:analyzer-b", out _));
        Assert.True(after.GetProperty("passes").TryGetProperty("auto:analyzer-a", out _));
    }

    [Fact]
    public void AMemberJoiningTakesOnlyItsShareAndEveryNameHasExactlyOneOwner()
    {
        string[] three = ["a", "b", "c"], four = ["a", "b", "c", "d"];
        var keys = Enumerable.Range(0, 20_000).Select(i => $"metrics.app{i % 97}.host{i}.requests").ToList();
        string Owner(string[] members, string key) => members.Single(m => Shard.Auto(m, members).Owns(key));
        var before = keys.ToDictionary(k => k, k => Owner(three, k));
        var after = keys.ToDictionary(k => k, k => Owner(four, k));
        // Every key moved went to the joiner; none moved between the others.
        Assert.All(keys.Where(k => before[k] != after[k]), k => Assert.Equal("d", after[k]));
        Assert.InRange(after.Values.Count(o => o == "d"), 4_500, 5_500);
        foreach (var m in three)
        {
            Assert.InRange(before.Values.Count(o => o == m), 6_200, 7_100);
        }
    }
}
