using Horizon.Algorithms.Kernels;
using Horizon.Algorithms.Statistics;

namespace Horizon.Algorithms.Tests;

/// <summary>Every SIMD kernel against its scalar reference, on random series of many lengths
/// (including the lengths around vector and pairwise-block boundaries) and on adversarial ones
/// (ties, constants, values exactly on histogram edges).</summary>
public sealed class KernelAgreementTests
{
    private static readonly int[] Lengths = [.. Enumerable.Range(0, 300), 511, 512, 513, 1439, 1440, 1441, 8640, 86401];

    private static double[] Series(Random random, int n, int kind) => kind switch
    {
        0 => [.. Enumerable.Range(0, n).Select(_ => random.NextDouble() * 200 - 100)],
        1 => [.. Enumerable.Range(0, n).Select(_ => (double)random.Next(0, 5))],          // many ties
        2 => [.. Enumerable.Range(0, n).Select(_ => 42.0)],                                // constant
        3 => [.. Enumerable.Range(0, n).Select(i => 1e9 + i * 0.001)],                     // large offset
        _ => [.. Enumerable.Range(0, n).Select(_ => Math.Exp(random.NextDouble() * 20))],  // heavy tail
    };

    private static IEnumerable<(int N, int Kind, double[] X)> Inputs()
    {
        var random = new Random(1234);
        foreach (var n in Lengths)
        {
            for (var kind = 0; kind < 5; kind++)
            {
                if (n > 2000 && kind > 1)
                {
                    continue;
                }
                yield return (n, kind, Series(random, n, kind));
            }
        }
    }

    [Fact]
    public void PairwiseSumsAreBitForBitTheSame()
    {
        foreach (var (n, kind, x) in Inputs())
        {
            Assert.Equal(BitConverter.DoubleToInt64Bits(Pairwise.SumScalar(x)), BitConverter.DoubleToInt64Bits(Pairwise.Sum(x)));
            var mean = n == 0 ? 0 : Pairwise.SumScalar(x) / n;
            Assert.Equal(Pairwise.SquaredDeviationsScalar(x, mean), Pairwise.SquaredDeviations(x, mean));
            var y = x.Reverse().ToArray();
            Assert.True(Pairwise.CrossDeviationsScalar(x, y, mean, 1) == Pairwise.CrossDeviations(x, y, mean, 1), $"n={n} kind={kind}");
        }
    }

    [Fact]
    public void ClippingIsBitForBitTheSame()
    {
        foreach (var (n, kind, x) in Inputs())
        {
            var band = (Lo: -50.0, Hi: 1e4);
            var scalar = Clipping.ClipScalar(x, band, new double[n], offset: 3.5).ToArray();
            var vector = Clipping.Clip(x, band, new double[n], offset: 3.5).ToArray();
            Assert.True(scalar.SequenceEqual(vector), $"n={n} kind={kind}");
            // In place, as the volatility detector clips its own step sizes.
            var copy = (double[])x.Clone();
            Clipping.Clip(copy, band, copy, offset: 3.5);
            Assert.True(scalar.SequenceEqual(copy), $"in place, n={n} kind={kind}");
        }
    }

    [Fact]
    public void LaneSumsAreBitForBitTheSame()
    {
        foreach (var (n, kind, x) in Inputs())
        {
            Assert.True(BitConverter.DoubleToInt64Bits(LaneSum.SumScalar(x)) == BitConverter.DoubleToInt64Bits(LaneSum.Sum(x)), $"n={n} kind={kind}");
        }
    }

    [Fact]
    public void SmallMediansEqualTheMedianOfASortedCopy()
    {
        var random = new Random(99);
        for (var trial = 0; trial < 2000; trial++)
        {
            var n = 1 + (trial % 4);
            var values = Enumerable.Range(0, n).Select(_ => trial % 3 == 0 ? random.Next(3) : (random.NextDouble() * 100) - 50).ToArray();
            var sorted = values.Order().ToArray();
            var expected = n % 2 == 1 ? sorted[n / 2] : (sorted[(n / 2) - 1] + sorted[n / 2]) / 2;
            Assert.Equal(expected, Selection.MedianOfFew(values));
            Assert.Equal(expected, Selection.MedianInPlace((double[])values.Clone()));
        }
        var many = Enumerable.Range(0, 9).Select(_ => random.NextDouble()).ToArray();
        Assert.Equal(many.Order().ElementAt(4), Selection.MedianInPlace(many));
    }

