using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace Horizon.Algorithms.Detection;

/// <summary>
/// A metric's long-term, downsampled history: the mean of each fixed slot (default 10 minutes) for
/// a bounded retention (default 14 days), maintained incrementally from the points as they arrive.
/// Closed slots are what the analyzer appends to <c>horizon.rollup.&lt;name&gt;</c>: a 12-byte
/// header (slot seconds as int32, first slot index as int64, little-endian) followed by one
/// float32 mean per slot (NaN for a slot with no points).
/// </summary>
public sealed class RollupHistory
{
    /// <summary>Size of the stored header.</summary>
    public const int HeaderBytes = 12;

    private float[] _slots;
    private int _count;
    private long _firstSlot;
    private long _openSlot = long.MinValue;
    private double _openSum;
    private int _openCount;

    /// <summary>An empty history.</summary>
    public RollupHistory(int slotSeconds = 600, int retentionSlots = 2016)
    {
        if (slotSeconds < 1 || retentionSlots < 2)
        {
            throw new ArgumentOutOfRangeException(nameof(slotSeconds), "slot seconds and retention must be positive");
        }
        SlotSeconds = slotSeconds;
        RetentionSlots = retentionSlots;
        _slots = new float[Math.Min(retentionSlots, 256)];
    }

    /// <summary>Points a series needs before <see cref="SlotFor"/> can tell its sampling interval.</summary>
    public const int PointsToSize = 10;

    /// <summary>The coarsest slot chosen for a sparse metric (an hour: daily and weekly lags stay whole slots).</summary>
    public const int MaxAutoSlotSeconds = 3600;

    /// <summary>
    /// The slot size for a metric sampled at <paramref name="timestamps"/> (ascending, at least
    /// <see cref="PointsToSize"/>): <paramref name="minSlotSeconds"/>, or, for a metric sampled less
    /// often, the smallest multiple of it that divides a day and holds the median interval of the
    /// last points (less a tenth, for jitter), at most an hour. A slot finer than the sampling
    /// holds nothing but gaps: a metric sent every 30 minutes keeps 30-minute slots, so the same
    /// number of slots covers three times the days (weekly seasonality wants several weeks).
    /// </summary>
    public static int SlotFor(ReadOnlySpan<long> timestamps, int minSlotSeconds)
    {
        if (timestamps.Length < PointsToSize)
        {
            return minSlotSeconds;
        }
        var interval = 0.9 * MedianInterval(timestamps); // sampling jitter does not push a slot to the next size
        var chosen = minSlotSeconds;
        for (var slot = minSlotSeconds; slot <= MaxAutoSlotSeconds && chosen < interval; slot += minSlotSeconds)
        {
            chosen = 86400 % slot == 0 ? slot : chosen;
        }
        return chosen;
    }

    /// <summary>The median gap between the last (up to 64) <paramref name="timestamps"/> (ascending, at
    /// least two): the metric's sampling interval, whatever gaps it had.</summary>
    public static long MedianInterval(ReadOnlySpan<long> timestamps)
    {
        var n = Math.Min(timestamps.Length - 1, 64);
        Span<long> gaps = stackalloc long[n];
        for (var i = 0; i < n; i++)
        {
            gaps[i] = timestamps[^(i + 1)] - timestamps[^(i + 2)];
        }
        gaps.Sort();
        return gaps[n / 2];
    }

    /// <summary>An empty history sized for a metric sampled at <paramref name="timestamps"/>
    /// (<see cref="SlotFor"/>), or null while fewer than <see cref="PointsToSize"/> points tell its interval.</summary>
    public static RollupHistory? SizedFor(ReadOnlySpan<long> timestamps, int minSlotSeconds, int retentionSlots) =>
        timestamps.Length < PointsToSize ? null : new RollupHistory(SlotFor(timestamps, minSlotSeconds), retentionSlots);

    /// <summary>Whether a stored roll-up's slot size is one <see cref="SlotFor"/> could have chosen.</summary>
    public static bool IsAutoSlot(int slotSeconds, int minSlotSeconds) =>
        slotSeconds == minSlotSeconds
        || (slotSeconds > minSlotSeconds && slotSeconds <= MaxAutoSlotSeconds && slotSeconds % minSlotSeconds == 0 && 86400 % slotSeconds == 0);

    /// <summary>The slot seconds in a stored roll-up's header (0 when it has none).</summary>
    public static int StoredSlotSeconds(ReadOnlySpan<byte> stored) =>
        stored.Length >= HeaderBytes ? BinaryPrimitives.ReadInt32LittleEndian(stored) : 0;

    /// <summary>Seconds per slot.</summary>
    public int SlotSeconds { get; }

    /// <summary>Closed slots kept at most.</summary>
    public int RetentionSlots { get; }

    /// <summary>Closed slots held.</summary>
    public int Count => _count;

    /// <summary>Slot index (timestamp / slot seconds) of the first closed slot held.</summary>
    public long FirstSlot => _firstSlot;

