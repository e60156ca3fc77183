using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Horizon.Algorithms.Kernels;

/// <summary>A term summed by <see cref="Pairwise"/>: the value at i of one or two series.</summary>
public interface ISumTerm
{
    /// <summary>The term at <paramref name="i"/>.</summary>
    static abstract double Scalar(ref double x, ref double y, nint i, double cx, double cy);

    /// <summary>Four consecutive terms from <paramref name="i"/>, computed exactly as
    /// <see cref="Scalar"/> does (same operations, no fused multiply-add).</summary>
    static abstract Vector256<double> Vector(ref double x, ref double y, nint i, Vector256<double> cx, Vector256<double> cy);
}

/// <summary>x[i].</summary>
public readonly struct Plain : ISumTerm
{
    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double Scalar(ref double x, ref double y, nint i, double cx, double cy) => Unsafe.Add(ref x, i);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<double> Vector(ref double x, ref double y, nint i, Vector256<double> cx, Vector256<double> cy) =>
        Vector256.LoadUnsafe(ref x, (nuint)i);
}

/// <summary>(x[i] - cx)².</summary>
public readonly struct SquaredDeviation : ISumTerm
{
    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double Scalar(ref double x, ref double y, nint i, double cx, double cy)
    {
        var d = Unsafe.Add(ref x, i) - cx;
        return d * d;
    }

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<double> Vector(ref double x, ref double y, nint i, Vector256<double> cx, Vector256<double> cy)
    {
        var d = Vector256.LoadUnsafe(ref x, (nuint)i) - cx;
        return d * d;
    }
}

/// <summary>(x[i] - cx)(y[i] - cy).</summary>
public readonly struct CrossDeviation : ISumTerm
{
    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double Scalar(ref double x, ref double y, nint i, double cx, double cy) =>
        (Unsafe.Add(ref x, i) - cx) * (Unsafe.Add(ref y, i) - cy);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<double> Vector(ref double x, ref double y, nint i, Vector256<double> cx, Vector256<double> cy) =>
        (Vector256.LoadUnsafe(ref x, (nuint)i) - cx) * (Vector256.LoadUnsafe(ref y, (nuint)i) - cy);
}

/// <summary>numpy's pairwise summation (<c>pairwise_sum</c> in numpy's umath loops): below 8
/// terms a plain loop; up to 128 terms eight running sums combined as
/// ((r0+r1)+(r2+r3))+((r4+r5)+(r6+r7)) plus a plain tail; above, the two halves (cut at a multiple
/// of 8) summed recursively. Skyline's means and deviations are numpy's and pandas' sums, so
/// following numpy's order reproduces their last bits. The SIMD form keeps the eight running sums
/// in two 256-bit registers, which is the same arithmetic in the same order: both forms give
/// identical results, and tests check that they do.</summary>
public static class Pairwise
{
    /// <summary>Σ x (SIMD).</summary>
    public static double Sum(ReadOnlySpan<double> x) => Run<Plain>(x, x, 0, 0, vector: true);

    /// <summary>Σ x (scalar reference).</summary>
    public static double SumScalar(ReadOnlySpan<double> x) => Run<Plain>(x, x, 0, 0, vector: false);

    /// <summary>Σ (x - c)² (SIMD).</summary>
    public static double SquaredDeviations(ReadOnlySpan<double> x, double c) => Run<SquaredDeviation>(x, x, c, 0, vector: true);

    /// <summary>Σ (x - c)² (scalar reference).</summary>
    public static double SquaredDeviationsScalar(ReadOnlySpan<double> x, double c) => Run<SquaredDeviation>(x, x, c, 0, vector: false);

    /// <summary>Σ (x - cx)(y - cy) (SIMD).</summary>
    public static double CrossDeviations(ReadOnlySpan<double> x, ReadOnlySpan<double> y, double cx, double cy) => Run<CrossDeviation>(x, y, cx, cy, vector: true);

    /// <summary>Σ (x - cx)(y - cy) (scalar reference).</summary>
    public static double CrossDeviationsScalar(ReadOnlySpan<double> x, ReadOnlySpan<double> y, double cx, double cy) => Run<CrossDeviation>(x, y, cx, cy, vector: false);

