using Horizon.Algorithms.Similarity;

namespace Horizon.Algorithms.Tests;

/// <summary>Shape search: planted shapes among thousands of random series, every mode equal to the
/// brute-force reference.</summary>
public sealed class ShapeSearchTests
{
    private const int Dims = 144;

    // A random walk: what most metrics look like to a shape search.
    private static float[] Walk(Random random, int n = Dims)
    {
        var x = new float[n];
        var v = random.NextDouble() * 100;
        for (var i = 0; i < n; i++)
        {
            v += random.NextDouble() - 0.5;
            x[i] = (float)v;
        }
        return x;
    }

    private static float[] Planted(int n = Dims) =>
        [.. Enumerable.Range(0, n).Select(i => (float)(i is > 60 and < 80 ? 40 + (i - 60) : i is >= 80 and < 90 ? 60 - (3 * (i - 80)) : 10 + Math.Sin(i / 7.0)))];

    private static ShapeMatrix Matrix(int count, int seed, Action<ShapeMatrix, Random>? plant = null)
    {
        var random = new Random(seed);
        var matrix = new ShapeMatrix(Dims);
        for (var i = 0; i < count; i++)
        {
            matrix.Set($"random.{i}", Walk(random));
        }
        plant?.Invoke(matrix, random);
        return matrix;
    }

    [Fact]
    public void APlantedShapeAndItsScaledCopiesAreFoundFirstAndEveryModeEqualsBruteForce()
    {
        var shape = Planted();
        var matrix = Matrix(5000, 1, (m, random) =>
        {
            // The same shape at another level and scale, and with a little noise: z-normalised, the same.
            m.Set("planted.copy", [.. shape.Select(v => (v * 3) + 1000)]);
            m.Set("planted.noisy", [.. shape.Select(v => v + (float)((random.NextDouble() - 0.5) * 0.5))]);
            m.Set("planted.inverted", [.. shape.Select(v => -v)]);
        });
        foreach (var mode in new[] { ShapeMode.Euclidean, ShapeMode.Shift, ShapeMode.Dtw })
        {
            var query = new ShapeQuery(shape, 0, 10, mode);
            var found = ShapeSearch.Search(matrix, query);
            Assert.Equal(["planted.copy", "planted.noisy"], found.Take(2).Select(f => f.Name));
            Assert.True(found[0].Distance < 1e-3, $"{mode}: {found[0].Distance}");
            Assert.DoesNotContain(found, f => f.Name == "planted.inverted"); // the opposite movement is not the same shape
            Assert.Equal(ShapeSearch.BruteForce(matrix, query), found);
        }
    }

    [Theory]
    [InlineData(ShapeMode.Euclidean, 0, 144)]
    [InlineData(ShapeMode.Euclidean, 100, 44)]
    [InlineData(ShapeMode.Shift, 0, 144)]
    [InlineData(ShapeMode.Shift, 84, 60)]
    [InlineData(ShapeMode.Dtw, 0, 144)]
    [InlineData(ShapeMode.Dtw, 108, 36)]
    public void TheRankingEqualsBruteForceForRandomQueries(ShapeMode mode, int offset, int length)
    {
        var matrix = Matrix(3000, 7);
        var random = new Random(offset + length);
        for (var q = 0; q < 10; q++)
        {
            var query = new ShapeQuery(Walk(random, length), offset, 10, mode, Band: 4, MaxShift: 3);
            Assert.Equal(ShapeSearch.BruteForce(matrix, query), ShapeSearch.Search(matrix, query));
        }
    }

    [Fact]
    public void RerankingByDtwOrdersTheEuclideanCandidatesByTheirDtwDistance()
    {
        var matrix = Matrix(3000, 11, (m, _) => m.Set("planted.copy", [.. Planted().Select(v => (v * 2) + 5)]));
        var query = new ShapeQuery(Planted(), 0, 5);
        var reranked = ShapeSearch.Rerank(matrix, query, 50, 5);
        Assert.Equal("planted.copy", reranked[0].Name);
        Assert.Equal(ShapeSearch.Rerank(matrix, query, 50, 5, reference: true), reranked);
        // Each distance is the DTW one, and the order ascends.
        Assert.True(reranked.Zip(reranked.Skip(1)).All(p => p.First.Distance <= p.Second.Distance));
        var dtw = ShapeSearch.BruteForce(matrix, query with { Mode = ShapeMode.Dtw, K = 3000 }).ToDictionary(d => d.Name, d => d.Distance);
        Assert.All(reranked, r => Assert.Equal(dtw[r.Name], r.Distance, 9));
    }

