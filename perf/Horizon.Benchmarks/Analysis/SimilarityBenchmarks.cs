using BenchmarkDotNet.Attributes;
using Horizon.Algorithms.Similarity;
using Horizon.Analyzer;

namespace Horizon.Benchmarks.Analysis;

/// <summary>Similarity search over 250,000 metrics' days (144 ten-minute bins each, 144 MB): the
/// scan kernel over every row on one core, SIMD against the scalar reference; whole searches (all
/// cores) in each mode; and what keeping the index current costs per series (a day at 60 s, the
/// two shapes a pass computes), to set beside the analysis of the same series.</summary>
[MemoryDiagnoser]
public class SimilarityBenchmarks
{
    private const int Rows = 250_000;
    private ShapeMatrix _matrix = null!;
    private float[] _query = [];
    private double[] _normalised = [];
    private float[] _data = [];
    private long[] _ts = [];
    private double[] _values = [];
    private readonly ShapeIndex _index = new();

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(1);
        _matrix = new ShapeMatrix(144);
        var row = new float[144];
        for (var r = 0; r < Rows; r++)
        {
            var v = random.NextDouble() * 100;
            for (var i = 0; i < row.Length; i++)
            {
                row[i] = (float)(v += random.NextDouble() - 0.5);
            }
            _matrix.Set($"load.walk{r}", row);
        }
        _data = _matrix.Snapshot().Data;
        _query = [.. Enumerable.Range(0, 144).Select(i => (float)Math.Sin(i / 9.0))];
        _normalised = new double[144];
        ShapeSearch.Normalise(_query, _normalised);
        (_ts, _values) = SeriesShapes.Daily(1440, 60);
    }

    [Benchmark(Baseline = true)]
    public double ScanKernelScalar()
    {
        var sum = 0.0;
        for (var r = 0; r < Rows; r++)
        {
            sum += ShapeSearch.MomentsDotScalar(_data.AsSpan(r * 144, 144), _normalised).Dot;
        }
        return sum;
    }

    [Benchmark]
    public double ScanKernelSimd()
    {
        var sum = 0.0;
        for (var r = 0; r < Rows; r++)
        {
            sum += ShapeSearch.MomentsDot(_data.AsSpan(r * 144, 144), _normalised).Dot;
        }
        return sum;
    }

    [Benchmark]
    public int SearchEuclidean() => ShapeSearch.Search(_matrix, new ShapeQuery(_query, 0, 10)).Count;

    [Benchmark]
    public int SearchShift() => ShapeSearch.Search(_matrix, new ShapeQuery(_query, 0, 10, ShapeMode.Shift, MaxShift: 3)).Count;

    [Benchmark]
    public int SearchDtw() => ShapeSearch.Search(_matrix, new ShapeQuery(_query, 0, 10, ShapeMode.Dtw, Band: 5)).Count;

    [Benchmark]
    public int SearchRerankedByDtw() => ShapeSearch.Rerank(_matrix, new ShapeQuery(_query, 0, 10), 100, 5).Count;

    [Benchmark]
    public int SearchSixHours() => ShapeSearch.Search(_matrix, new ShapeQuery(_query[..36], 108, 10)).Count;

    private long _advance;

    /// <summary>The analyzer's per-series cost of keeping the index current in a pass within the
    /// bins of the last one (the newest bin of each shape computed again).</summary>
    [Benchmark]
    public void IndexUpdatePerSeries() => _index.Update("load.one", _ts, _values, SeriesShapes.Now);

    /// <summary>The same when the bins advanced (every minute for the two hours, every ten for the
    /// day): the whole shapes computed again.</summary>
    [Benchmark]
    public void IndexRebuildPerSeries() => _index.Update("load.two", _ts, _values, SeriesShapes.Now + (600 * (++_advance % 2)));
}
