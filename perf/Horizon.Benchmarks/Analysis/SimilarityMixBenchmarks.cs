using BenchmarkDotNet.Attributes;
using Horizon.Algorithms.Similarity;

namespace Horizon.Benchmarks.Analysis;

/// <summary>Similarity search over the load harness's mix rather than random walks: 250,000 days
/// (144 ten-minute means each) of its six kinds in turn (noise, daily with a 01:00 spike, counter,
/// spiky, level shift, drift; as <c>horizon-load</c> makes them, the ten-minute means drawn
/// directly), and a query that is one of those metrics' own day, of each kind. White noise and
/// sparse spikes are the bounds' hard case: nothing in a query of noise rules most rows out
/// before their dot products are taken.</summary>
[MemoryDiagnoser]
public class SimilarityMixBenchmarks
{
    private const int Rows = 250_000, Bins = 144;
    private static readonly string[] Kinds = ["noise", "daily", "counter", "spiky", "levelshift", "drift"];
    private ShapeMatrix _matrix = null!;
    private float[] _query = [];

    /// <summary>The kind of metric whose day is the query.</summary>
    [Params("noise", "daily", "counter", "spiky", "levelshift", "drift")]
    public string Kind { get; set; } = "noise";

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(7);
        double Gaussian() => Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
        _matrix = new ShapeMatrix(Bins);
        var row = new float[Bins];
        for (var r = 0; r < Rows; r++)
        {
            var (kind, level) = (r % Kinds.Length, 50.0 + (r % 200));
            for (var b = 0; b < Bins; b++)
            {
                var t = 600L * b;
                var noise = Gaussian() / Math.Sqrt(10); // the mean of ten points' noise
                row[b] = (float)(kind switch
                {
                    0 => level + (5 * noise),
                    1 => level + (0.5 * level * Math.Sin((2 * Math.PI * t / 86400) + (r % 24))) + (3 * noise) + (t == 3600 ? 2 * level : 0),
                    2 => Math.Round(20 + (r % 80) + (5 * noise), 1),
                    3 => level + (5 * noise) + (b % 6 == 0 && random.NextDouble() < 0.1 ? 60 : 0), // 3 of an hour's first 10 minutes
                    4 => level + (5 * noise) + (t > 43200 + (r % 3600) ? 60 : 0),
                    _ => 10 + (50 * Triangle(((r * 977 % 28) + (b / 144.0)) / 28)) + (0.5 * noise),
                });
            }
            _matrix.Set($"load.{Kinds[kind]}.m{r:D7}", row);
        }
        var pick = Array.IndexOf(Kinds, Kind) + (Kinds.Length * 1000);
        _query = _matrix.Snapshot().Data.AsSpan(pick * Bins, Bins).ToArray();
    }

    private static double Triangle(double phase) => phase < 0.5 ? 2 * phase : 2 - (2 * phase);

    [Benchmark(Baseline = true)]
    public int SearchEuclidean() => ShapeSearch.Search(_matrix, new ShapeQuery(_query, 0, 10)).Count;

    [Benchmark]
    public int SearchShift() => ShapeSearch.Search(_matrix, new ShapeQuery(_query, 0, 10, ShapeMode.Shift, MaxShift: 3)).Count;

    [Benchmark]
    public int SearchDtw() => ShapeSearch.Search(_matrix, new ShapeQuery(_query, 0, 10, ShapeMode.Dtw, Band: 5)).Count;
}
