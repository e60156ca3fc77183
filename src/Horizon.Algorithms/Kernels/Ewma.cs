using System.Collections.Concurrent;
using System.Numerics;
using System.Runtime.InteropServices;

namespace Horizon.Algorithms.Kernels;

/// <summary>The exponentially weighted mean and standard deviation at the last point of a series,
/// as pandas <c>ewm(com=c).mean()</c> / <c>.std()</c> compute them (adjust=True, bias=False).</summary>
public static class Ewma
{
    private static readonly ConcurrentDictionary<double, double[]> Tables = new();

    /// <summary>Scalar reference: pandas' own recursion (<c>ewma</c> and <c>ewmcov</c> in
    /// pandas/_libs/window/aggregations.pyx), which updates the mean and the covariance one point at
    /// a time.</summary>
    public static (double Mean, double Std) LastScalar(ReadOnlySpan<double> x, double com)
    {
        if (x.IsEmpty)
        {
            return (double.NaN, double.NaN);
        }
        var alpha = 1.0 / (1.0 + com);
        var oldWtFactor = 1.0 - alpha;
        const double newWt = 1.0;

        // ewma
        var weightedAvg = x[0];
        var oldWt = 1.0;
        for (var i = 1; i < x.Length; i++)
        {
            var cur = x[i];
            oldWt *= oldWtFactor;
            if (weightedAvg != cur)
            {
                weightedAvg = ((oldWt * weightedAvg) + (newWt * cur)) / (oldWt + newWt);
            }
            oldWt += newWt;
        }

        // ewmcov(x, x), bias=False
        var meanX = x[0];
        var cov = 0.0;
        var sumWt = 1.0;
        var sumWt2 = 1.0;
        oldWt = 1.0;
        for (var i = 1; i < x.Length; i++)
        {
            var cur = x[i];
            sumWt *= oldWtFactor;
            sumWt2 *= oldWtFactor * oldWtFactor;
            oldWt *= oldWtFactor;
            var oldMean = meanX;
            if (meanX != cur)
            {
                meanX = ((oldWt * oldMean) + (newWt * cur)) / (oldWt + newWt);
            }
            cov = ((oldWt * (cov + ((oldMean - meanX) * (oldMean - meanX)))) + (newWt * ((cur - meanX) * (cur - meanX)))) / (oldWt + newWt);
            sumWt += newWt;
            sumWt2 += newWt * newWt;
            oldWt += newWt;
        }
        var numerator = sumWt * sumWt;
        var denominator = numerator - sumWt2;
        var variance = denominator > 0 ? numerator / denominator * cov : double.NaN;
        return (weightedAvg, variance < 0 ? 0 : Math.Sqrt(variance));
    }

    /// <summary>SIMD: the closed form of the same quantities, mean = Σwᵢxᵢ/Σwᵢ with the newest
    /// point's weight 1 and each older one (1−α) times the next, variance = Σwᵢ(xᵢ−mean)²/Σwᵢ ×
    /// (Σwᵢ)²/((Σwᵢ)²−Σwᵢ²), as dot products with a cached weight table. Agrees with the recursion to
    /// about 1e-13 relative.</summary>
    public static (double Mean, double Std) Last(ReadOnlySpan<double> x, double com)
    {
        var n = x.Length;
        if (n == 0)
        {
            return (double.NaN, double.NaN);
        }
        if (n == 1)
        {
            return (x[0], double.NaN);
        }
        var weights = Weights(com, n);
        double sw = 0, sw2 = 0, swx = 0;
        var i = 0;
        if (Vector.IsHardwareAccelerated && n >= Vector<double>.Count * 2)
        {
            var vsw = Vector<double>.Zero;
            var vsw2 = Vector<double>.Zero;
            var vswx = Vector<double>.Zero;
            var xv = MemoryMarshal.Cast<double, Vector<double>>(x);
            var wv = MemoryMarshal.Cast<double, Vector<double>>(weights);
            for (var k = 0; k < xv.Length; k++)
            {
                var w = wv[k];
                vsw += w;
                vsw2 += w * w;
                vswx += w * xv[k];
            }
            sw = Vector.Sum(vsw);
            sw2 = Vector.Sum(vsw2);
            swx = Vector.Sum(vswx);
            i = xv.Length * Vector<double>.Count;
        }
        for (; i < n; i++)
        {
            sw += weights[i];
            sw2 += weights[i] * weights[i];
            swx += weights[i] * x[i];
        }
        var mean = swx / sw;
        double swd = 0;
        i = 0;
        if (Vector.IsHardwareAccelerated && n >= Vector<double>.Count * 2)
        {
            var vswd = Vector<double>.Zero;
            var vmean = new Vector<double>(mean);
            var xv = MemoryMarshal.Cast<double, Vector<double>>(x);
            var wv = MemoryMarshal.Cast<double, Vector<double>>(weights);
            for (var k = 0; k < xv.Length; k++)
            {
                var d = xv[k] - vmean;
                vswd += wv[k] * d * d;
            }
            swd = Vector.Sum(vswd);
            i = xv.Length * Vector<double>.Count;
        }
        for (; i < n; i++)
        {
            var d = x[i] - mean;
            swd += weights[i] * d * d;
        }
        var numerator = sw * sw;
        var denominator = numerator - sw2;
        var variance = denominator > 0 ? numerator / denominator * (swd / sw) : double.NaN;
        return (mean, variance < 0 ? 0 : Math.Sqrt(variance));
    }

    // Weights for the last n points: table[L-n..L), where table[L-1-j] = (1-α)^j.
    private static ReadOnlySpan<double> Weights(double com, int n)
    {
        var table = Tables.GetOrAdd(com, static c => Build(c, 2048));
        if (table.Length < n)
        {
            table = Build(com, (int)Math.Min((long)n * 2, int.MaxValue / 2));
            Tables[com] = table;
        }
        return table.AsSpan(table.Length - n, n);
    }

    private static double[] Build(double com, int length)
    {
        var q = 1.0 - 1.0 / (1.0 + com);
        var table = new double[length];
        for (var j = 0; j < length; j++)
        {
            table[length - 1 - j] = Math.Pow(q, j);
        }
        return table;
    }
}
