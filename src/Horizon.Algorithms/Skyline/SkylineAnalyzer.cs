using Horizon.Algorithms.Kernels;
using Horizon.Algorithms.Statistics;
using MathNet.Numerics.Distributions;

namespace Horizon.Algorithms.Skyline;

/// <summary>Etsy Skyline's analyzer (<c>src/analyzer/algorithms.py</c>): the nine algorithms,
/// the pre-checks of <c>run_selected_algorithm</c> and the consensus, reproducing the original's
/// arithmetic closely enough to return the same verdict on every case of the parity vectors.
/// One instance per thread: it owns scratch buffers and allocates nothing per point.</summary>
public sealed class SkylineAnalyzer
{
    private const double EwmaCom = 50;
    private readonly SkylineSettings _settings;
    private readonly SkylineAlgorithm[] _algorithms;
    private readonly SkylineAlgorithm[] _byCost;
    private readonly bool _scalar;
    private readonly Dictionary<int, double> _tCritical = [];
    private readonly DickeyFuller _adf = new();
    private double[] _a = new double[2048];
    private double[] _b = new double[2048];
    private double[] _c = new double[2048];

    /// <summary>Creates an analyzer. <paramref name="scalarKernels"/> selects the scalar reference
    /// kernels instead of the SIMD ones (tests compare the two).</summary>
    public SkylineAnalyzer(SkylineSettings settings, bool scalarKernels = false)
    {
        _settings = settings;
        _algorithms = [.. settings.Selected];
        _byCost = [.. _algorithms.OrderBy(a => Array.IndexOf(CostOrder, a))];
        _scalar = scalarKernels;
    }

    /// <summary>The settings.</summary>
    public SkylineSettings Settings => _settings;

    /// <summary>run_selected_algorithm: the pre-checks, then the configured algorithms and the consensus.</summary>
    public SkylineVerdict Analyze(ReadOnlySpan<long> timestamps, ReadOnlySpan<double> values, long now, SkylineDetails? details = null)
    {
        var verdict = new SkylineVerdict { Skipped = PreCheck(timestamps, values, now, details) };
        if (verdict.Skipped != SkipReason.None)
        {
            return verdict;
        }
        Evaluate(timestamps, values, now, ref verdict, details);
        return verdict;
    }

    /// <summary>The pre-checks, in Skyline's order: TooShort, Stale, Boring.</summary>
    public SkipReason PreCheck(ReadOnlySpan<long> timestamps, ReadOnlySpan<double> values, long now, SkylineDetails? details = null)
    {
        var n = values.Length;
        if (details is not null)
        {
            details.N = n;
        }
        if (n < _settings.MinTolerableLength || n == 0)
        {
            return SkipReason.TooShort;
        }
        var age = now - timestamps[n - 1];
        if (details is not null)
        {
            details.StaleAge = age;
        }
        if (age > _settings.StalePeriod)
        {
            return SkipReason.Stale;
        }
        var window = values[Math.Max(0, n - _settings.MaxTolerableBoredom)..];
        // Skyline's len(set(last values)) == BOREDOM_SET_SIZE; for the usual size 1 that is "all
        // equal" (0.0 and -0.0 compare equal, as in a Python set), which needs no sort.
        var distinct = _settings.BoredomSetSize == 1 ? (AllEqual(window) ? 1 : 2) : CountDistinct(window, _settings.BoredomSetSize + 1);
        if (details is not null)
        {
            details.BoredomDistinct = CountDistinct(window, int.MaxValue);
        }
        return distinct == _settings.BoredomSetSize ? SkipReason.Boring : SkipReason.None;
    }

