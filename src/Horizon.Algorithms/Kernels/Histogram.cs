using System.Numerics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Horizon.Algorithms.Kernels;

/// <summary><c>numpy.histogram(values, bins=15)</c>: 15 equal bins between the minimum and the
/// maximum (±0.5 when they are equal), edges <c>min + i·((max − min)/15)</c> with the last edge
/// exactly the maximum, a value in bin i when edge[i] ≤ v &lt; edge[i+1] and the last bin closed.
/// Skyline's histogram_bins verdict can hinge on the last bit of an edge, so both forms here
/// reproduce numpy exactly.</summary>
public static class Histogram
{
    /// <summary>Number of bins.</summary>
    public const int Bins = 15;

    /// <summary>The 16 edges numpy computes (<c>linspace(min, max, 16)</c>).</summary>
    public static void Edges(double min, double max, Span<double> edges)
    {
        if (min == max)
        {
            min -= 0.5;
            max += 0.5;
        }
        var step = (max - min) / Bins;
        for (var i = 0; i < Bins; i++)
        {
            edges[i] = i * step + min;
        }
        edges[Bins] = max;
    }

    /// <summary>Scalar reference: numpy's own method (index by division, then corrected by one
    /// against the edges).</summary>
    public static void CountsScalar(ReadOnlySpan<double> x, ReadOnlySpan<double> edges, Span<int> counts)
    {
        counts[..Bins].Clear();
        double first = edges[0], last = edges[Bins];
        var denominator = last - first;
        foreach (var v in x)
        {
            var index = (int)((v - first) / denominator * Bins);
            if (index == Bins)
            {
                index--;
            }
            if (v < edges[index])
            {
                index--;
            }
            else if (index != Bins - 1 && v >= edges[index + 1])
            {
                index++;
            }
            counts[index]++;
        }
    }

    /// <summary>SIMD: bin i holds #(v &lt; edge[i+1]) − #(v &lt; edge[i]) values (the last bin takes
    /// everything from edge[14]), each count a vector compare and population count per edge.</summary>
    public static void Counts(ReadOnlySpan<double> x, ReadOnlySpan<double> edges, Span<int> counts)
    {
        Span<int> below = stackalloc int[Bins + 1];
        below[0] = 0;
        for (var e = 1; e < Bins; e++)
        {
            below[e] = CountBelow(x, edges[e]);
        }
        below[Bins] = x.Length;
        for (var b = 0; b < Bins; b++)
        {
            counts[b] = below[b + 1] - below[b];
        }
    }

    /// <summary>numpy's count of one bin (the last bin closed), by two vector counting passes.</summary>
    public static int CountOf(ReadOnlySpan<double> x, ReadOnlySpan<double> edges, int bin)
    {
        var upper = bin == Bins - 1 ? x.Length : CountBelow(x, edges[bin + 1]);
        var lower = bin == 0 ? 0 : CountBelow(x, edges[bin]);
        return upper - lower;
    }

    /// <summary>#(v &lt; threshold).</summary>
    public static int CountBelow(ReadOnlySpan<double> x, double threshold)
    {
        ref var r = ref MemoryMarshal.GetReference(x);
        var count = 0;
        var i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var t = Vector512.Create(threshold);
            for (; i <= x.Length - 8; i += 8)
            {
                count += BitOperations.PopCount(Vector512.LessThan(Vector512.LoadUnsafe(ref r, (nuint)i), t).ExtractMostSignificantBits());
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            var t = Vector256.Create(threshold);
            for (; i <= x.Length - 4; i += 4)
            {
                count += BitOperations.PopCount(Vector256.LessThan(Vector256.LoadUnsafe(ref r, (nuint)i), t).ExtractMostSignificantBits());
            }
        }
        for (; i < x.Length; i++)
        {
            if (x[i] < threshold)
            {
                count++;
            }
        }
        return count;
    }
}
