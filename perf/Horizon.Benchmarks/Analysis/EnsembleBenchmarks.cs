using BenchmarkDotNet.Attributes;
using Horizon.Algorithms.Detection;
using Horizon.Algorithms.Skyline;

namespace Horizon.Benchmarks.Analysis;

/// <summary>The ensemble's cost per metric per pass against Skyline's nine algorithms on the same
/// series (a day at 60 s and at 10 s), with 14 days of 10-minute roll-ups behind it (seasonality
/// detection, seasonal baseline and drift included). Issue 5 aims for at most 3x the nine.</summary>
[MemoryDiagnoser]
public class EnsembleBenchmarks
{
    private long[] _ts = [];
    private double[] _values = [];
    private SkylineAnalyzer _skyline = null!;
    private EnsembleDetector _ensemble = null!;
    private RollupHistory _history = null!;
    private EnsembleState _state = null!;
    private readonly Judgement _judgement = new();

    [Params(1440, 8640)]
    public int Points { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        (_ts, _values) = SeriesShapes.Daily(Points, 86400 / Points);
        // The aim is against all nine run, as Skyline runs them.
        _skyline = new SkylineAnalyzer(new SkylineSettings { StopWhenDecided = false });
        _ensemble = new EnsembleDetector(new EnsembleSettings { Window = Points });
        _history = new RollupHistory();
        // Two weeks of the same daily shape before the judged day.
        var (hts, hv) = SeriesShapes.Daily(14 * 1440, 60);
        var offset = _ts[0] - hts[^1] - 60;
        for (var i = 0; i < hts.Length; i++)
        {
            _history.Add(hts[i] + offset, hv[i]);
        }
        _state = new EnsembleState(_history);
        Nine();
        Ensemble();
    }

    [Benchmark(Baseline = true)]
    public bool Nine() => _skyline.Analyze(_ts, _values, SeriesShapes.Now).Anomalous;

    [Benchmark]
    public double Ensemble()
    {
        _ensemble.Judge(_ts, _values, _state, MetricMetadata.Default, _judgement);
        return _judgement.Score;
    }
}

/// <summary>Where the ensemble's time goes: each detector alone on the 1440-point day (with the
/// shared robust baseline every judgement computes), against the whole ensemble.</summary>
[MemoryDiagnoser]
public class EnsembleDetectorCostBenchmarks
{
    private long[] _ts = [];
    private double[] _values = [];
    private EnsembleDetector _detector = null!;
    private readonly EnsembleState _noHistory = new();
    private readonly Judgement _judgement = new();

    [Params("all", "level", "change", "holt_winters", "regression", "autoregressive", "sustained", "volatility")]
    public string Detector { get; set; } = "all";

    [GlobalSetup]
    public void Setup()
    {
        (_ts, _values) = SeriesShapes.Daily(1440, 60);
        var settings = new EnsembleSettings { Window = 1440 };
        if (DetectorNames.TryParse(Detector, out var only))
        {
            settings = settings with { Detectors = [only] };
        }
        _detector = new EnsembleDetector(settings);
        Judge();
    }

    [Benchmark]
    public double Judge()
    {
        _detector.Judge(_ts, _values, _noHistory, MetricMetadata.Default, _judgement);
        return _judgement.Score;
    }
}