    /// <summary>Runs every configured algorithm (whatever the pre-checks say) and counts the votes.</summary>
    public void Evaluate(ReadOnlySpan<long> timestamps, ReadOnlySpan<double> values, long now, ref SkylineVerdict verdict, SkylineDetails? details = null)
    {
        var n = values.Length;
        if (n == 0)
        {
            // Every algorithm but least_squares raises IndexError on an empty series.
            verdict.Errored = true;
            return;
        }
        EnsureCapacity(n);
        var shared = new Shared(this, values);
        if (details is not null)
        {
            details.TailAvg = shared.TailAvg;
            details.Mean = shared.Mean;
            details.StdPandas = shared.StdPandas;
            details.StdNumpy = shared.StdNumpy;
        }
        // Without details and with StopWhenDecided, the cheapest algorithms run first and the rest
        // are skipped once CONSENSUS is out of reach; the verdict is the same either way.
        var early = details is null && _settings.StopWhenDecided;
        var order = early ? _byCost : _algorithms;
        var allowedNo = _algorithms.Length - _settings.Consensus;
        var falseCount = 0;
        var decided = false;
        foreach (var algorithm in order)
        {
            if (decided)
            {
                verdict.Votes[(int)algorithm] = Vote.NotRun;
                continue;
            }
            var vote = algorithm switch
            {
                SkylineAlgorithm.FirstHourAverage => FirstHourAverage(timestamps, values, now, ref shared, details),
                SkylineAlgorithm.MeanSubtractionCumulation => MeanSubtractionCumulation(values, details),
                SkylineAlgorithm.StddevFromAverage => StddevFromAverage(ref shared),
                SkylineAlgorithm.StddevFromMovingAverage => StddevFromMovingAverage(values, details),
                SkylineAlgorithm.LeastSquares => LeastSquaresVote(timestamps, values, details),
                SkylineAlgorithm.Grubbs => Grubbs(ref shared, details),
                SkylineAlgorithm.HistogramBins => HistogramBins(values, ref shared, details),
                SkylineAlgorithm.MedianAbsoluteDeviation => MedianAbsoluteDeviation(values, details),
                _ => KsTest(timestamps, values, now, details),
            };
            verdict.Votes[(int)algorithm] = vote;
            if (_settings.CountsAsNo(vote))
            {
                falseCount++;
            }
            decided = early && (vote == Vote.Error || falseCount > allowedNo);
        }
        var yes = 0;
        foreach (var algorithm in _algorithms)
        {
            var vote = verdict.Votes[(int)algorithm];
            if (vote == Vote.Error)
            {
                // Skyline catches the exception and returns (False, [], 1).
                verdict.Errored = true;
                verdict.YesVotes = 0;
                verdict.Anomalous = false;
                return;
            }
            yes += _settings.CountsAsYes(vote) ? 1 : 0;
        }
        verdict.YesVotes = yes;
        verdict.Anomalous = falseCount <= allowedNo;
    }

    // The configured algorithms, cheapest first: two comparisons on the shared mean and deviation,
    // then a pass or two over the window, then regression, histogram, EWMA, two selections, KS.
    private static readonly SkylineAlgorithm[] CostOrder =
    [
        SkylineAlgorithm.StddevFromAverage, SkylineAlgorithm.Grubbs, SkylineAlgorithm.FirstHourAverage,
        SkylineAlgorithm.MeanSubtractionCumulation, SkylineAlgorithm.LeastSquares, SkylineAlgorithm.HistogramBins,
        SkylineAlgorithm.StddevFromMovingAverage, SkylineAlgorithm.MedianAbsoluteDeviation, SkylineAlgorithm.KsTest,
    ];

    private static Vote Of(bool b) => b ? Vote.Yes : Vote.No;

    // Quantities several algorithms use, computed once per series.
    private ref struct Shared
    {
        public readonly double TailAvg;
        public readonly double Mean;
        public readonly double StdPandas;
        public readonly double StdNumpy;
        public readonly int N;

        public Shared(SkylineAnalyzer analyzer, ReadOnlySpan<double> values)
        {
            var n = values.Length;
            N = n;
            // tail_avg: (last + second-to-last + third-to-last) / 3, in that order.
            TailAvg = n >= 3 ? (values[n - 1] + values[n - 2] + values[n - 3]) / 3 : values[n - 1];
            Mean = analyzer.Sum(values) / n;
            var squares = analyzer.SquaredDeviations(values, Mean);
            StdPandas = n > 1 ? Math.Sqrt(squares / (n - 1)) : double.NaN;
            StdNumpy = Math.Sqrt(squares / n);
        }
    }