    [Fact]
    public void PairwiseSumFollowsNumpysOrder()
    {
        // numpy.sum([0.1]*10) is 0.9999999999999999 (sequential below 8, blocked above);
        // a plain left-to-right sum of 10 times 0.1 gives the same here, so use a case where the
        // blocked order differs from the naive one: 1e16 followed by ones.
        double[] x = [1e16, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1];
        var naive = 0.0;
        foreach (var v in x)
        {
            naive += v;
        }
        // blocked: r0 = 1e16 + 1 (rounds to 1e16), r1..r7 = 2 each → 1e16 + 14 exactly representable
        Assert.Equal(1e16, naive);
        Assert.Equal(1e16 + 14, Pairwise.SumScalar(x));
        Assert.Equal(1e16 + 14, Pairwise.Sum(x));
    }

    [Fact]
    public void MinMaxAgree()
    {
        foreach (var (_, _, x) in Inputs())
        {
            Assert.Equal(Extremes.MinMaxScalar(x), Extremes.MinMax(x));
        }
    }

    [Fact]
    public void CountsWithinARangeAgreeIncludingValuesOnItsBounds()
    {
        foreach (var (n, kind, x) in Inputs().Where(i => i.N > 0))
        {
            var sorted = x.Order().ToArray();
            // Bounds at values of the series (they count), between them, and outside the range.
            (double Lo, double Hi)[] ranges =
            [
                (sorted[n / 2], sorted[^1]), (sorted[0], sorted[n / 2]), (sorted[n / 3], sorted[n / 3]),
                (Math.BitIncrement(sorted[n / 4]), Math.BitDecrement(sorted[3 * n / 4])), (sorted[0] - 1, sorted[^1] + 1), (sorted[^1] + 1, sorted[^1] + 2),
            ];
            foreach (var (lo, hi) in ranges)
            {
                var expected = x.Count(v => v >= lo && v <= hi);
                Assert.Equal(expected, Extremes.CountWithinScalar(x, lo, hi));
                Assert.True(expected == Extremes.CountWithin(x, lo, hi), $"n={n} kind={kind} [{lo}, {hi}]");
            }
            // Roll-up slots are floats, NaN where a slot had no points: NaN is never within, nor held.
            var slots = x.Select((v, i) => i % 7 == 3 ? float.NaN : (float)v).ToArray();
            foreach (var (lo, hi) in ranges)
            {
                var (flo, fhi) = ((float)lo, (float)hi);
                var expected = (slots.Count(v => v >= flo && v <= fhi), slots.Count(v => !float.IsNaN(v)));
                Assert.Equal(expected, Extremes.CountWithinScalar(slots, flo, fhi));
                Assert.True(expected == Extremes.CountWithin(slots, flo, fhi), $"slots n={n} kind={kind} [{lo}, {hi}]");
            }
        }
    }

    [Fact]
    public void HistogramCountsAgreeEvenForValuesOnTheEdges()
    {
        Span<double> edges = stackalloc double[16];
        Span<int> a = stackalloc int[15];
        Span<int> b = stackalloc int[15];
        foreach (var (n, kind, x) in Inputs().Where(i => i.N > 0))
        {
            var (min, max) = Extremes.MinMaxScalar(x);
            Histogram.Edges(min, max, edges);
            // Put some values exactly on edges and one ulp either side.
            var y = (double[])x.Clone();
            for (var i = 0; i < Math.Min(y.Length, 48); i++)
            {
                var e = edges[i % 16];
                y[i] = (i / 16) switch { 0 => e, 1 => Math.BitIncrement(e), _ => Math.BitDecrement(e) };
                y[i] = Math.Clamp(y[i], min, max);
            }
            Histogram.CountsScalar(y, edges, a);
            Histogram.Counts(y, edges, b);
            Assert.True(a.SequenceEqual(b), $"n={n} kind={kind}");
            for (var bin = 0; bin < 15; bin++)
            {
                Assert.Equal(a[bin], Histogram.CountOf(y, edges, bin));
            }
            var total = 0;
            foreach (var c in b)
            {
                total += c;
            }
            Assert.Equal(n, total);
        }
    }

    [Fact]
    public void MediansAndAbsoluteDeviationsAgreeExactly()
    {
        var scratch = new double[180000];
        var deviations = new double[180000];
        foreach (var (n, kind, x) in Inputs().Where(i => i.N > 0))
        {
            var reference = Selection.MedianScalar(x, scratch);
            var sorted = x.Order().ToArray();
            var expected = n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
            Assert.Equal(expected, reference);
            Assert.True(reference == Selection.Median(x, scratch), $"median n={n} kind={kind}");
            Assert.True(Selection.AbsoluteDeviationMedianScalar(x, reference, deviations, scratch) ==
                        Selection.AbsoluteDeviationMedian(x, reference, deviations, scratch), $"mad n={n} kind={kind}");
        }
    }

