using System.Numerics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Horizon.Analysis.Kernels;

/// <summary>Order statistics by selection rather than sorting: the median as pandas computes it
/// (the mean of the two middle values for an even count) and the median absolute deviation.
/// Both forms return exactly the same value, the k-th smallest element being unique.</summary>
public static class Selection
{
    /// <summary>Median (scalar reference: copy, then quickselect).</summary>
    public static double MedianScalar(ReadOnlySpan<double> x, Span<double> scratch)
    {
        var n = x.Length;
        if (n == 0)
        {
            return double.NaN;
        }
        var work = scratch[..n];
        x.CopyTo(work);
        var k = n / 2;
        var upper = QuickSelect(work, k);
        if (n % 2 == 1)
        {
            return upper;
        }
        // The largest of the lower half, which quickselect left below position k.
        var lower = work[0];
        for (var i = 1; i < k; i++)
        {
            lower = Math.Max(lower, work[i]);
        }
        return (lower + upper) / 2;
    }

    /// <summary>Median (SIMD). With AVX-512 and a scratch of twice the length: quickselect with a
    /// branch-free compress-store partition. Otherwise: a sample brackets the middle, one vector
    /// pass counts what lies below the bracket and gathers what lies inside, and only that rest is
    /// searched.</summary>
    public static double Median(ReadOnlySpan<double> x, Span<double> scratch)
    {
        var n = x.Length;
        if (n == 0)
        {
            return double.NaN;
        }
        var k = n / 2;
        if (n % 2 == 1)
        {
            SelectPair(x, k, scratch, out var only, out _);
            return only;
        }
        SelectPair(x, k - 1, scratch, out var lower, out var upper);
        return (lower + upper) / 2;
    }

    /// <summary>Median of |x − median| (scalar reference).</summary>
    public static double AbsoluteDeviationMedianScalar(ReadOnlySpan<double> x, double median, Span<double> deviations, Span<double> scratch)
    {
        var d = deviations[..x.Length];
        for (var i = 0; i < x.Length; i++)
        {
            d[i] = Math.Abs(x[i] - median);
        }
        return MedianScalar(d, scratch);
    }

