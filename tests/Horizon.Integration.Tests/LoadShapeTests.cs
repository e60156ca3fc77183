using Horizon.Load;

namespace Horizon.Integration.Tests;

/// <summary>The load harness counts a flagged metric of a clean shape as a false alarm, so a clean
/// shape must not do anything an analyzer should flag.</summary>
public sealed class LoadShapeTests
{
    [Fact]
    public void TheDriftShapeMovesSlowlyAndNeverJumps()
    {
        // Sixty days at 10 s, as live traffic would see it: the step between neighbouring points
        // is noise (sigma 0.5 each, so about 0.7 for a difference), never a jump, and the level
        // goes the whole way up and down.
        const int metric = 123;
        var start = 1_764_547_200L; // 2025-12-01 00:00 UTC
        var previous = Shapes.Value(ShapeKind.Drift, metric, start);
        double lowest = previous, highest = previous, largestStep = 0;
        for (var t = start + 10; t < start + (60 * 86400); t += 10)
        {
            var v = Shapes.Value(ShapeKind.Drift, metric, t);
            largestStep = Math.Max(largestStep, Math.Abs(v - previous));
            lowest = Math.Min(lowest, v);
            highest = Math.Max(highest, v);
            previous = v;
        }
        Assert.True(largestStep < 6, $"largest step {largestStep}");
        Assert.True(lowest < 12 && highest > 58, $"range {lowest}..{highest}");
    }

    [Fact]
    public void AnInjectedAnomalyIsFarOutsideEverythingItsShapeDoes()
    {
        foreach (var kind in Shapes.All)
        {
            for (var metric = 0; metric < 50; metric++)
            {
                double highest = double.MinValue;
                for (var t = 1_764_547_200L; t < 1_764_547_200L + (2 * 86400); t += 60)
                {
                    highest = Math.Max(highest, Shapes.Value(kind, metric, t));
                }
                var anomalous = Shapes.Anomalous(kind, metric, 1_764_547_200L + (2 * 86400));
                Assert.True(anomalous > highest + 100, $"{kind} m{metric}: {anomalous} vs highest {highest}");
            }
        }
    }
}