    /// <summary>Slot index after the last closed slot.</summary>
    public long EndSlot => _firstSlot + _count;

    /// <summary>Timestamp of the last point added (or long.MinValue).</summary>
    public long LastTimestamp { get; private set; } = long.MinValue;

    /// <summary>Closed slots, oldest first.</summary>
    public ReadOnlySpan<float> Slots => _slots.AsSpan(0, _count);

    /// <summary>Adds one point; points older than the last one are ignored (causal, append-only).</summary>
    public void Add(long timestamp, double value)
    {
        if (timestamp < LastTimestamp || !double.IsFinite(value))
        {
            return;
        }
        var slot = SlotOf(timestamp);
        if (_count > 0 && slot < EndSlot)
        {
            return; // already rolled up (a history restored from the store, fed its raw points again)
        }
        LastTimestamp = timestamp;
        if (_openSlot == long.MinValue)
        {
            _openSlot = slot;
        }
        if (slot > _openSlot)
        {
            Close(slot);
        }
        _openSum += value;
        _openCount++;
    }

    private void Close(long newSlot)
    {
        if (_count == 0 || _openSlot - EndSlot >= RetentionSlots)
        {
            _count = 0;
            _firstSlot = _openSlot;
        }
        // Gaps (slots without points) between the last closed slot and the open one are NaN.
        while (EndSlot < _openSlot)
        {
            Append(float.NaN);
        }
        Append(_openCount > 0 ? (float)(_openSum / _openCount) : float.NaN);
        var gap = Math.Min(newSlot - _openSlot - 1, RetentionSlots);
        if (gap >= RetentionSlots)
        {
            _count = 0;
            _firstSlot = newSlot;
        }
        else
        {
            for (var i = 0; i < gap; i++)
            {
                Append(float.NaN);
            }
        }
        _openSlot = newSlot;
        _openSum = 0;
        _openCount = 0;
    }

    private void Append(float mean)
    {
        if (_count == RetentionSlots)
        {
            // Drop the oldest quarter at once so appends stay amortised O(1).
            var drop = RetentionSlots / 4;
            _slots.AsSpan(drop, _count - drop).CopyTo(_slots);
            _count -= drop;
            _firstSlot += drop;
        }
        if (_count == _slots.Length)
        {
            Array.Resize(ref _slots, Math.Min(_slots.Length * 2, RetentionSlots));
        }
        _slots[_count++] = mean;
    }

    /// <summary>The mean of slot <paramref name="slot"/>, or NaN when it is not held or was empty.</summary>
    public float At(long slot) => slot >= _firstSlot && slot < EndSlot ? _slots[(int)(slot - _firstSlot)] : float.NaN;

    /// <summary>The slot a timestamp falls in.</summary>
    public long SlotOf(long timestamp) => Math.DivRem(timestamp, SlotSeconds, out var rem) - (rem < 0 ? 1 : 0);

    /// <summary>Whole days of closed history held.</summary>
    public double Days => _count * (double)SlotSeconds / 86400;

    /// <summary>Serialises the closed slots from <paramref name="fromSlot"/> on (the header only when <paramref name="withHeader"/>).</summary>
    public byte[] Serialize(long fromSlot, bool withHeader)
    {
        var from = (int)Math.Clamp(fromSlot - _firstSlot, 0, _count);
        var body = MemoryMarshal.AsBytes(_slots.AsSpan(from, _count - from));
        var bytes = new byte[(withHeader ? HeaderBytes : 0) + body.Length];
        if (withHeader)
        {
            BinaryPrimitives.WriteInt32LittleEndian(bytes, SlotSeconds);
            BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(4), _firstSlot + from);
        }
        body.CopyTo(bytes.AsSpan(withHeader ? HeaderBytes : 0));
        return bytes;
    }

    /// <summary>
    /// Restores closed slots from the stored form; returns false (leaving the history empty) when the
    /// bytes are not a roll-up with this slot size.
    /// </summary>
    public bool TryLoad(ReadOnlySpan<byte> stored)
    {
        _count = 0;
        _openSlot = long.MinValue;
        _openSum = 0;
        _openCount = 0;
        LastTimestamp = long.MinValue;
        if (stored.Length < HeaderBytes || BinaryPrimitives.ReadInt32LittleEndian(stored) != SlotSeconds
            || (stored.Length - HeaderBytes) % 4 != 0)
        {
            return false;
        }
        var first = BinaryPrimitives.ReadInt64LittleEndian(stored[4..]);
        var values = MemoryMarshal.Cast<byte, float>(stored[HeaderBytes..]);
        var skip = Math.Max(0, values.Length - RetentionSlots);
        _firstSlot = first + skip;
        if (_slots.Length < values.Length - skip)
        {
            _slots = new float[values.Length - skip];
        }
        values[skip..].CopyTo(_slots);
        _count = values.Length - skip;
        return true;
    }
}