    private static double Run<T>(ReadOnlySpan<double> x, ReadOnlySpan<double> y, double cx, double cy, bool vector) where T : ISumTerm
    {
        if (y.Length < x.Length)
        {
            throw new ArgumentException("y is shorter than x", nameof(y));
        }
        ref var rx = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(x);
        ref var ry = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(y);
        return vector && Vector256.IsHardwareAccelerated
            ? VectorSum<T>(ref rx, ref ry, x.Length, cx, cy, Vector256.Create(cx), Vector256.Create(cy))
            : ScalarSum<T>(ref rx, ref ry, x.Length, cx, cy);
    }

    private static double ScalarSum<T>(ref double x, ref double y, nint n, double cx, double cy) where T : ISumTerm
    {
        if (n < 8)
        {
            var res = 0.0;
            for (nint i = 0; i < n; i++)
            {
                res += T.Scalar(ref x, ref y, i, cx, cy);
            }
            return res;
        }
        if (n <= 128)
        {
            double r0 = T.Scalar(ref x, ref y, 0, cx, cy), r1 = T.Scalar(ref x, ref y, 1, cx, cy),
                   r2 = T.Scalar(ref x, ref y, 2, cx, cy), r3 = T.Scalar(ref x, ref y, 3, cx, cy),
                   r4 = T.Scalar(ref x, ref y, 4, cx, cy), r5 = T.Scalar(ref x, ref y, 5, cx, cy),
                   r6 = T.Scalar(ref x, ref y, 6, cx, cy), r7 = T.Scalar(ref x, ref y, 7, cx, cy);
            nint i = 8;
            for (; i < n - n % 8; i += 8)
            {
                r0 += T.Scalar(ref x, ref y, i, cx, cy);
                r1 += T.Scalar(ref x, ref y, i + 1, cx, cy);
                r2 += T.Scalar(ref x, ref y, i + 2, cx, cy);
                r3 += T.Scalar(ref x, ref y, i + 3, cx, cy);
                r4 += T.Scalar(ref x, ref y, i + 4, cx, cy);
                r5 += T.Scalar(ref x, ref y, i + 5, cx, cy);
                r6 += T.Scalar(ref x, ref y, i + 6, cx, cy);
                r7 += T.Scalar(ref x, ref y, i + 7, cx, cy);
            }
            var res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7));
            for (; i < n; i++)
            {
                res += T.Scalar(ref x, ref y, i, cx, cy);
            }
            return res;
        }
        var n2 = n / 2;
        n2 -= n2 % 8;
        return ScalarSum<T>(ref x, ref y, n2, cx, cy) + ScalarSum<T>(ref Unsafe.Add(ref x, n2), ref Unsafe.Add(ref y, n2), n - n2, cx, cy);
    }

    private static double VectorSum<T>(ref double x, ref double y, nint n, double cx, double cy, Vector256<double> vcx, Vector256<double> vcy) where T : ISumTerm
    {
        if (n < 8)
        {
            var res = 0.0;
            for (nint i = 0; i < n; i++)
            {
                res += T.Scalar(ref x, ref y, i, cx, cy);
            }
            return res;
        }
        if (n <= 128)
        {
            var lo = T.Vector(ref x, ref y, 0, vcx, vcy);
            var hi = T.Vector(ref x, ref y, 4, vcx, vcy);
            nint i = 8;
            for (; i < n - n % 8; i += 8)
            {
                lo += T.Vector(ref x, ref y, i, vcx, vcy);
                hi += T.Vector(ref x, ref y, i + 4, vcx, vcy);
            }
            var res = ((lo.GetElement(0) + lo.GetElement(1)) + (lo.GetElement(2) + lo.GetElement(3)))
                    + ((hi.GetElement(0) + hi.GetElement(1)) + (hi.GetElement(2) + hi.GetElement(3)));
            for (; i < n; i++)
            {
                res += T.Scalar(ref x, ref y, i, cx, cy);
            }
            return res;
        }
        var n2 = n / 2;
        n2 -= n2 % 8;
        return VectorSum<T>(ref x, ref y, n2, cx, cy, vcx, vcy) + VectorSum<T>(ref Unsafe.Add(ref x, n2), ref Unsafe.Add(ref y, n2), n - n2, cx, cy, vcx, vcy);
    }
}
