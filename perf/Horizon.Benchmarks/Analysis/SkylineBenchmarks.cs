using BenchmarkDotNet.Attributes;
using Horizon.Algorithms.Skyline;

namespace Horizon.Benchmarks.Analysis;

/// <summary>Skyline's nine algorithms (pre-checks, votes, consensus) on one series: a day at
/// 60 s (1440 points) and a day at 10 s (8640 points, where ks_test gets enough points to run),
/// with the SIMD kernels and with the scalar references, every algorithm run as Skyline does; and
/// with StopWhenDecided (the analyzer's default), which stops once CONSENSUS is out of reach.</summary>
[MemoryDiagnoser]
public class SkylineBenchmarks
{
    private long[] _ts = [];
    private double[] _values = [];
    private SkylineAnalyzer _simd = null!;
    private SkylineAnalyzer _scalar = null!;
    private SkylineAnalyzer _decided = null!;

    [Params(1440, 8640)]
    public int Points { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        (_ts, _values) = SeriesShapes.Daily(Points, 86400 / Points);
        _simd = new SkylineAnalyzer(new SkylineSettings { StopWhenDecided = false });
        _scalar = new SkylineAnalyzer(new SkylineSettings { StopWhenDecided = false }, scalarKernels: true);
        _decided = new SkylineAnalyzer(new SkylineSettings());
        _simd.Analyze(_ts, _values, SeriesShapes.Now);
        _scalar.Analyze(_ts, _values, SeriesShapes.Now);
        _decided.Analyze(_ts, _values, SeriesShapes.Now);
    }

    [Benchmark(Baseline = true)]
    public bool NineAlgorithmsScalar() => _scalar.Analyze(_ts, _values, SeriesShapes.Now).Anomalous;

    [Benchmark]
    public bool NineAlgorithmsSimd() => _simd.Analyze(_ts, _values, SeriesShapes.Now).Anomalous;

    [Benchmark]
    public bool StopWhenDecidedSimd() => _decided.Analyze(_ts, _values, SeriesShapes.Now).Anomalous;
}