    private double Sum(ReadOnlySpan<double> x) => _scalar ? Pairwise.SumScalar(x) : Pairwise.Sum(x);

    private double SquaredDeviations(ReadOnlySpan<double> x, double c) => _scalar ? Pairwise.SquaredDeviationsScalar(x, c) : Pairwise.SquaredDeviations(x, c);

    // pandas mean and ddof-1 std of a subset: (NaN, NaN) when empty, std NaN for one value.
    private (double Mean, double Std) MeanStd(ReadOnlySpan<double> x)
    {
        if (x.IsEmpty)
        {
            return (double.NaN, double.NaN);
        }
        var mean = Sum(x) / x.Length;
        return (mean, x.Length > 1 ? Math.Sqrt(SquaredDeviations(x, mean) / (x.Length - 1)) : double.NaN);
    }

    private Vote FirstHourAverage(ReadOnlySpan<long> timestamps, ReadOnlySpan<double> values, long now, ref Shared shared, SkylineDetails? details)
    {
        var threshold = now - (_settings.FullDuration - 3600);
        var count = 0;
        for (var i = 0; i < values.Length; i++)
        {
            if (timestamps[i] < threshold)
            {
                _a[count++] = values[i];
            }
        }
        var (mean, std) = MeanStd(_a.AsSpan(0, count));
        if (details is not null)
        {
            details.FirstHourCount = count;
            details.FirstHourMean = mean;
            details.FirstHourStd = std;
        }
        return Of(Math.Abs(shared.TailAvg - mean) > 3 * std);
    }

    private Vote MeanSubtractionCumulation(ReadOnlySpan<double> values, SkylineDetails? details)
    {
        var n = values.Length;
        var headMean = n > 1 ? Sum(values[..(n - 1)]) / (n - 1) : double.NaN;
        var series = _a.AsSpan(0, n);
        Subtract(values, headMean, series);
        var (_, sd) = MeanStd(series[..(n - 1)]);
        if (details is not null)
        {
            details.HeadMean = headMean;
            details.SeriesLast = series[n - 1];
            details.CumulationSd = sd;
        }
        return Of(Math.Abs(series[n - 1]) > 3 * sd);
    }

    private void Subtract(ReadOnlySpan<double> x, double c, Span<double> destination)
    {
        var i = 0;
        if (!_scalar && System.Numerics.Vector.IsHardwareAccelerated)
        {
            var vc = new System.Numerics.Vector<double>(c);
            var xv = System.Runtime.InteropServices.MemoryMarshal.Cast<double, System.Numerics.Vector<double>>(x);
            var dv = System.Runtime.InteropServices.MemoryMarshal.Cast<double, System.Numerics.Vector<double>>(destination);
            for (var k = 0; k < xv.Length; k++)
            {
                dv[k] = xv[k] - vc;
            }
            i = xv.Length * System.Numerics.Vector<double>.Count;
        }
        for (; i < x.Length; i++)
        {
            destination[i] = x[i] - c;
        }
    }

    private static Vote StddevFromAverage(ref Shared shared) =>
        Of(Math.Abs(shared.TailAvg - shared.Mean) > 3 * shared.StdPandas);

    private Vote StddevFromMovingAverage(ReadOnlySpan<double> values, SkylineDetails? details)
    {
        var (ewma, std) = _scalar ? Ewma.LastScalar(values, EwmaCom) : Ewma.Last(values, EwmaCom);
        var last = values[^1];
        if (details is not null)
        {
            details.LastValue = last;
            details.Ewma = ewma;
            details.EwmStd = std;
        }
        return Of(Math.Abs(last - ewma) > 3 * std);
    }

