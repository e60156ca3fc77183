using Horizon.Algorithms.Detection;
using Horizon.Core;
using Horizon.Load;

namespace Horizon.Integration.Tests;

/// <summary>The load harness's seed command on a real redis-server.</summary>
public sealed class SeederTests
{
    [Fact]
    public async Task SeedingWithRollupDaysStoresTheRollupsTheAnalyzerWouldHaveKept()
    {
        await using var redis = await RedisServer.StartAsync();
        var exit = await Seeder.RunAsync(new Options(["--metrics", "12", "--hours", "2", "--redis", $"127.0.0.1:{redis.Port}", "--rollup-days", "3"]));
        Assert.Equal(0, exit);
        var firstSeeded = (DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 7200) / 600;

        await using var mux = await redis.ConnectAsync();
        var db = mux.GetDatabase();
        for (var m = 0; m < 12; m++)
        {
            var kind = Shapes.KindOf(m, null);
            byte[]? stored = await db.StringGetAsync(StoreKeys.RollupPrefix + Shapes.Name("load", kind, m));
            Assert.NotNull(stored);
            var history = new RollupHistory();
            Assert.True(history.TryLoad(stored), $"metric {m}: not a 600 s roll-up");
            // Three days of slots, ending where the seeded points begin (the analyzer grows it from there).
            Assert.Equal(432, history.Count);
            Assert.InRange(history.EndSlot, firstSeeded - 1, firstSeeded + 1);
            if (kind == ShapeKind.Daily)
            {
                // The daily shape's cycle and 01:00 batch job are in the roll-ups: the ensemble calls it seasonal.
                Assert.Equal(86400, new EnsembleDetector().SeasonalPeriod(history, SeasonalityMode.Auto));
            }
            if (kind == ShapeKind.Noise)
            {
                Assert.Equal(0, new EnsembleDetector().SeasonalPeriod(history, SeasonalityMode.Auto));
            }
        }
    }
}
