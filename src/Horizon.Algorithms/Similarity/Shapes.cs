namespace Horizon.Algorithms.Similarity;

/// <summary>Shapes from series: the mean per time bin on a grid shared by every metric, and any run of
/// values (posted or drawn) stretched to a number of bins.</summary>
public static class Shapes
{
    /// <summary>The means of the points per bin of <paramref name="binSeconds"/> over the
    /// <paramref name="into"/>.Length bins ending with bin <paramref name="endBin"/> (Unix seconds / bin
    /// seconds; timestamps ascending). A bin without points holds the mean before it (the first
    /// ones: the first mean). False when no point falls in the window.</summary>
    public static bool Bin(ReadOnlySpan<long> timestamps, ReadOnlySpan<double> values, long endBin, long binSeconds, Span<float> into)
    {
        Span<double> sum = into.Length <= 512 ? stackalloc double[into.Length] : new double[into.Length];
        Span<int> count = into.Length <= 512 ? stackalloc int[into.Length] : new int[into.Length];
        var first = endBin - into.Length + 1;
        sum.Clear();
        count.Clear();
        for (var i = timestamps.Length - 1; i >= 0 && Add(sum, count, first, FloorDiv(timestamps[i], binSeconds), values[i]); i--)
        {
        }
        return Means(sum, count, into);
    }

    /// <summary><see cref="Bin"/> over a roll-up's slots (slot i holds the mean of slot
    /// <paramref name="firstSlot"/> + i of <paramref name="slotSeconds"/>; NaN: empty): each bin
    /// the mean of its slots' means.</summary>
    public static bool BinSlots(ReadOnlySpan<float> slots, long firstSlot, long slotSeconds, long endBin, long binSeconds, Span<float> into)
    {
        Span<double> sum = into.Length <= 512 ? stackalloc double[into.Length] : new double[into.Length];
        Span<int> count = into.Length <= 512 ? stackalloc int[into.Length] : new int[into.Length];
        var first = endBin - into.Length + 1;
        sum.Clear();
        count.Clear();
        for (var i = slots.Length - 1; i >= 0 && Add(sum, count, first, FloorDiv((firstSlot + i) * slotSeconds, binSeconds), slots[i]); i--)
        {
        }
        return Means(sum, count, into);
    }

    // Adds a value (read newest first) to its bin of the window starting at bin `first`; false once
    // the values are older than the window (nothing older can be in it). Later bins and non-finite
    // values are skipped.
    private static bool Add(Span<double> sum, Span<int> count, long first, long bin, double value)
    {
        if (bin < first)
        {
            return false;
        }
        if (bin < first + sum.Length && double.IsFinite(value))
        {
            sum[(int)(bin - first)] += value;
            count[(int)(bin - first)]++;
        }
        return true;
    }

    // Each bin's mean, an empty bin holding the one before (the first ones the first mean); false
    // when no bin has one (or the means overflow float).
    private static bool Means(ReadOnlySpan<double> sum, ReadOnlySpan<int> count, Span<float> into)
    {
        var last = float.NaN;
        for (var b = 0; b < into.Length; b++)
        {
            if (count[b] > 0)
            {
                last = (float)(sum[b] / count[b]);
            }
            into[b] = last;
        }
        var firstFilled = into.IndexOfAnyExcept(float.NaN);
        if (firstFilled < 0)
        {
            return false;
        }
        into[..firstFilled].Fill(into[firstFilled]);
        return into.IndexOfAny(float.PositiveInfinity, float.NegativeInfinity) < 0;
    }

    /// <summary>The mean of a roll-up's slot means in bin <paramref name="bin"/>, or NaN when none has one.</summary>
    public static float LastBinOfSlots(ReadOnlySpan<float> slots, long firstSlot, long slotSeconds, long bin, long binSeconds)
    {
        Span<float> one = stackalloc float[1];
        return BinSlots(slots, firstSlot, slotSeconds, bin, binSeconds, one) ? one[0] : float.NaN;
    }

    /// <summary>The mean of the points in bin <paramref name="bin"/> (timestamps ascending: read
    /// from the end), or NaN when it has none.</summary>
    public static float LastBin(ReadOnlySpan<long> timestamps, ReadOnlySpan<double> values, long bin, long binSeconds)
    {
        Span<float> one = stackalloc float[1];
        return Bin(timestamps, values, bin, binSeconds, one) ? one[0] : float.NaN;
    }

    /// <summary><paramref name="values"/> stretched (linearly interpolated) to <paramref name="into"/>.Length points.</summary>
    public static void Resample(ReadOnlySpan<double> values, Span<float> into)
    {
        if (values.Length == 0)
        {
            throw new ArgumentException("no values", nameof(values));
        }
        for (var j = 0; j < into.Length; j++)
        {
            var at = into.Length == 1 ? 0 : (double)j * (values.Length - 1) / (into.Length - 1);
            var i = (int)Math.Floor(at);
            var next = Math.Min(i + 1, values.Length - 1);
            into[j] = (float)(values[i] + ((values[next] - values[i]) * (at - i)));
        }
    }

    private static long FloorDiv(long a, long b) => a >= 0 ? a / b : ((a + 1) / b) - 1;
}
