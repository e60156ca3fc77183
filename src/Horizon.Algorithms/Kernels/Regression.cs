using System.Numerics;
using System.Runtime.InteropServices;

namespace Horizon.Algorithms.Kernels;

/// <summary>A straight-line fit value = slope·t + intercept.</summary>
public readonly record struct LineFit(double Slope, double Intercept, int Rank, double SingularLarge, double SingularSmall);

/// <summary>Skyline's least_squares fit: <c>numpy.linalg.lstsq</c> of [t, 1] against the values,
/// on raw unix timestamps. That matrix is badly conditioned (about 1e14 for a day), and LAPACK's
/// gelsd with numpy's legacy rcond treats a singular value at or below 2⁻⁵³ times the largest as
/// zero; then numpy returns the minimum-norm rank-1 solution, a near-horizontal line through the
/// origin, instead of the regression line. Both cases are reproduced: the singular values from
/// the 2×2 Gram matrix with its determinant taken from centred sums (accurate where the direct
/// form cancels), the rank-2 fit from centred sums, the rank-1 fit from the dominant singular
/// pair.</summary>
public static class Regression
{
    private static readonly double Epsilon = Math.ScaleB(1.0, -53);

    /// <summary>Fits the line; <paramref name="scalar"/> selects the reference kernels.</summary>
    public static LineFit Fit(ReadOnlySpan<double> t, ReadOnlySpan<double> y, bool scalar = false)
    {
        var n = t.Length;
        if (n == 0)
        {
            return new LineFit(0, 0, 0, 0, 0);
        }
        var sumT = scalar ? Pairwise.SumScalar(t) : Pairwise.Sum(t);
        var meanT = sumT / n;
        var sxx = scalar ? Pairwise.SquaredDeviationsScalar(t, meanT) : Pairwise.SquaredDeviations(t, meanT);
        var sumT2 = scalar ? Pairwise.SquaredDeviationsScalar(t, 0) : Pairwise.SquaredDeviations(t, 0);
        // Gram matrix [[Σt², Σt], [Σt, n]]; det = n·Σ(t - mean)².
        double a = sumT2, b = sumT, d = n;
        var det = n * sxx;
        var lambda1 = (a + d + Math.Sqrt((a - d) * (a - d) + 4 * b * b)) / 2;
        var lambda2 = det / lambda1;
        var s1 = Math.Sqrt(lambda1);
        var s2 = Math.Sqrt(Math.Max(lambda2, 0));
        if (s2 > Epsilon * s1)
        {
            var sumY = scalar ? Pairwise.SumScalar(y) : Pairwise.Sum(y);
            var meanY = sumY / n;
            var sxy = scalar ? Pairwise.CrossDeviationsScalar(t, y, meanT, meanY) : Pairwise.CrossDeviations(t, y, meanT, meanY);
            var slope = sxy / sxx;
            return new LineFit(slope, meanY - slope * meanT, 2, s1, s2);
        }
        // Rank 1: x = v1 (v1 · Aᵀy) / s1², v1 the dominant eigenvector of the Gram matrix.
        double vx = lambda1 - d, vy = b;
        var norm = Math.Sqrt(vx * vx + vy * vy);
        vx /= norm;
        vy /= norm;
        var sumTy = scalar ? Pairwise.CrossDeviationsScalar(t, y, 0, 0) : Pairwise.CrossDeviations(t, y, 0, 0);
        var sumY1 = scalar ? Pairwise.SumScalar(y) : Pairwise.Sum(y);
        var k = (vx * sumTy + vy * sumY1) / lambda1;
        return new LineFit(vx * k, vy * k, 1, s1, s2);
    }

    /// <summary>errors[i] = y[i] − (slope·t[i] + intercept), as Skyline's loop computes them.</summary>
    public static void Residuals(ReadOnlySpan<double> t, ReadOnlySpan<double> y, double slope, double intercept, Span<double> errors, bool scalar = false)
    {
        var i = 0;
        if (!scalar && Vector.IsHardwareAccelerated)
        {
            var m = new Vector<double>(slope);
            var c = new Vector<double>(intercept);
            var tv = MemoryMarshal.Cast<double, Vector<double>>(t);
            var yv = MemoryMarshal.Cast<double, Vector<double>>(y);
            var ev = MemoryMarshal.Cast<double, Vector<double>>(errors);
            var count = Math.Min(tv.Length, yv.Length);
            for (var k = 0; k < count; k++)
            {
                ev[k] = yv[k] - (m * tv[k] + c);
            }
            i = count * Vector<double>.Count;
        }
        for (; i < t.Length; i++)
        {
            errors[i] = y[i] - (slope * t[i] + intercept);
        }
    }

    /// <summary>The least-squares line of y against its index (0, 1, ...), with each value first
    /// clamped to within <c>clip.Limit</c> of a previous fit <c>clip</c> when the limit is positive:
    /// the ensemble's regression detector fits, clips its outliers, and fits again.</summary>
    public static (double Slope, double Intercept) OverIndex(ReadOnlySpan<double> y, (double Slope, double Intercept, double Limit) clip)
    {
        var n = y.Length;
        double st = 0, sy = 0, stt = 0, sty = 0;
        for (var i = 0; i < n; i++)
        {
            var v = y[i];
            if (clip.Limit > 0)
            {
                var fit = clip.Intercept + (clip.Slope * i);
                v = Math.Clamp(v, fit - clip.Limit, fit + clip.Limit);
            }
            st += i;
            sy += v;
            stt += (double)i * i;
            sty += i * v;
        }
        var denominator = (n * stt) - (st * st);
        var slope = denominator == 0 ? 0 : ((n * sty) - (st * sy)) / denominator;
        return (slope, (sy - (slope * st)) / n);
    }
}
