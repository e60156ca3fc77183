using System.Text;

namespace Horizon.Core.Metrics;

/// <summary>One known metric: its Redis key (prefix + name) built once, and the small amount of
/// state the writer keeps per metric.</summary>
public sealed class MetricKey
{
    private readonly int _prefixLength;

    internal MetricKey(byte[] redisKey, int prefixLength, bool skipped)
    {
        RedisKey = redisKey;
        _prefixLength = prefixLength;
        IsSkipped = skipped;
    }

    /// <summary>The full Redis key, e.g. <c>metrics.web01.cpu</c>, as UTF-8.</summary>
    public byte[] RedisKey { get; }

    /// <summary>The metric name without the key prefix.</summary>
    public ReadOnlySpan<byte> Name => RedisKey.AsSpan(_prefixLength);

    /// <summary>True when the name matched the skip list; such points are counted and dropped.</summary>
    public bool IsSkipped { get; }

    /// <summary>True when the name starts with the events prefix (<c>events.deploy.web</c>): each
    /// of its points is also an event (a deploy sent by a tool that only speaks carbon).</summary>
    public bool IsEvent { get; init; }

    // Public fields on purpose: the writer reads and updates them by reference (Volatile,
    // Interlocked) on its hot path, which properties would not allow.
#pragma warning disable CA1051
    /// <summary>Unix seconds when this name was last added to the unique-metrics set (0: never).</summary>
    public long UniqueSetStamp;

    /// <summary>Unix seconds of the last flush that carried a point of this metric.</summary>
    public long LastWritten;

    /// <summary>Scratch used only by the writer's single batching thread to group points per key.</summary>
    public int FlushGeneration;

    /// <summary>Scratch used only by the writer's single batching thread: this key's slot in the
    /// flush being built.</summary>
    public int FlushSlot;
#pragma warning restore CA1051

    /// <summary>The name as a string (allocates; for logs and tests).</summary>
    public override string ToString() => Encoding.UTF8.GetString(Name);
}
