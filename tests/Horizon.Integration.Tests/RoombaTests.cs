using Horizon.Core.Series;
using Horizon.Storage;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;
using static Horizon.Integration.Tests.TestSupport;

namespace Horizon.Integration.Tests;

public abstract class RoombaTests(IStoreUnderTest store)
{
    private static byte[] Points(params (long Ts, double Value)[] points)
    {
        var buffer = new byte[points.Length * SeriesCodec.MaxPointSize];
        var n = 0;
        foreach (var (ts, v) in points)
        {
            n += SeriesCodec.WritePoint(buffer.AsSpan(n), ts, v);
        }
        return buffer[..n];
    }

    private static async Task SeedAsync(IDatabase db, string name, byte[] bytes)
    {
        await db.StringSetAsync("metrics." + name, bytes);
        await db.SetAddAsync("metrics.unique_metrics", "metrics." + name);
    }

    [Fact]
    public async Task RoombaKeepsTheLastFullDurationInTimeOrderWithoutDuplicates()
    {
        await using var host = await store.StartHostAsync();
        var roomba = host.Services.GetRequiredService<Roomba>();
        var now = Now;
        var expired = now - 86400 - 700; // older than FULL_DURATION + the 600 s grace
        await SeedAsync(host.Db, "trim.me", Points(
            (expired, 1), (expired + 60, 2), (now - 300, 3), (now - 120, 4), (now - 180, 5), (now - 120, 6), (now - 60, 7)));
        // A key whose oldest point is recent is left alone (no rewrite on every pass).
        var fresh = Points((now - 100, 1), (now - 100, 1));
        await SeedAsync(host.Db, "fresh", fresh);

        var pass = await roomba.RunPassAsync(TestContext.Current.CancellationToken);

        Assert.Equal(2, pass.Scanned);
        Assert.Equal(1, pass.Trimmed);
        Assert.Equal([(now - 300, 3.0), (now - 180, 5.0), (now - 120, 6.0), (now - 60, 7.0)], await ReadSeriesAsync(host.Db, "trim.me"));
        Assert.Equal(fresh, (byte[]?)await host.Db.StringGetAsync("metrics.fresh"));
        Assert.Equal(3, host.RoombaMetrics.PointsRemoved.Value);
    }

    [Fact]
    public async Task RoombaDeletesSilentKeysAndTheirSetEntry()
    {
        await using var host = await store.StartHostAsync();
        var roomba = host.Services.GetRequiredService<Roomba>();
        var now = Now;
        await SeedAsync(host.Db, "silent", Points((now - 90000, 1), (now - 88000, 2)));
        await SeedAsync(host.Db, "alive", Points((now - 90000, 1), (now - 10, 2)));
        await host.Db.SetAddAsync("metrics.unique_metrics", "metrics.vanished");

        var pass = await roomba.RunPassAsync(TestContext.Current.CancellationToken);

        Assert.Equal((1, 1, 1), (pass.Deleted, pass.Trimmed, pass.Missing));
        Assert.False(await host.Db.KeyExistsAsync("metrics.silent"));
        Assert.Equal(["metrics.alive"], await UniqueMetricsAsync(host.Db));
        Assert.Equal([(now - 10, 2.0)], await ReadSeriesAsync(host.Db, "alive"));
    }

    [Fact]
    public async Task RoombaPutsSeriesKeysMissingFromTheUniqueSetBackIntoIt()
    {
        // What a crash between storing points and adding their name used to leave behind.
        await using var host = await store.StartHostAsync();
        var roomba = host.Services.GetRequiredService<Roomba>();
        var now = Now;
        const int orphans = 2500; // more than one scan batch
        await Task.WhenAll(Enumerable.Range(0, orphans).Select(i => host.Db.StringSetAsync($"metrics.orphan.m{i}", Points((now - 60, i)))));
        await SeedAsync(host.Db, "indexed", Points((now - 60, 1)));
        await host.Db.HashSetAsync("metrics.typed.hash", "a", "b"); // not a series
        await host.Db.StringSetAsync("elsewhere.key", Points((now - 60, 1))); // not in the namespace

        var pass = await roomba.RunPassAsync(TestContext.Current.CancellationToken);

        Assert.Equal(orphans, pass.Indexed);
        Assert.Equal(orphans + 1, pass.Scanned);
        var set = await UniqueMetricsAsync(host.Db);
        Assert.Equal(orphans + 1, set.Count);
        Assert.Contains("metrics.orphan.m2499", set);
        Assert.DoesNotContain("metrics.typed.hash", set);
        Assert.Equal(orphans, host.RoombaMetrics.IndexRepaired.Value);
        Assert.Equal(0, await roomba.ReconcileAsync(TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task RoombaKeepsTheValidPointsOfACorruptSeries()
    {
        await using var host = await store.StartHostAsync();
        var roomba = host.Services.GetRequiredService<Roomba>();
        var now = Now;
        await SeedAsync(host.Db, "corrupt", [.. Points((now - 90000, 1), (now - 30, 2)), 0x92, 0xc0, 0xc0, .. Points((now - 20, 3))]);
        Assert.Equal(TrimOutcome.Trimmed, await roomba.TrimKeyAsync("metrics.corrupt", now));
        Assert.Equal([(now - 30, 2.0)], await ReadSeriesAsync(host.Db, "corrupt"));
        Assert.Equal(1, host.RoombaMetrics.Corrupt.Value);
    }

    [Fact]
    public async Task EveryPointAppendedWhileTrimsRunSurvives()
    {
        await using var host = await store.StartHostAsync();
        var roomba = host.Services.GetRequiredService<Roomba>();
        var db = host.Db;
        var now = Now;
        const string key = "metrics.hammered";
        const int newPoints = 20_000;
        await db.StringSetAsync(key, Points([.. Enumerable.Range(0, 500).Select(i => (now - 100_000 + (long)i, -1.0))]));

        var appending = Task.Run(async () =>
        {
            for (var start = 0; start < newPoints; start += 100)
            {
                var appends = new List<Task>();
                for (var i = start; i < start + 100; i++)
                {
                    // New points to keep, and now and then an expired one for the next trim to remove.
                    appends.Add(db.StringAppendAsync(key, Points((now - 80_000 + i, i))));
                    if (i % 10 == 0)
                    {
                        appends.Add(db.StringAppendAsync(key, Points((now - 100_000 - i, -1))));
                    }
                }
                await Task.WhenAll(appends);
            }
        }, TestContext.Current.CancellationToken);

        var outcomes = new List<TrimOutcome>();
        while (!appending.IsCompleted)
        {
            outcomes.Add(await roomba.TrimKeyAsync(key, now));
        }
        await appending;
        outcomes.Add(await roomba.TrimKeyAsync(key, now));

        var series = await ReadSeriesAsync(db, "hammered");
        Assert.Equal(Enumerable.Range(0, newPoints).Select(i => (now - 80_000 + i, (double)i)), series);
        Assert.True(outcomes.Count(o => o == TrimOutcome.Trimmed) >= 5, $"only {outcomes.Count(o => o == TrimOutcome.Trimmed)} trims ran during the appends");
    }
}

public sealed class RoombaOnRedisTests(RedisFixture redis) : RoombaTests(new RedisStoreUnderTest(redis)), IClassFixture<RedisFixture>;

public sealed class RoombaOnGarnetTests() : RoombaTests(new GarnetStoreUnderTest());