    /// <summary>Median of |x − median| (SIMD).</summary>
    public static double AbsoluteDeviationMedian(ReadOnlySpan<double> x, double median, Span<double> deviations, Span<double> scratch)
    {
        var d = deviations[..x.Length];
        var i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var m = new Vector<double>(median);
            var xv = MemoryMarshal.Cast<double, Vector<double>>(x);
            var dv = MemoryMarshal.Cast<double, Vector<double>>(d);
            for (var k = 0; k < xv.Length; k++)
            {
                dv[k] = Vector.Abs(xv[k] - m);
            }
            i = xv.Length * Vector<double>.Count;
        }
        for (; i < x.Length; i++)
        {
            d[i] = Math.Abs(x[i] - median);
        }
        return Median(d, scratch);
    }

    // The k-th and (k+1)-th smallest (0-based; the second is NaN when k is the last index).
    private static void SelectPair(ReadOnlySpan<double> x, int k, Span<double> scratch, out double kth, out double next)
    {
        var n = x.Length;
        if (Avx512F.IsSupported && n > 64 && scratch.Length >= 2 * n)
        {
            SelectPairCompress(x, k, scratch, out kth, out next);
            return;
        }
        if (n <= 96)
        {
            var all = scratch[..n];
            x.CopyTo(all);
            all.Sort();
            kth = all[k];
            next = k + 1 < n ? all[k + 1] : double.NaN;
            return;
        }
        // Floyd-Rivest: order statistics of 128 evenly spaced elements give two pivots that
        // bracket ranks k and k+1 with high probability (the spread is about two standard
        // deviations of a sample rank); one vector pass counts what lies below the bracket and
        // gathers what lies inside, and only that fifth of the data is searched.
        const int s = 128;
        const int spread = 12;
        Span<double> sample = stackalloc double[s];
        for (var i = 0; i < s; i++)
        {
            sample[i] = x[(int)((long)i * n / s)];
        }
        var at = (int)((long)k * s / n);
        var lo = at - spread < 0 ? double.NegativeInfinity : QuickSelect(sample, at - spread);
        var hi = at + spread + 1 >= s ? double.PositiveInfinity : QuickSelect(sample, at + spread + 1);
        var gathered = Gather(x, lo, hi, scratch, out var below);
        var wantNext = k + 1 < n;
        if (below <= k && (wantNext ? k + 1 < below + gathered : k < below + gathered))
        {
            var inside = scratch[..gathered];
            var r = k - below;
            kth = QuickSelect(inside, r);
            next = wantNext ? MinOf(inside[(r + 1)..]) : double.NaN;
            return;
        }
        // The bracket missed (an unrepresentative sample): quickselect on a copy of everything.
        var work = scratch[..n];
        x.CopyTo(work);
        kth = QuickSelect(work, k);
        next = wantNext ? MinOf(work[(k + 1)..]) : double.NaN;
    }

    // Quickselect whose partition is branch-free: each round counts the values below and above
    // a pivot with vector compares, then copies the side that holds rank k with AVX-512's
    // compress-store. On real series a scalar partition loses most of its time to branch
    // mispredictions; this has none that depend on the data.
    private static unsafe void SelectPairCompress(ReadOnlySpan<double> x, int k, Span<double> scratch, out double kth, out double next)
    {
        var total = x.Length;
        var wantNext = k + 1 < total;
        // The smallest value known to lie above the current subset (rank k+1 when k ends up last).
        var above = double.PositiveInfinity;
        fixed (double* input = x)
        fixed (double* buffers = scratch)
        {
            var source = input;
            var n = total;
            var destination = buffers;
            var spare = buffers + total;
            while (n > 32)
            {
                var pivot = PivotOf(new ReadOnlySpan<double>(source, n));
                var vp = Vector512.Create(pivot);
                int less = 0, greater = 0;
                var i = 0;
                var minGreater = Vector512.Create(double.PositiveInfinity);
                for (; i <= n - 8; i += 8)
                {
                    var v = Vector512.Load(source + i);
                    var gt = Vector512.GreaterThan(v, vp);
                    less += BitOperations.PopCount(Vector512.LessThan(v, vp).ExtractMostSignificantBits());
                    greater += BitOperations.PopCount(gt.ExtractMostSignificantBits());
                    minGreater = Vector512.Min(minGreater, Vector512.ConditionalSelect(gt, v, Vector512.Create(double.PositiveInfinity)));
                }
                var minAbovePivot = double.PositiveInfinity;
                for (var lane = 0; lane < 8; lane++)
                {
                    minAbovePivot = Math.Min(minAbovePivot, minGreater.GetElement(lane));
                }
                for (; i < n; i++)
                {
                    var v = source[i];
                    if (v < pivot)
                    {
                        less++;
                    }
                    else if (v > pivot)
                    {
                        greater++;
                        minAbovePivot = Math.Min(minAbovePivot, v);
                    }
                }
                var equal = n - less - greater;
                if (k >= less && k < less + equal)
                {
                    kth = pivot;
                    next = !wantNext ? double.NaN : k + 1 < less + equal ? pivot : Math.Min(minAbovePivot, above);
                    return;
                }
                var keepLess = k < less;
                if (keepLess)
                {
                    above = Math.Min(above, pivot);
                }
                else
                {
                    k -= less + equal;
                }
                var count = 0;
                for (i = 0; i <= n - 8; i += 8)
                {
                    var v = Vector512.Load(source + i);
                    var mask = keepLess ? Vector512.LessThan(v, vp) : Vector512.GreaterThan(v, vp);
                    Avx512F.CompressStore(destination + count, mask, v);
                    count += BitOperations.PopCount(mask.ExtractMostSignificantBits());
                }
                for (; i < n; i++)
                {
                    var v = source[i];
                    if (keepLess ? v < pivot : v > pivot)
                    {
                        destination[count++] = v;
                    }
                }
                n = count;
                source = destination;
                var swap = destination;
                destination = spare;
                spare = swap;
            }
            Span<double> small = stackalloc double[n];
            new ReadOnlySpan<double>(source, n).CopyTo(small);
            small.Sort();
            kth = small[k];
            next = !wantNext ? double.NaN : k + 1 < n ? small[k + 1] : above;
        }
    }

    // Median of nine evenly spaced values: cheap, and exact on sorted runs (drifting series).
    private static double PivotOf(ReadOnlySpan<double> x)
    {
        Span<double> nine = stackalloc double[9];
        for (var i = 0; i < 9; i++)
        {
            nine[i] = x[(int)((long)(2 * i + 1) * x.Length / 18)];
        }
        nine.Sort();
        return nine[4];
    }

    // After QuickSelect(work, k), everything past k is >= work[k]: the next order statistic is
    // their minimum.
    private static double MinOf(ReadOnlySpan<double> x)
    {
        var min = double.PositiveInfinity;
        foreach (var v in x)
        {
            if (v < min)
            {
                min = v;
            }
        }
        return min;
    }

    // Copies lo ≤ v ≤ hi into destination; returns how many, and how many were below lo.
    private static int Gather(ReadOnlySpan<double> x, double lo, double hi, Span<double> destination, out int below)
    {
        var count = 0;
        below = 0;
        var i = 0;
        ref var r = ref MemoryMarshal.GetReference(x);
        if (Vector512.IsHardwareAccelerated)
        {
            var vlo = Vector512.Create(lo);
            var vhi = Vector512.Create(hi);
            for (; i <= x.Length - 8; i += 8)
            {
                var v = Vector512.LoadUnsafe(ref r, (nuint)i);
                var lessMask = Vector512.LessThan(v, vlo).ExtractMostSignificantBits();
                below += BitOperations.PopCount(lessMask);
                var inMask = (~lessMask & ~Vector512.GreaterThan(v, vhi).ExtractMostSignificantBits()) & 0xFF;
                while (inMask != 0)
                {
                    var bit = BitOperations.TrailingZeroCount(inMask);
                    destination[count++] = x[i + bit];
                    inMask &= inMask - 1;
                }
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            var vlo = Vector256.Create(lo);
            var vhi = Vector256.Create(hi);
            for (; i <= x.Length - 4; i += 4)
            {
                var v = Vector256.LoadUnsafe(ref r, (nuint)i);
                var lessMask = Vector256.LessThan(v, vlo).ExtractMostSignificantBits();
                below += BitOperations.PopCount(lessMask);
                var inMask = (~lessMask & ~Vector256.GreaterThan(v, vhi).ExtractMostSignificantBits()) & 0xF;
                while (inMask != 0)
                {
                    var bit = BitOperations.TrailingZeroCount(inMask);
                    destination[count++] = x[i + bit];
                    inMask &= inMask - 1;
                }
            }
        }
        for (; i < x.Length; i++)
        {
            var v = x[i];
            if (v < lo)
            {
                below++;
            }
            else if (v <= hi)
            {
                destination[count++] = v;
            }
        }
        return count;
    }

    /// <summary>Hoare-style quickselect with median-of-three pivots: afterwards work[k] holds the
    /// k-th smallest, everything before it is ≤ and everything after is ≥.</summary>
    public static double QuickSelect(Span<double> work, int k)
    {
        int left = 0, right = work.Length - 1;
        while (right > left)
        {
            if (right - left < 16)
            {
                work[left..(right + 1)].Sort();
                return work[k];
            }
            var mid = left + (right - left) / 2;
            if (work[mid] < work[left])
            {
                (work[mid], work[left]) = (work[left], work[mid]);
            }
            if (work[right] < work[left])
            {
                (work[right], work[left]) = (work[left], work[right]);
            }
            if (work[right] < work[mid])
            {
                (work[right], work[mid]) = (work[mid], work[right]);
            }
            var pivot = work[mid];
            int i = left, j = right;
            while (i <= j)
            {
                while (work[i] < pivot)
                {
                    i++;
                }
                while (work[j] > pivot)
                {
                    j--;
                }
                if (i <= j)
                {
                    (work[i], work[j]) = (work[j], work[i]);
                    i++;
                    j--;
                }
            }
            if (k <= j)
            {
                right = j;
            }
            else if (k >= i)
            {
                left = i;
            }
            else
            {
                return work[k];
            }
        }
        return work[k];
    }
}
