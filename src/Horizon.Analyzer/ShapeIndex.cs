using Horizon.Algorithms.Similarity;

namespace Horizon.Analyzer;

/// <summary>
/// Every metric's recent shape, for "what else looks like this?" (Etsy's Oculus, without a search
/// engine): the means per minute of its last two hours and per ten minutes of its last day, on a
/// grid every metric shares (bins end with the pass's clock), kept current by the analyzer as it
/// reads each series in a pass and searched in memory by <see cref="ShapeSearch"/>. One per
/// process: an analyzer shard holds its own metrics.
/// </summary>
public sealed class ShapeIndex
{
    /// <summary>The two resolutions: bins and seconds per bin.</summary>
    public static readonly (int Bins, long BinSeconds) RecentGrid = (120, 60), DayGrid = (144, 600), FortnightGrid = (168, 7200);

    /// <summary>The last two hours by the minute.</summary>
    public ShapeMatrix Recent { get; } = new(RecentGrid.Bins);

    /// <summary>The last day by ten minutes.</summary>
    public ShapeMatrix Day { get; } = new(DayGrid.Bins);

    /// <summary>The last fourteen days by two hours, from the roll-ups the analyzer keeps in
    /// ensemble mode (empty in skyline mode).</summary>
    public ShapeMatrix Fortnight { get; } = new(FortnightGrid.Bins);

    /// <summary>Pass time (Unix seconds) of the last update; 0 before the first.</summary>
    public long UpdatedAt { get; private set; }

    /// <summary>Whether this process's analyzer keeps it (false in a web-only process).</summary>
    public bool Kept { get; set; }

    /// <summary>A metric's shapes from its series (timestamps ascending) at pass time <paramref name="now"/>:
    /// within the bin of the last pass only the newest bin is computed again (a few points); when the
    /// bin advanced, the whole window. A resolution whose window holds no point leaves the metric out of it.</summary>
    public void Update(string metric, ReadOnlySpan<long> timestamps, ReadOnlySpan<double> values, long now)
    {
        Update(Recent, RecentGrid, metric, timestamps, values, now);
        Update(Day, DayGrid, metric, timestamps, values, now);
    }

    /// <summary>A metric's fourteen days from its roll-up (slot means), as <see cref="Update(string, ReadOnlySpan{long}, ReadOnlySpan{double}, long)"/> does from points.</summary>
    public void UpdateRollup(string metric, Horizon.Algorithms.Detection.RollupHistory rollup, long now)
    {
        var endBin = now / FortnightGrid.BinSeconds;
        if (Fortnight.SetLast(metric, endBin, Shapes.LastBinOfSlots(rollup.Slots, rollup.FirstSlot, rollup.SlotSeconds, endBin, FortnightGrid.BinSeconds)))
        {
            return;
        }
        Span<float> shape = stackalloc float[FortnightGrid.Bins];
        if (Shapes.BinSlots(rollup.Slots, rollup.FirstSlot, rollup.SlotSeconds, endBin, FortnightGrid.BinSeconds, shape))
        {
            Fortnight.Set(metric, shape, endBin);
        }
    }

    private static void Update(ShapeMatrix matrix, (int Bins, long BinSeconds) grid, string metric, ReadOnlySpan<long> timestamps, ReadOnlySpan<double> values, long now)
    {
        var endBin = now / grid.BinSeconds;
        if (matrix.SetLast(metric, endBin, Shapes.LastBin(timestamps, values, endBin, grid.BinSeconds)))
        {
            return;
        }
        Span<float> shape = stackalloc float[grid.Bins];
        if (Shapes.Bin(timestamps, values, endBin, grid.BinSeconds, shape))
        {
            matrix.Set(metric, shape, endBin);
        }
    }

    /// <summary>Before a pass's updates.</summary>
    public void BeginPass()
    {
        Recent.BeginRound();
        Day.BeginRound();
        Fortnight.BeginRound();
    }

    /// <summary>After a pass: the metrics it did not update (gone, or no point in a window) leave.</summary>
    public void EndPass(long now)
    {
        Recent.DropUnset();
        Day.DropUnset();
        Fortnight.DropUnset();
        UpdatedAt = now;
    }
}
