using System.Globalization;
using System.IO.Hashing;
using System.Text;

namespace Horizon.Analyzer;

/// <summary>Which part of the metrics this analyzer owns. Fixed, <c>i/N</c>: the names whose
/// xxHash64 modulo N is i (0 ≤ i &lt; N), so N analyzers with i = 0..N-1 split the work without
/// talking to each other. Or <c>auto</c>: the analyzers alive in the store (each holding a lease,
/// <see cref="AnalyzerMembership"/>) split the names by rendezvous hashing: a name belongs to the
/// member whose hash with it is highest, so when one joins or dies only the names it takes or
/// leaves move, and every live member computes the same owner without asking anyone.</summary>
public readonly record struct Shard(int Index, int Count)
{
    /// <summary>The whole set.</summary>
    public static Shard All { get; } = new(0, 1);

    /// <summary>In <c>auto</c> mode, this analyzer's member id; null for a fixed shard.</summary>
    public string? Member { get; private init; }

    /// <summary>In <c>auto</c> mode, the live members (this one among them), in order; <see cref="Index"/> is this one's place.</summary>
    public IReadOnlyList<string>? Members { get; private init; }

    private ulong[]? Seeds { get; init; }

    /// <summary>True in <c>auto</c> mode.</summary>
    public bool IsAuto => Member is not null;

    /// <summary>Parses <c>i/N</c> or <c>auto</c> (<paramref name="member"/> names this analyzer then).</summary>
    public static Shard Parse(string text, string member = "")
    {
        if (text == "auto")
        {
            return Auto(string.IsNullOrEmpty(member) ? "analyzer" : member, []);
        }
        var parts = text.Split('/');
        if (parts.Length != 2 || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var i) ||
            !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n < 1 || i >= n)
        {
            throw new ArgumentException($"Analyzer:Shard '{text}' must be i/N with 0 <= i < N (e.g. 0/4), or auto.");
        }
        return new Shard(i, n);
    }

    /// <summary>This member's share among <paramref name="live"/> (it is counted whether listed or not).</summary>
    public static Shard Auto(string member, IEnumerable<string> live)
    {
        var members = live.Append(member).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
        return new Shard(Array.IndexOf(members, member), members.Length)
        {
            Member = member,
            Members = members,
            Seeds = [.. members.Select(m => XxHash64.HashToUInt64(Encoding.UTF8.GetBytes(m)))],
        };
    }

    /// <summary>True when this shard owns the key.</summary>
    public bool Owns(ReadOnlySpan<byte> key)
    {
        if (Count == 1)
        {
            return true;
        }
        if (Seeds is null)
        {
            return (int)(XxHash64.HashToUInt64(key) % (ulong)Count) == Index;
        }
        var best = 0;
        var bestScore = 0UL;
        for (var m = 0; m < Seeds.Length; m++)
        {
            var score = XxHash64.HashToUInt64(key, (long)Seeds[m]);
            if (m == 0 || score > bestScore)
            {
                best = m;
                bestScore = score;
            }
        }
        return best == Index;
    }

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

    /// <summary><c>i/N</c>, or <c>auto:&lt;member&gt;</c> (the same for the member's whole life).</summary>
    public override string ToString() => IsAuto ? $"auto:{Member}" : $"{Index}/{Count}";
}
