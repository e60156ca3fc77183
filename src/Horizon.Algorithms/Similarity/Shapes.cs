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
        var bins = into.Length;
        var first = endBin - bins + 1;
        Span<double> sum = bins <= 512 ? stackalloc double[bins] : new double[bins];
        Span<int> count = bins <= 512 ? stackalloc int[bins] : new int[bins];
        sum.Clear();
        count.Clear();
        var filled = false;
        for (var i = timestamps.Length - 1; i >= 0; i--)
        {
            var bin = FloorDiv(timestamps[i], binSeconds);
            if (bin < first)
            {
                break;
            }
            if (bin > endBin || !double.IsFinite(values[i]))
            {
                continue;
            }
            var b = (int)(bin - first);
            sum[b] += values[i];
            count[b]++;
            filled = true;
        }
        if (!filled)
        {
            return false;
        }
        var last = float.NaN;
        for (var b = 0; b < bins; b++)
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
            // Every mean overflowed float: no usable shape.
            return false;
        }
        into[..firstFilled].Fill(into[firstFilled]);
        return into.IndexOfAny(float.PositiveInfinity, float.NegativeInfinity) < 0;
    }

    /// <summary><see cref="Bin"/> over a roll-up's slots (slot i holds the mean of slot
    /// <paramref name="firstSlot"/> + i of <paramref name="slotSeconds"/>; NaN: empty): each bin
    /// the mean of its slots' means.</summary>
    public static bool BinSlots(ReadOnlySpan<float> slots, long firstSlot, long slotSeconds, long endBin, long binSeconds, Span<float> into)
    {
        var bins = into.Length;
        var first = endBin - bins + 1;
        Span<double> sum = bins <= 512 ? stackalloc double[bins] : new double[bins];
        Span<int> count = bins <= 512 ? stackalloc int[bins] : new int[bins];
        sum.Clear();
        count.Clear();
        var filled = false;
        for (var i = slots.Length - 1; i >= 0; i--)
        {
            var bin = FloorDiv((firstSlot + i) * slotSeconds, binSeconds);
            if (bin < first)
            {
                break;
            }
            if (bin > endBin || !float.IsFinite(slots[i]))
            {
                continue;
            }
            sum[(int)(bin - first)] += slots[i];
            count[(int)(bin - first)]++;
            filled = true;
        }
        if (!filled)
        {
            return false;
        }
        var last = float.NaN;
        for (var b = 0; b < bins; b++)
        {
            if (count[b] > 0)
            {
                last = (float)(sum[b] / count[b]);
            }
            into[b] = last;
        }
        into[..into.IndexOfAnyExcept(float.NaN)].Fill(into[into.IndexOfAnyExcept(float.NaN)]);
        return true;
    }

    /// <summary>The mean of a roll-up's slot means in bin <paramref name="bin"/>, or NaN when none has one.</summary>
    public static float LastBinOfSlots(ReadOnlySpan<float> slots, long firstSlot, long slotSeconds, long bin, long binSeconds)
    {
        double sum = 0;
        var count = 0;
        for (var i = slots.Length - 1; i >= 0; i--)
        {
            var b = FloorDiv((firstSlot + i) * slotSeconds, binSeconds);
            if (b < bin)
            {
                break;
            }
            if (b == bin && float.IsFinite(slots[i]))
            {
                sum += slots[i];
                count++;
            }
        }
        return count == 0 ? float.NaN : (float)(sum / count);
    }

    /// <summary>The mean of the points in bin <paramref name="bin"/> (timestamps ascending: read
    /// from the end), or NaN when it has none.</summary>
    public static float LastBin(ReadOnlySpan<long> timestamps, ReadOnlySpan<double> values, long bin, long binSeconds)
    {
        double sum = 0;
        var count = 0;
        for (var i = timestamps.Length - 1; i >= 0; i--)
        {
            var b = FloorDiv(timestamps[i], binSeconds);
            if (b < bin)
            {
                break;
            }
            if (b == bin && double.IsFinite(values[i]))
            {
                sum += values[i];
                count++;
            }
        }
        return count == 0 ? float.NaN : (float)(sum / count);
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
