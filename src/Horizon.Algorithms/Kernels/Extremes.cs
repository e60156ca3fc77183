using System.Numerics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Horizon.Algorithms.Kernels;

/// <summary>Minimum and maximum of a series (no NaN: stored values are always finite).</summary>
public static class Extremes
{
    /// <summary>Scalar reference.</summary>
    public static (double Min, double Max) MinMaxScalar(ReadOnlySpan<double> x)
    {
        if (x.IsEmpty)
        {
            return (double.NaN, double.NaN);
        }
        double min = x[0], max = x[0];
        for (var i = 1; i < x.Length; i++)
        {
            var v = x[i];
            if (v < min)
            {
                min = v;
            }
            if (v > max)
            {
                max = v;
            }
        }
        return (min, max);
    }

    /// <summary>SIMD (512-bit lanes where the CPU has them, else 256-bit).</summary>
    public static (double Min, double Max) MinMax(ReadOnlySpan<double> x)
    {
        if (x.Length < 16 || !Vector256.IsHardwareAccelerated)
        {
            return MinMaxScalar(x);
        }
        ref var r = ref MemoryMarshal.GetReference(x);
        int i;
        double min, max;
        if (Vector512.IsHardwareAccelerated && x.Length >= 32)
        {
            var vmin = Vector512.LoadUnsafe(ref r);
            var vmax = vmin;
            for (i = 8; i <= x.Length - 8; i += 8)
            {
                var v = Vector512.LoadUnsafe(ref r, (nuint)i);
                vmin = Vector512.Min(vmin, v);
                vmax = Vector512.Max(vmax, v);
            }
            min = Reduce(vmin.GetLower(), vmin.GetUpper(), isMin: true);
            max = Reduce(vmax.GetLower(), vmax.GetUpper(), isMin: false);
        }
        else
        {
            var vmin = Vector256.LoadUnsafe(ref r);
            var vmax = vmin;
            for (i = 4; i <= x.Length - 4; i += 4)
            {
                var v = Vector256.LoadUnsafe(ref r, (nuint)i);
                vmin = Vector256.Min(vmin, v);
                vmax = Vector256.Max(vmax, v);
            }
            min = Reduce(vmin, vmin, isMin: true);
            max = Reduce(vmax, vmax, isMin: false);
        }
        for (; i < x.Length; i++)
        {
            min = Math.Min(min, x[i]);
            max = Math.Max(max, x[i]);
        }
        return (min, max);
    }

    /// <summary>How many of x lie in [lo, hi], and how many are not NaN (scalar reference).</summary>
    public static (int Within, int Held) CountWithinScalar(ReadOnlySpan<float> x, float lo, float hi)
    {
        int within = 0, held = 0;
        foreach (var v in x)
        {
            within += v >= lo && v <= hi ? 1 : 0;
            held += float.IsNaN(v) ? 0 : 1;
        }
        return (within, held);
    }

    /// <summary>How many of x lie in [lo, hi], and how many are not NaN (SIMD): roll-up slots, where
    /// NaN marks a slot with no points.</summary>
    public static (int Within, int Held) CountWithin(ReadOnlySpan<float> x, float lo, float hi)
    {
        var width = Vector<float>.Count;
        if (!Vector.IsHardwareAccelerated || x.Length < width)
        {
            return CountWithinScalar(x, lo, hi);
        }
        var l = new Vector<float>(lo);
        var h = new Vector<float>(hi);
        var within = Vector<int>.Zero;
        var held = Vector<int>.Zero;
        var i = 0;
        for (; i <= x.Length - width; i += width)
        {
            var v = new Vector<float>(x[i..]);
            within -= Vector.GreaterThanOrEqual(v, l) & Vector.LessThanOrEqual(v, h); // lanes in range are -1
            held -= Vector.Equals(v, v); // NaN is not equal to itself
        }
        var (w, k) = CountWithinScalar(x[i..], lo, hi);
        return (Vector.Sum(within) + w, Vector.Sum(held) + k);
    }

    /// <summary>Scalar reference: how many values lie in [<paramref name="lo"/>, <paramref name="hi"/>].</summary>
    public static int CountWithinScalar(ReadOnlySpan<double> x, double lo, double hi)
    {
        var count = 0;
        foreach (var v in x)
        {
            count += v >= lo && v <= hi ? 1 : 0;
        }
        return count;
    }

    /// <summary>SIMD (<see cref="Vector{T}"/> lanes): how many values lie in [<paramref name="lo"/>, <paramref name="hi"/>].</summary>
    public static int CountWithin(ReadOnlySpan<double> x, double lo, double hi)
    {
        var width = Vector<double>.Count;
        if (!Vector.IsHardwareAccelerated || x.Length < width)
        {
            return CountWithinScalar(x, lo, hi);
        }
        var l = new Vector<double>(lo);
        var h = new Vector<double>(hi);
        var counts = Vector<long>.Zero;
        var i = 0;
        for (; i <= x.Length - width; i += width)
        {
            var v = new Vector<double>(x[i..]);
            counts -= Vector.GreaterThanOrEqual(v, l) & Vector.LessThanOrEqual(v, h); // lanes in range are -1
        }
        return (int)Vector.Sum(counts) + CountWithinScalar(x[i..], lo, hi);
    }

    private static double Reduce(Vector256<double> a, Vector256<double> b, bool isMin)
    {
        var v = isMin ? Vector256.Min(a, b) : Vector256.Max(a, b);
        var result = v.GetElement(0);
        for (var k = 1; k < 4; k++)
        {
            result = isMin ? Math.Min(result, v.GetElement(k)) : Math.Max(result, v.GetElement(k));
        }
        return result;
    }
}