    [Fact]
    public void OrderStatisticsAndTailsAgreeWithASort()
    {
        var scratch = new double[180000];
        foreach (var (n, kind, x) in Inputs().Where(i => i.N > 0))
        {
            var sorted = x.Order().ToArray();
            var before = x.ToArray();
            var median = n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
            foreach (var k in new[] { 0, n / 100, n / 2, n - 1 - (n / 100), n - 1 }.Distinct())
            {
                Assert.True(sorted[k] == Selection.Select(x, k, scratch), $"select {k} n={n} kind={kind}");
            }
            // The sustained detector's 1st and 99th percentiles, with the median, from one partition.
            int low = (int)Math.Round(0.01 * (n - 1)), high = (int)Math.Round(0.99 * (n - 1));
            var (m, lo, hi) = Selection.MedianAndTails(x, low, high, scratch);
            Assert.True(m == median && lo == sorted[low] && hi == sorted[high], $"tails n={n} kind={kind}: {m} {lo} {hi}");
            Assert.Equal(before, x); // the input is left as it was
        }
    }

    [Fact]
    public void EwmaClosedFormAgreesWithPandasRecursion()
    {
        foreach (var (n, kind, x) in Inputs().Where(i => i.N > 1))
        {
            var (m1, s1) = Ewma.LastScalar(x, 50);
            var (m2, s2) = Ewma.Last(x, 50);
            Assert.True(Math.Abs(m1 - m2) <= 1e-12 * Math.Max(1, Math.Abs(m1)), $"mean n={n} kind={kind}: {m1:R} vs {m2:R}");
            Assert.True(Math.Abs(s1 - s2) <= 1e-9 * Math.Max(1e-9, Math.Abs(m1)) + 1e-12, $"std n={n} kind={kind}: {s1:R} vs {s2:R}");
        }
    }

    [Fact]
    public void RegressionAgrees()
    {
        var random = new Random(5);
        foreach (var n in new[] { 3, 7, 20, 61, 1440, 8640 })
        {
            var t = Enumerable.Range(0, n).Select(i => 1_700_000_000.0 + 60 * i).ToArray();
            var y = t.Select((_, i) => 0.01 * i + random.NextDouble()).ToArray();
            var a = Regression.Fit(t, y, scalar: true);
            var b = Regression.Fit(t, y);
            Assert.Equal(a, b);
            var ea = new double[n];
            var eb = new double[n];
            Regression.Residuals(t, y, a.Slope, a.Intercept, ea, scalar: true);
            Regression.Residuals(t, y, a.Slope, a.Intercept, eb);
            Assert.Equal(ea, eb);
        }
    }

    [Theory]
    [InlineData(10, 0.025, 2.2281388519649385)]
    [InlineData(1, 0.05, 6.313751514675043)]
    [InlineData(1439, 1.7349063150589869e-05, 4.153299767523993)]
    public void StudentTCriticalValuesMatchPublishedOnes(int dof, double p, double expected) =>
        Assert.Equal(expected, -MathNet.Numerics.Distributions.StudentT.InvCDF(0, 1, dof, p), 1e-9);

    [Theory]
    [InlineData(-2.8642578631702293, 0.04966499024106332)]
    [InlineData(-18.240264871820315, 2.3558594730243174e-30)]
    [InlineData(-0.8241232329649026, 0.8119331559634981)]
    [InlineData(3.0, 1.0)]
    [InlineData(-20.0, 0.0)]
    public void MacKinnonPValuesMatchStatsmodels(double statistic, double expected)
    {
        var p = DickeyFuller.MacKinnonP(statistic);
        Assert.True(Math.Abs(p - expected) <= 1e-9 * Math.Max(expected, 1e-300) || p == expected, $"{p:R}");
    }

    [Fact]
    public void KolmogorovSmirnovMatchesScipyOnSmallSamples()
    {
        // scipy.stats.ks_2samp([1,2,3,4,5], [6,7,8,9,10]) -> D 1.0, p 0.007936507936507936
        var (d, p) = KolmogorovSmirnov.TwoSample([1, 2, 3, 4, 5], [6, 7, 8, 9, 10], new double[10]);
        Assert.Equal(1.0, d);
        Assert.Equal(0.007936507936507936, p, 1e-15);
        // identical samples -> D 0, p 1
        Assert.Equal((0.0, 1.0), KolmogorovSmirnov.TwoSample([1, 2, 3], [1, 2, 3], new double[6]));
    }
}