    private Vote LeastSquaresVote(ReadOnlySpan<long> timestamps, ReadOnlySpan<double> values, SkylineDetails? details)
    {
        var n = values.Length;
        var t = _b.AsSpan(0, n);
        for (var i = 0; i < n; i++)
        {
            t[i] = timestamps[i];
        }
        var fit = Regression.Fit(t, values, _scalar);
        if (details is not null)
        {
            details.Slope = fit.Slope;
            details.Intercept = fit.Intercept;
            details.Rank = fit.Rank;
            details.SingularLarge = fit.SingularLarge;
            details.SingularSmall = fit.SingularSmall;
        }
        if (n < 3)
        {
            return Vote.No;
        }
        var errors = _c.AsSpan(0, n);
        Regression.Residuals(t, values, fit.Slope, fit.Intercept, errors, _scalar);
        var errorsMean = Sum(errors) / n;
        var std = Math.Sqrt(SquaredDeviations(errors, errorsMean) / n);
        var tail = (errors[n - 1] + errors[n - 2] + errors[n - 3]) / 3;
        if (details is not null)
        {
            details.ErrorsStd = std;
            details.ErrorsTailMean = tail;
        }
        // Python 3's round() rounds halves to even, as Math.Round does by default.
        return Of(Math.Abs(tail) > std * 3 && Math.Round(std) != 0 && Math.Round(tail) != 0);
    }

    private Vote Grubbs(ref Shared shared, SkylineDetails? details)
    {
        var n = shared.N;
        var z = (shared.TailAvg - shared.Mean) / shared.StdNumpy;
        var t = TCritical(n);
        var t2 = t * t;
        var g = ((n - 1) / Math.Sqrt(n)) * Math.Sqrt(t2 / (n - 2 + t2));
        if (details is not null)
        {
            details.GrubbsZ = z;
            details.GrubbsT = t;
            details.GrubbsG = g;
        }
        return Of(z > g);
    }

    // scipy.stats.t.isf(0.05 / (2n), n - 2); NaN for n <= 2. Depends on n only, so it is cached.
    private double TCritical(int n)
    {
        if (n <= 2)
        {
            return double.NaN;
        }
        if (!_tCritical.TryGetValue(n, out var t))
        {
            t = -StudentT.InvCDF(0, 1, n - 2, 0.05 / (2.0 * n));
            if (_tCritical.Count > 4096)
            {
                _tCritical.Clear();
            }
            _tCritical[n] = t;
        }
        return t;
    }

    private Vote HistogramBins(ReadOnlySpan<double> values, ref Shared shared, SkylineDetails? details)
    {
        var (min, max) = _scalar ? Extremes.MinMaxScalar(values) : Extremes.MinMax(values);
        Span<double> edges = stackalloc double[Histogram.Bins + 1];
        Histogram.Edges(min, max, edges);
        var t = shared.TailAvg;
        // Skyline walks the bins and answers for the first one with at most 20 values that holds
        // tail_avg: bin 0 only when tail_avg <= edge 0, bin i when edge i <= tail_avg < edge i+1.
        // Those ranges do not overlap, so only one bin can answer and only its count matters.
        var candidate = -1;
        if (t <= edges[0])
        {
            candidate = 0;
        }
        else
        {
            for (var i = 1; i < Histogram.Bins; i++)
            {
                if (t >= edges[i] && t < edges[i + 1])
                {
                    candidate = i;
                    break;
                }
            }
        }
        int count;
        if (details is not null || _scalar)
        {
            Span<int> counts = stackalloc int[Histogram.Bins];
            if (_scalar)
            {
                Histogram.CountsScalar(values, edges, counts);
            }
            else
            {
                Histogram.Counts(values, edges, counts);
            }
            count = candidate >= 0 ? counts[candidate] : int.MaxValue;
            if (details is not null)
            {
                counts.CopyTo(details.HistogramCounts);
                edges.CopyTo(details.HistogramEdges);
            }
        }
        else
        {
            count = candidate >= 0 ? Histogram.CountOf(values, edges, candidate) : int.MaxValue;
        }
        var hit = candidate >= 0 && count <= 20 ? candidate : -1;
        if (details is not null)
        {
            details.HistogramHitBin = hit;
        }
        return Of(hit >= 0);
    }

