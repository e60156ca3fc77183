using Horizon.Core.Metrics;

namespace Horizon.Core.Points;

/// <summary>Where a point came from; a label on the ingest counters.</summary>
public enum PointSource : byte
{
    Plaintext,
    Pickle,
    StatsdUdp,
    StatsdTcp,
    StatsdFlush,
    Msgpack,
    LogTemplates,
}

/// <summary>Stable labels for <see cref="PointSource"/>.</summary>
public static class PointSources
{
    /// <summary>Number of sources.</summary>
    public const int Count = (int)PointSource.LogTemplates + 1;

    private static readonly string[] Labels = ["plaintext", "pickle", "statsd_udp", "statsd_tcp", "statsd_flush", "msgpack", "log_templates"];

    /// <summary>The label of a source.</summary>
    public static string Label(this PointSource source) => Labels[(int)source];
}

/// <summary>A fixed-capacity run of accepted points (column arrays), handed from a listener to the
/// writer and recycled through a <see cref="PointBatchPool"/>.</summary>
public sealed class PointBatch
{
    /// <summary>Creates an empty batch.</summary>
    public PointBatch(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        Keys = new MetricKey[capacity];
        Timestamps = new long[capacity];
        Values = new double[capacity];
    }

    /// <summary>The metric of each point.</summary>
    public MetricKey[] Keys { get; }

    /// <summary>Unix seconds of each point.</summary>
    public long[] Timestamps { get; }

    /// <summary>Value of each point.</summary>
    public double[] Values { get; }

    /// <summary>Number of points held.</summary>
    public int Count { get; private set; }

    /// <summary>Where these points came from.</summary>
    public PointSource Source { get; set; }

    /// <summary>Capacity in points.</summary>
    public int Capacity => Keys.Length;

    /// <summary>True when no more points fit.</summary>
    public bool IsFull => Count == Keys.Length;

    /// <summary>Adds one point; the caller checks <see cref="IsFull"/> first.</summary>
    public void Add(MetricKey key, long timestamp, double value)
    {
        var i = Count;
        Keys[i] = key;
        Timestamps[i] = timestamp;
        Values[i] = value;
        Count = i + 1;
    }

    /// <summary>Empties the batch, dropping its key references.</summary>
    public void Clear()
    {
        Array.Clear(Keys, 0, Count);
        Count = 0;
    }
}

/// <summary>A bounded pool of batches, so steady-state ingest allocates no batch arrays.</summary>
public sealed class PointBatchPool(int batchCapacity, int maxRetained = 1024)
{
    private readonly System.Collections.Concurrent.ConcurrentQueue<PointBatch> _free = new();
    private int _retained;

    /// <summary>Points per batch.</summary>
    public int BatchCapacity { get; } = batchCapacity;

    /// <summary>Takes an empty batch.</summary>
    public PointBatch Rent(PointSource source)
    {
        if (_free.TryDequeue(out var batch))
        {
            Interlocked.Decrement(ref _retained);
        }
        else
        {
            batch = new PointBatch(BatchCapacity);
        }
        batch.Source = source;
        return batch;
    }

    /// <summary>Gives a batch back; it is cleared here.</summary>
    public void Return(PointBatch batch)
    {
        batch.Clear();
        if (batch.Capacity != BatchCapacity || Interlocked.Increment(ref _retained) > maxRetained)
        {
            if (batch.Capacity == BatchCapacity)
            {
                Interlocked.Decrement(ref _retained);
            }
            return;
        }
        _free.Enqueue(batch);
    }
}
