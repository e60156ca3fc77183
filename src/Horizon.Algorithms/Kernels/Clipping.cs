using System.Numerics;

namespace Horizon.Algorithms.Kernels;

/// <summary>Values clamped to a band: how the ensemble keeps a spike from dragging a mean or a fit
/// (a spike counts as the band's edge at most).</summary>
public static class Clipping
{
    /// <summary>SIMD: <paramref name="x"/> less <paramref name="offset"/>, clamped to the band, into
    /// <paramref name="buffer"/> (which may be <paramref name="x"/> itself). Equal to the scalar reference
    /// element for element (min and max are exact).</summary>
    public static Span<double> Clip(ReadOnlySpan<double> x, (double Lo, double Hi) band, Span<double> buffer, double offset = 0)
    {
        var into = buffer[..x.Length];
        var i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var (o, lo, hi) = (new Vector<double>(offset), new Vector<double>(band.Lo), new Vector<double>(band.Hi));
            for (; i <= x.Length - Vector<double>.Count; i += Vector<double>.Count)
            {
                Vector.Min(Vector.Max(new Vector<double>(x[i..]) - o, lo), hi).CopyTo(into[i..]);
            }
        }
        for (; i < x.Length; i++)
        {
            into[i] = Math.Min(Math.Max(x[i] - offset, band.Lo), band.Hi);
        }
        return into;
    }

    /// <summary>Scalar reference of <see cref="Clip"/>.</summary>
    public static Span<double> ClipScalar(ReadOnlySpan<double> x, (double Lo, double Hi) band, Span<double> buffer, double offset = 0)
    {
        var into = buffer[..x.Length];
        for (var i = 0; i < x.Length; i++)
        {
            into[i] = Math.Min(Math.Max(x[i] - offset, band.Lo), band.Hi);
        }
        return into;
    }

    /// <summary>The sum of <paramref name="x"/> clamped to [lo, hi], added in order (the pre-screen's
    /// few points: not worth a vector).</summary>
    public static double ClippedSum(ReadOnlySpan<double> x, double lo, double hi)
    {
        var sum = 0.0;
        foreach (var v in x)
        {
            sum += Math.Clamp(v, lo, hi);
        }
        return sum;
    }
}

/// <summary>A sum in <see cref="Vector{T}"/> lanes: each lane adds every Count-th value, the lanes
/// are added at the end, then the rest in order. For short spans (a sustained mean's points) where
/// numpy's pairwise order (<see cref="Pairwise"/>) is not needed.</summary>
public static class LaneSum
{
    /// <summary>SIMD.</summary>
    public static double Sum(ReadOnlySpan<double> x)
    {
        var i = 0;
        var sum = 0.0;
        if (Vector.IsHardwareAccelerated && x.Length >= Vector<double>.Count)
        {
            var acc = new Vector<double>(x);
            for (i = Vector<double>.Count; i <= x.Length - Vector<double>.Count; i += Vector<double>.Count)
            {
                acc += new Vector<double>(x[i..]);
            }
            sum = Vector.Sum(acc);
        }
        for (; i < x.Length; i++)
        {
            sum += x[i];
        }
        return sum;
    }

    /// <summary>Scalar reference: the same additions in the same order, lane by lane, so it equals
    /// <see cref="Sum"/> exactly.</summary>
    public static double SumScalar(ReadOnlySpan<double> x)
    {
        var lanes = Vector.IsHardwareAccelerated ? Vector<double>.Count : x.Length + 1;
        var i = 0;
        var sum = 0.0;
        if (x.Length >= lanes)
        {
            Span<double> acc = stackalloc double[lanes];
            x[..lanes].CopyTo(acc);
            for (i = lanes; i <= x.Length - lanes; i += lanes)
            {
                for (var l = 0; l < lanes; l++)
                {
                    acc[l] += x[i + l];
                }
            }
            sum = HorizontalSum(acc);
        }
        for (; i < x.Length; i++)
        {
            sum += x[i];
        }
        return sum;
    }

    // Vector.Sum's order: adjacent pairs, then pairs of pairs.
    private static double HorizontalSum(Span<double> lanes)
    {
        for (var width = lanes.Length; width > 1; width /= 2)
        {
            for (var l = 0; l < width / 2; l++)
            {
                lanes[l] = lanes[2 * l] + lanes[(2 * l) + 1];
            }
        }
        return lanes[0];
    }
}