    [Fact]
    public void TheShiftDistanceIsTheBestOverlapsDistanceComputedDirectly()
    {
        // Independent of the scan's arithmetic (row moments once, an overlap's by subtraction):
        // each overlap z-normalised on both sides and compared element by element.
        var random = new Random(11);
        var matrix = Matrix(300, 12);
        var query = Walk(random, 40);
        const int offset = 50, maxShift = 4;
        var found = ShapeSearch.BruteForce(matrix, new ShapeQuery(query, offset, 300, ShapeMode.Shift, MaxShift: maxShift));
        var data = matrix.Snapshot().Data;
        foreach (var f in found)
        {
            var x = data.AsSpan((f.Row * Dims) + offset, query.Length).ToArray();
            var (best, lag) = (double.PositiveInfinity, 0);
            for (var l = -maxShift; l <= maxShift; l++)
            {
                var length = query.Length - Math.Abs(l);
                var a = new double[length];
                var b = new double[length];
                Assert.True(ShapeSearch.Normalise(x.AsSpan(Math.Max(0, l), length), a));
                Assert.True(ShapeSearch.Normalise(query.AsSpan(Math.Max(0, -l), length), b));
                var d = Math.Sqrt(a.Zip(b).Sum(p => (p.First - p.Second) * (p.First - p.Second)) * query.Length / length);
                if (d < best - 1e-9 || (Math.Abs(d - best) <= 1e-9 && Math.Abs(l) < Math.Abs(lag)))
                {
                    (best, lag) = (d, l);
                }
            }
            Assert.Equal(best, f.Distance, 6);
            Assert.Equal(lag, f.Lag);
        }
    }

    [Theory]
    [InlineData(0, 144, 3)]
    [InlineData(0, 144, 9)]
    [InlineData(100, 44, 2)]
    [InlineData(7, 21, 1)]
    [InlineData(140, 4, 1)]
    public void TheShiftModesPruningNeverChangesTheRankingWhateverTheRows(int offset, int length, int maxShift)
    {
        // Rows the shift bound finds hardest: white noise (its blocks say little), metrics at 1e9
        // and 1e12 that move by a few units, flat rows and rows flat but for one step or spike at
        // the edges (an overlap of them can be flat while the row is not), exact shifted copies of
        // the query and of each other (ties), and such copies with a huge value where their best
        // overlap does not look, among random walks.
        var random = new Random(length + maxShift);
        var matrix = Matrix(2000, 21, (m, r) =>
        {
            for (var i = 0; i < 200; i++)
            {
                m.Set($"noise.{i}", [.. Enumerable.Range(0, Dims).Select(_ => (float)r.NextDouble())]);
                var level = i % 2 == 0 ? 1e9 : 1e12;
                m.Set($"large.{i}", [.. Walk(r).Select(v => (float)(level + (v * 1e4)))]);
            }
            m.Set("flat", [.. Enumerable.Repeat(5f, Dims)]);
            m.Set("flat.large", [.. Enumerable.Repeat(3e9f, Dims)]);
            for (var at = 0; at < Dims; at += 7)
            {
                m.Set($"step.{at}", [.. Enumerable.Range(0, Dims).Select(i => i < at ? 1f : 2f)]);
                m.Set($"spike.{at}", [.. Enumerable.Range(0, Dims).Select(i => i == at ? 9f : 1f)]);
            }
        });
        for (var q = 0; q < 6; q++)
        {
            var shape = q % 3 == 0 ? [.. Enumerable.Range(0, length).Select(_ => (float)random.NextDouble())] : Walk(random, length);
            var copy = new float[Dims];
            var lag = (q % (2 * maxShift + 1)) - maxShift;
            for (var i = 0; i < Dims; i++)
            {
                copy[i] = shape[Math.Clamp(i - offset - lag, 0, length - 1)];
            }
            matrix.Set($"copy.{q}.a", copy);
            matrix.Set($"copy.{q}.b", copy);
            // A shifted copy with a huge value in a bin its best overlap leaves out: the whole row
            // is far more spread than that overlap (a bound from the whole row's spread would drop it).
            var edged = (float[])copy.Clone();
            var edge = lag == 0 ? 1 : lag;
            for (var i = 0; i < Dims; i++)
            {
                edged[i] = shape[Math.Clamp(i - offset - edge, 0, length - 1)];
            }
            edged[edge > 0 ? offset : offset + length - 1] = 1e4f;
            matrix.Set($"copy.{q}.edged", edged);
            foreach (var k in new[] { 1, 10, 50 })
            {
                var query = new ShapeQuery(shape, offset, k, ShapeMode.Shift, MaxShift: maxShift);
                Assert.Equal(ShapeSearch.BruteForce(matrix, query), ShapeSearch.Search(matrix, query));
            }
        }
    }

