using BenchmarkDotNet.Attributes;
using Horizon.Algorithms.Kernels;

namespace Horizon.Benchmarks.Analysis;

/// <summary>Each analysis kernel, scalar reference against SIMD, on a 1440-point series.</summary>
[MemoryDiagnoser]
public class KernelBenchmarks
{
    private double[] _x = [];
    private double[] _t = [];
    private readonly double[] _scratch = new double[20000];
    private readonly double[] _deviations = new double[20000];
    private readonly double[] _errors = new double[20000];
    private readonly double[] _edges = new double[16];
    private readonly int[] _counts = new int[15];
    private double _mean;
    private double _median;

    [Params(1440)]
    public int Points { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var (ts, values) = SeriesShapes.Daily(Points, 60);
        _x = values;
        _t = [.. ts.Select(t => (double)t)];
        _mean = Pairwise.Sum(_x) / _x.Length;
        _median = Selection.Median(_x, _scratch);
        var (min, max) = Extremes.MinMax(_x);
        Histogram.Edges(min, max, _edges);
    }

    [Benchmark] public double SumScalar() => Pairwise.SumScalar(_x);
    [Benchmark] public double SumSimd() => Pairwise.Sum(_x);
    [Benchmark] public double VarianceScalar() => Pairwise.SquaredDeviationsScalar(_x, _mean);
    [Benchmark] public double VarianceSimd() => Pairwise.SquaredDeviations(_x, _mean);
    [Benchmark] public double MinMaxScalar() => Extremes.MinMaxScalar(_x).Max;
    [Benchmark] public double MinMaxSimd() => Extremes.MinMax(_x).Max;

    [Benchmark]
    public int HistogramScalar()
    {
        Histogram.CountsScalar(_x, _edges, _counts);
        return _counts[7];
    }

    [Benchmark]
    public int HistogramSimd()
    {
        Histogram.Counts(_x, _edges, _counts);
        return _counts[7];
    }

    [Benchmark] public double EwmaScalar() => Ewma.LastScalar(_x, 50).Std;
    [Benchmark] public double EwmaSimd() => Ewma.Last(_x, 50).Std;
    [Benchmark] public double MedianScalar() => Selection.MedianScalar(_x, _scratch);
    [Benchmark] public double MedianSimd() => Selection.Median(_x, _scratch);
    [Benchmark] public double MadScalar() => Selection.AbsoluteDeviationMedianScalar(_x, _median, _deviations, _scratch);
    [Benchmark] public double MadSimd() => Selection.AbsoluteDeviationMedian(_x, _median, _deviations, _scratch);
    [Benchmark] public double RegressionScalar() => Regression.Fit(_t, _x, scalar: true).Slope;
    [Benchmark] public double RegressionSimd() => Regression.Fit(_t, _x).Slope;

    [Benchmark]
    public double ResidualsScalar()
    {
        Regression.Residuals(_t, _x, 1e-5, 3, _errors, scalar: true);
        return _errors[^1];
    }

    [Benchmark]
    public double ResidualsSimd()
    {
        Regression.Residuals(_t, _x, 1e-5, 3, _errors);
        return _errors[^1];
    }
}
