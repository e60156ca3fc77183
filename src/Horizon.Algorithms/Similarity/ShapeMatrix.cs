namespace Horizon.Algorithms.Similarity;

/// <summary>
/// One fixed-length shape per metric (the means of its points per time bin), rows of one flat
/// array that searches scan end to end. Rows are added, replaced and removed by name under a lock;
/// a search reads a snapshot without one (a row replaced while it is read may be half old, half
/// new: a search racing an update sees that metric as it was or as it is becoming).
/// </summary>
public sealed class ShapeMatrix(int dims)
{
    private readonly Lock _gate = new();
    // Read without the lock by SetLast (a pass's hot path); changed only under it.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, int> _rows = new(StringComparer.Ordinal);
    private readonly Stack<int> _free = new();
    private float[] _data = new float[dims * 1024];
    private string?[] _names = new string?[1024];
    private int[] _stamps = new int[1024];
    private long[] _ends = new long[1024];
    private int _used;
    private int _generation;

    /// <summary>Bins per shape.</summary>
    public int Dims { get; } = dims > 0 ? dims : throw new ArgumentOutOfRangeException(nameof(dims));

    /// <summary>Metrics held.</summary>
    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _rows.Count;
            }
        }
    }

    /// <summary>Bytes held by the shapes and their names' slots (not the name strings).</summary>
    public long Bytes => ((long)_data.Length * sizeof(float)) + ((long)_names.Length * (IntPtr.Size + sizeof(int)));

    /// <summary>Sets a metric's shape (<see cref="Dims"/> values), whose last bin is <paramref name="endBin"/>.</summary>
    public void Set(string name, ReadOnlySpan<float> shape, long endBin = 0)
    {
        if (shape.Length != Dims)
        {
            throw new ArgumentException($"a shape has {Dims} bins", nameof(shape));
        }
        lock (_gate)
        {
            if (!_rows.TryGetValue(name, out var row))
            {
                if (!_free.TryPop(out row))
                {
                    row = _used++;
                    if (row >= _names.Length)
                    {
                        // Searches hold the old arrays until they finish; new ones see the copies.
                        var data = new float[_data.Length * 2];
                        _data.CopyTo(data, 0);
                        var names = new string?[_names.Length * 2];
                        _names.CopyTo(names, 0);
                        var stamps = new int[_names.Length * 2];
                        _stamps.CopyTo(stamps, 0);
                        var ends = new long[_names.Length * 2];
                        _ends.CopyTo(ends, 0);
                        (_data, _names, _stamps, _ends) = (data, names, stamps, ends);
                    }
                }
                _rows[name] = row;
                _names[row] = name;
            }
            shape.CopyTo(_data.AsSpan(row * Dims, Dims));
            _stamps[row] = _generation;
            _ends[row] = endBin;
        }
    }

    /// <summary>Sets only the last bin of a metric's shape when its shape already ends with bin
    /// <paramref name="endBin"/> (a pass within the same bin as the last: only the newest bin can
    /// have changed); NaN: the bin has no points, it holds the one before. False when the metric
    /// has no shape ending there (the whole shape must be computed).</summary>
    public bool SetLast(string name, long endBin, float last)
    {
        // Without the lock: each metric is updated by one thread in a pass, and only Set and the
        // removals (under the lock) change which row is whose. Arrays replaced by a growth while
        // this wrote to the old ones: done again under the lock.
        var (data, stamps, ends) = (_data, _stamps, _ends);
        if (!_rows.TryGetValue(name, out var row) || row >= ends.Length || ends[row] != endBin)
        {
            return false;
        }
        var at = (row * Dims) + Dims - 1;
        Write(data, stamps, Volatile.Read(ref _generation));
        if (!ReferenceEquals(data, _data) || !ReferenceEquals(stamps, _stamps))
        {
            lock (_gate)
            {
                if (!_rows.TryGetValue(name, out row) || _ends[row] != endBin)
                {
                    return false;
                }
                Write(_data, _stamps, _generation);
            }
        }
        return true;

        void Write(float[] into, int[] stamped, int generation)
        {
            into[at] = float.IsNaN(last) ? (Dims > 1 ? into[at - 1] : into[at]) : last;
            stamped[row] = generation;
        }
    }

    /// <summary>Starts a round of <see cref="Set"/> calls (an analyzer pass); <see cref="DropUnset"/> ends it.</summary>
    public void BeginRound()
    {
        lock (_gate)
        {
            _generation++;
        }
    }

    /// <summary>Removes the metrics not set since <see cref="BeginRound"/>; returns how many went.</summary>
    public int DropUnset()
    {
        lock (_gate)
        {
            var gone = _rows.Where(r => _stamps[r.Value] != _generation).Select(r => r.Key).ToList();
            foreach (var name in gone)
            {
                Remove(name);
            }
            return gone.Count;
        }
    }

    private void Remove(string name)
    {
        _rows.TryRemove(name, out var row);
        _names[row] = null;
        _free.Push(row);
    }

    /// <summary>A metric's shape into <paramref name="into"/>; false when it has none.</summary>
    public bool TryGet(string name, Span<float> into)
    {
        lock (_gate)
        {
            if (!_rows.TryGetValue(name, out var row))
            {
                return false;
            }
            _data.AsSpan(row * Dims, Dims).CopyTo(into);
            return true;
        }
    }

    /// <summary>A copy that no update reaches (to compare a search with the reference on the same rows while passes go on).</summary>
    public ShapeMatrix Copy()
    {
        lock (_gate)
        {
            var copy = new ShapeMatrix(Dims);
            foreach (var (name, row) in _rows)
            {
                copy.Set(name, _data.AsSpan(row * Dims, Dims), _ends[row]);
            }
            return copy;
        }
    }

    /// <summary>The arrays as they are now, for a search: rows [0, Rows) of <see cref="Dims"/> values
    /// each, a row's name (null: a free row).</summary>
    public (float[] Data, string?[] Names, int Rows) Snapshot()
    {
        lock (_gate)
        {
            return (_data, _names, _used);
        }
    }
}
