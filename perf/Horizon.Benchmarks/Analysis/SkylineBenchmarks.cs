using BenchmarkDotNet.Attributes;
using Horizon.Analysis.Skyline;

namespace Horizon.Benchmarks.Analysis;

/// <summary>Skyline's nine algorithms (pre-checks, votes, consensus) on one series: a day at
/// 60 s (1440 points) and a day at 10 s (8640 points, where ks_test gets enough points to run),
/// with the SIMD kernels and with the scalar references.</summary>
[MemoryDiagnoser]
public class SkylineBenchmarks
{
    private long[] _ts = [];
    private double[] _values = [];
    private SkylineAnalyzer _simd = null!;
    private SkylineAnalyzer _scalar = null!;

    [Params(1440, 8640)]
    public int Points { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        (_ts, _values) = SeriesShapes.Daily(Points, 86400 / Points);
        _simd = new SkylineAnalyzer(new SkylineSettings());
        _scalar = new SkylineAnalyzer(new SkylineSettings(), scalarKernels: true);
        _simd.Analyze(_ts, _values, SeriesShapes.Now);
        _scalar.Analyze(_ts, _values, SeriesShapes.Now);
    }

    [Benchmark(Baseline = true)]
    public bool NineAlgorithmsScalar() => _scalar.Analyze(_ts, _values, SeriesShapes.Now).Anomalous;

    [Benchmark]
    public bool NineAlgorithmsSimd() => _simd.Analyze(_ts, _values, SeriesShapes.Now).Anomalous;
}
