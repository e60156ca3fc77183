using Horizon.Core.Metrics;
using Horizon.Core.Points;
using Horizon.Core.Series;

namespace Horizon.Storage;

/// <summary>A flush: points grouped by key, encoded contiguously per key.</summary>
internal sealed class FlushUnit(int capacity)
{
    public int PointCount;
    public int SlotCount;
    public long Sequence; // FlushOrder's number
    public bool Failing;
    public bool Queued; // its round reached the transport's queue (FlushOrder)
    public MetricKey[] Keys = new MetricKey[256];
    public int[] SlotOffsets = new int[256];
    public int[] SlotLengths = new int[256];
    public bool[] SlotMaybeApplied = new bool[256]; // a send of this slot failed without a reply
    private Dictionary<MetricKey, int>? _slotOf;
    private int[] _heads = new int[256];
    private int[] _tails = new int[256];
    private readonly int[] _next = new int[capacity];
    private readonly long[] _timestamps = new long[capacity];
    private readonly double[] _values = new double[capacity];
    private readonly PointSource[] _sources = new PointSource[capacity];
    public readonly byte[] Buffer = new byte[capacity * SeriesCodec.MaxPointSize];
    public readonly int[] SourceCounts = new int[PointSources.Count];
    public readonly int[] DroppedCounts = new int[PointSources.Count];
    public readonly List<byte[]> NewNames = [];
    public readonly List<MetricKey> NewNameKeys = [];

    /// <summary>The encoded points of one slot: what its APPEND carries.</summary>
    public ReadOnlyMemory<byte> Value(int slot) => Buffer.AsMemory(SlotOffsets[slot], SlotLengths[slot]);

    public int AddSlot(MetricKey key)
    {
        if (SlotCount == Keys.Length)
        {
            var n = Keys.Length * 2;
            Array.Resize(ref Keys, n);
            Array.Resize(ref SlotOffsets, n);
            Array.Resize(ref SlotLengths, n);
            Array.Resize(ref SlotMaybeApplied, n);
            Array.Resize(ref _heads, n);
            Array.Resize(ref _tails, n);
        }
        Keys[SlotCount] = key;
        SlotMaybeApplied[SlotCount] = false;
        _heads[SlotCount] = -1;
        return SlotCount++;
    }

    public void AddPoint(int slot, long timestamp, double value, PointSource source)
    {
        var p = PointCount++;
        _timestamps[p] = timestamp;
        _values[p] = value;
        _sources[p] = source;
        _next[p] = -1;
        if (_heads[slot] < 0)
        {
            _heads[slot] = p;
        }
        else
        {
            _next[_tails[slot]] = p;
        }
        _tails[slot] = p;
    }

    public void Encode()
    {
        var pos = 0;
        var span = Buffer.AsSpan();
        for (var s = 0; s < SlotCount; s++)
        {
            SlotOffsets[s] = pos;
            for (var p = _heads[s]; p >= 0; p = _next[p])
            {
                pos += SeriesCodec.WritePoint(span[pos..], _timestamps[p], _values[p]);
            }
            SlotLengths[s] = pos - SlotOffsets[s];
        }
    }

    /// <summary>The slot of <paramref name="key"/>, or -1 (built on first use: only resends after a
    /// failure ask).</summary>
    public int SlotOf(MetricKey key)
    {
        if (_slotOf is null)
        {
            _slotOf = new Dictionary<MetricKey, int>(SlotCount, ReferenceEqualityComparer.Instance);
            for (var s = 0; s < SlotCount; s++)
            {
                _slotOf[Keys[s]] = s;
            }
        }
        return _slotOf.GetValueOrDefault(key, -1);
    }

    public void DropSlot(int slot)
    {
        for (var p = _heads[slot]; p >= 0; p = _next[p])
        {
            DroppedCounts[(int)_sources[p]]++;
        }
    }

    public void Reset()
    {
        Array.Clear(Keys, 0, SlotCount);
        PointCount = 0;
        SlotCount = 0;
        Array.Clear(SourceCounts);
        Array.Clear(DroppedCounts);
        NewNames.Clear();
        NewNameKeys.Clear();
        _slotOf = null;
    }
}
