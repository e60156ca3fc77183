namespace Horizon.Core.Metrics;

/// <summary>Compares byte-array keys by content and lets dictionaries be probed with a span, so a
/// lookup of a name that is already known allocates nothing. Keys may carry a fixed-length prefix
/// (for example "metrics.") that lookups leave out.</summary>
public sealed class Utf8KeyComparer(int prefixLength = 0)
    : IEqualityComparer<byte[]>, IAlternateEqualityComparer<ReadOnlySpan<byte>, byte[]>
{
    /// <summary>A comparer for keys without a prefix.</summary>
    public static Utf8KeyComparer Plain { get; } = new();

    /// <summary>Hash of a key's content after the prefix.</summary>
    public static int Hash(ReadOnlySpan<byte> content)
    {
        var h = new HashCode();
        h.AddBytes(content);
        return h.ToHashCode();
    }

    /// <inheritdoc />
    public bool Equals(byte[]? x, byte[]? y) =>
        ReferenceEquals(x, y) || (x is not null && y is not null && x.AsSpan().SequenceEqual(y));

    /// <inheritdoc />
    public int GetHashCode(byte[] obj) => Hash(obj.AsSpan(prefixLength));

    /// <inheritdoc />
    public bool Equals(ReadOnlySpan<byte> alternate, byte[] other) =>
        other.Length - prefixLength == alternate.Length && other.AsSpan(prefixLength).SequenceEqual(alternate);

    /// <inheritdoc />
    public int GetHashCode(ReadOnlySpan<byte> alternate) => Hash(alternate);

    /// <inheritdoc />
    public byte[] Create(ReadOnlySpan<byte> alternate) =>
        throw new NotSupportedException("Keys are created by their owner, with their prefix.");
}