    [Theory]
    [InlineData(0, 144, 5)]
    [InlineData(0, 144, 0)]
    [InlineData(100, 44, 3)]
    [InlineData(140, 4, 1)]
    public void TheDtwScanNeverChangesTheRankingWhenManyRowsSitAtTheKthDistance(int offset, int length, int band)
    {
        // Rows whose DTW distances crowd around the k-th best (the query's shape under noise of
        // nearly one size: a limit a little too tight drops some), tied copies, copies warped by
        // up to the band, white noise, and a count no batch of vector lanes divides.
        var random = new Random(length + band);
        var shape = Walk(random, length);
        var matrix = Matrix(997, 31, (m, r) =>
        {
            for (var i = 0; i < 601; i++)
            {
                var amplitude = 0.50 + (0.02 * r.NextDouble());
                m.Set($"crowd.{i}", [.. Enumerable.Range(0, Dims).Select(j => shape[Math.Clamp(j - offset, 0, length - 1)] + (float)(amplitude * (r.NextDouble() - 0.5)))]);
                m.Set($"noise.{i}", [.. Enumerable.Range(0, Dims).Select(_ => (float)r.NextDouble())]);
            }
            for (var w = -band; w <= band; w++)
            {
                float[] copy = [.. Enumerable.Range(0, Dims).Select(j => shape[Math.Clamp(j - offset - w, 0, length - 1)])];
                m.Set($"copy.{w}.a", copy);
                m.Set($"copy.{w}.b", copy);
            }
        });
        foreach (var k in new[] { 1, 10, 50, 300 })
        {
            var query = new ShapeQuery(shape, offset, k, ShapeMode.Dtw, Band: band);
            Assert.Equal(ShapeSearch.BruteForce(matrix, query), ShapeSearch.Search(matrix, query));
            Assert.Equal(ShapeSearch.BruteForce(matrix, query), ShapeSearch.Search(matrix, query, parallelism: 1));
        }
    }

    [Fact]
    public void TheDotKernelAgreesWithTheScalarReference()
    {
        var random = new Random(4);
        foreach (var n in new[] { 1, 7, 8, 16, 17, 143, 144 })
        {
            var x = Walk(random, n);
            var q = Enumerable.Range(0, n).Select(_ => random.NextDouble() - 0.5).ToArray();
            Assert.Equal(ShapeSearch.MomentsDotScalar(x, q).Dot, ShapeSearch.Dot(x, q), 9);
        }
    }

    [Fact]
    public void ATimeShiftedCopyIsFoundByTheShiftTolerantModeWithItsLag()
    {
        var shape = Planted();
        // The spike three bins later; a random walk elsewhere would match the unshifted query better by plain distance.
        var later = new float[Dims];
        for (var i = 0; i < Dims; i++)
        {
            later[i] = shape[Math.Max(0, i - 3)];
        }
        var matrix = Matrix(5000, 3, (m, _) => m.Set("planted.later", later));
        var plain = ShapeSearch.Search(matrix, new ShapeQuery(shape, 0, 5, ShapeMode.Euclidean));
        var shifted = ShapeSearch.Search(matrix, new ShapeQuery(shape, 0, 5, ShapeMode.Shift, MaxShift: 4));
        Assert.Equal("planted.later", shifted[0].Name);
        Assert.Equal(3, shifted[0].Lag);
        Assert.True(shifted[0].Distance < plain.Single(p => p.Name == "planted.later").Distance / 3, $"{shifted[0].Distance} vs {plain.Single(p => p.Name == "planted.later").Distance}");
        Assert.Equal("planted.later", ShapeSearch.Search(matrix, new ShapeQuery(shape, 0, 5, ShapeMode.Dtw, Band: 5))[0].Name);
    }

    [Fact]
    public void FiltersRemovalsAndFlatRowsAndAFlatQueryIsRefused()
    {
        var matrix = Matrix(1000, 5, (m, _) =>
        {
            m.Set("web.planted", Planted());
            m.Set("db.planted", Planted());
            m.Set("flat", new float[Dims]);
        });
        var web = ShapeSearch.Search(matrix, new ShapeQuery(Planted(), 0, 3, Include: n => n.StartsWith("web.", StringComparison.Ordinal)));
        Assert.Equal(["web.planted"], web.Select(w => w.Name));
        // A round (an analyzer pass) that sets only two of them: the rest leave.
        matrix.BeginRound();
        matrix.Set("db.planted", Planted());
        matrix.Set("flat", new float[Dims]);
        Assert.Equal(1001, matrix.DropUnset());
        Assert.Equal(2, matrix.Count);
        var left = ShapeSearch.Search(matrix, new ShapeQuery(Planted(), 0, 5));
        Assert.Equal(["db.planted", "flat"], left.Select(l => l.Name));
        Assert.Equal(Math.Sqrt(Dims), left[1].Distance, 6); // a flat row is as far as zeros
        Assert.Throws<ArgumentException>(() => ShapeSearch.Search(matrix, new ShapeQuery(new float[10], 0, 5)));
    }

    [Fact]
    public void BinningAveragesEachBinOnASharedGridAndCarriesTheLastMeanThroughGaps()
    {
        // Points every 5 minutes from bin 94 to bin 100 (of 10 minutes), none in bins 96 and 97.
        long[] ts = [.. Enumerable.Range(0, 12).Select(i => (100 * 600L) - 3300 + (i * 300L)).Where(t => t / 600 is not (96 or 97))];
        double[] values = [.. ts.Select(t => (double)(t / 600))];
        var shape = new float[8];
        Assert.True(Shapes.Bin(ts, values, 100, 600, shape));
        Assert.Equal([94f, 94f, 95f, 95f, 95f, 98f, 99f, 100f], shape); // bin 93 before the first point takes its mean
        Assert.False(Shapes.Bin(ts, values, 200, 600, shape)); // nothing in that window
        var stretched = new float[5];
        Shapes.Resample([0, 10, 20], stretched);
        Assert.Equal([0f, 5f, 10f, 15f, 20f], stretched);
    }
}