    private Vote MedianAbsoluteDeviation(ReadOnlySpan<double> values, SkylineDetails? details)
    {
        var median = _scalar ? Selection.MedianScalar(values, _a) : Selection.Median(values, _a);
        var mad = _scalar
            ? Selection.AbsoluteDeviationMedianScalar(values, median, _b, _a)
            : Selection.AbsoluteDeviationMedian(values, median, _b, _a);
        var last = Math.Abs(values[^1] - median);
        if (details is not null)
        {
            details.Median = median;
            details.Mad = mad;
            details.MadDemedianedLast = last;
            details.MadRatio = mad == 0 ? double.NaN : last / mad;
        }
        if (mad == 0)
        {
            return Vote.No;
        }
        return last / mad > 6 ? Vote.Yes : Vote.NoneReturned;
    }

    private Vote KsTest(ReadOnlySpan<long> timestamps, ReadOnlySpan<double> values, long now, SkylineDetails? details)
    {
        var hourAgo = now - 3600;
        var tenMinutesAgo = now - 600;
        int reference = 0, probe = 0;
        for (var i = 0; i < values.Length; i++)
        {
            var ts = timestamps[i];
            if (ts >= hourAgo && ts < tenMinutesAgo)
            {
                _a[reference++] = values[i];
            }
            else if (ts >= tenMinutesAgo)
            {
                _b[probe++] = values[i];
            }
        }
        if (details is not null)
        {
            details.KsReferenceSize = reference;
            details.KsProbeSize = probe;
        }
        if (reference < 20 || probe < 20)
        {
            return Vote.No;
        }
        var (d, p) = KolmogorovSmirnov.TwoSample(_a.AsSpan(0, reference), _b.AsSpan(0, probe), _c);
        if (details is not null)
        {
            details.KsComputed = true;
            details.KsD = d;
            details.KsP = p;
        }
        if (!(p < 0.05 && d > 0.5))
        {
            return Vote.No;
        }
        var adf = _adf.Test(_a.AsSpan(0, reference), 10);
        if (details is not null)
        {
            details.AdfComputed = true;
            details.Adf = adf;
        }
        if (adf.Error is not null)
        {
            return Vote.Error;
        }
        return Of(adf.PValue < 0.05);
    }

    private void EnsureCapacity(int n)
    {
        if (_a.Length < n)
        {
            _a = new double[Math.Max(n, _a.Length * 2)];
        }
        if (_b.Length < n)
        {
            var size = Math.Max(n, _b.Length * 2);
            _b = new double[size];
            _c = new double[size];
        }
    }

    private static bool AllEqual(ReadOnlySpan<double> window)
    {
        var first = window[0];
        foreach (var v in window)
        {
            if (v != first)
            {
                return false;
            }
        }
        return true;
    }

    // Distinct values (0.0 and -0.0 equal, as in a Python set), counting no further than 'stop'.
    private int CountDistinct(ReadOnlySpan<double> window, int stop)
    {
        if (_c.Length < window.Length)
        {
            _c = new double[Math.Max(window.Length, _c.Length * 2)];
        }
        var work = _c.AsSpan(0, window.Length);
        window.CopyTo(work);
        work.Sort();
        var distinct = 0;
        for (var i = 0; i < work.Length && distinct < stop; i++)
        {
            if (i == 0 || work[i] != work[i - 1])
            {
                distinct++;
            }
        }
        return distinct;
    }
}
