using System.Collections.Concurrent;
using System.Text;
using Horizon.Core.Protocols;

namespace Horizon.Core.Metrics;

/// <summary>The table of known metric names. A known name is found by its bytes without any
/// allocation; a new name is copied once, checked against the skip list once, and given its Redis
/// key once. The table is bounded so that a flood of random names cannot exhaust memory.</summary>
public sealed class MetricRegistry
{
    private readonly ConcurrentDictionary<byte[], MetricKey> _keys;
    private readonly ConcurrentDictionary<byte[], MetricKey>.AlternateLookup<ReadOnlySpan<byte>> _lookup;
    private readonly byte[] _prefix;
    private readonly SkipList _skipList;
    private readonly int _maxMetrics;
    private readonly TimeProvider _time;
    // Kept apart because ConcurrentDictionary.Count takes every lock of the table: asked once per
    // new name, it serialised all listeners (1M new names arrived at 25k/s before this).
    private int _count;

    /// <summary>Creates a table whose keys are <paramref name="keyPrefix"/> followed by the name.</summary>
    public MetricRegistry(string keyPrefix = StoreKeys.DefaultNamespace, SkipList? skipList = null, int maxMetrics = 5_000_000, TimeProvider? time = null)
    {
        _time = time ?? TimeProvider.System;
        ArgumentOutOfRangeException.ThrowIfLessThan(maxMetrics, 1);
        _prefix = Encoding.UTF8.GetBytes(keyPrefix);
        _skipList = skipList ?? SkipList.Empty;
        _maxMetrics = maxMetrics;
        _keys = new ConcurrentDictionary<byte[], MetricKey>(new Utf8KeyComparer(_prefix.Length));
        _lookup = _keys.GetAlternateLookup<ReadOnlySpan<byte>>();
    }

    /// <summary>Names starting with this (and longer) are events too (<see cref="MetricKey.IsEvent"/>); empty: none.</summary>
    public string EventPrefix
    {
        get => _eventPrefixText;
        init => (_eventPrefixText, _eventPrefix) = (value, Encoding.UTF8.GetBytes(value));
    }

    private readonly string _eventPrefixText = "";
    private readonly byte[] _eventPrefix = [];

    /// <summary>The key prefix, e.g. <c>metrics.</c> (Skyline's FULL_NAMESPACE).</summary>
    public ReadOnlySpan<byte> KeyPrefix => _prefix;

    /// <summary>Number of names in the table.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>Finds or adds a name (already validated by the parser). Returns
    /// <see cref="RejectReason.TooManyMetrics"/> with a null key when the table is full.</summary>
    public RejectReason GetOrAdd(ReadOnlySpan<byte> name, out MetricKey? key)
    {
        if (_lookup.TryGetValue(name, out key))
        {
            return RejectReason.None;
        }
        if (Volatile.Read(ref _count) >= _maxMetrics)
        {
            // Another listener may have added this very name (the last one the bound allows)
            // since the lookup above: it is known, not one too many.
            return _lookup.TryGetValue(name, out key) ? RejectReason.None : RejectReason.TooManyMetrics;
        }
        var redisKey = new byte[_prefix.Length + name.Length];
        _prefix.CopyTo(redisKey, 0);
        name.CopyTo(redisKey.AsSpan(_prefix.Length));
        var created = new MetricKey(redisKey, _prefix.Length, _skipList.Matches(name))
        {
            // A name counts as alive from the moment it is first seen, so a sweep that runs
            // before its first write does not drop it.
            LastWritten = _time.GetUtcNow().ToUnixTimeSeconds(),
            IsEvent = _eventPrefix.Length > 0 && name.Length > _eventPrefix.Length && name.StartsWith(_eventPrefix),
        };
        while (!_keys.TryAdd(redisKey, created))
        {
            if (_keys.TryGetValue(redisKey, out key))
            {
                return RejectReason.None; // another listener added it first
            }
        }
        Interlocked.Increment(ref _count);
        key = created;
        return RejectReason.None;
    }

    /// <summary>Finds a name without adding it.</summary>
    public MetricKey? Find(ReadOnlySpan<byte> name) => _lookup.TryGetValue(name, out var key) ? key : null;

    /// <summary>Forgets every name not written since <paramref name="olderThan"/> (unix seconds),
    /// which keeps the table to the metrics that are alive. Returns how many were removed.</summary>
    public int Sweep(long olderThan)
    {
        var removed = 0;
        foreach (var pair in _keys)
        {
            if (Volatile.Read(ref pair.Value.LastWritten) < olderThan && _keys.TryRemove(pair))
            {
                Interlocked.Decrement(ref _count);
                removed++;
            }
        }
        return removed;
    }
}
