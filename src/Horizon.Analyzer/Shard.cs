using System.Globalization;
using System.IO.Hashing;
using System.Text;

namespace Horizon.Analyzer;

/// <summary>Which part of the metrics this analyzer owns: <c>i/N</c> takes the names whose
/// xxHash64 modulo N is i (0 ≤ i &lt; N), so N analyzers with i = 0..N-1 split the work without
/// talking to each other, and the split is the same in every process and every run.</summary>
public readonly record struct Shard(int Index, int Count)
{
    /// <summary>The whole set.</summary>
    public static Shard All { get; } = new(0, 1);

    /// <summary>Parses <c>i/N</c>.</summary>
    public static Shard Parse(string text)
    {
        var parts = text.Split('/');
        if (parts.Length != 2 || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var i) ||
            !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n < 1 || i >= n)
        {
            throw new ArgumentException($"Analyzer:Shard '{text}' must be i/N with 0 <= i < N, e.g. 0/4.");
        }
        return new Shard(i, n);
    }

    /// <summary>True when this shard owns the key.</summary>
    public bool Owns(ReadOnlySpan<byte> key) => Count == 1 || (int)(XxHash64.HashToUInt64(key) % (ulong)Count) == Index;

    /// <summary>True when this shard owns the key.</summary>
    public bool Owns(string key)
    {
        if (Count == 1)
        {
            return true;
        }
        Span<byte> buffer = stackalloc byte[Encoding.UTF8.GetMaxByteCount(key.Length)];
        return Owns(buffer[..Encoding.UTF8.GetBytes(key, buffer)]);
    }

    /// <inheritdoc />
    public override string ToString() => $"{Index}/{Count}";
}
