using System.Text;

namespace Horizon.Core.Series;

/// <summary>How the store lists every series' name.</summary>
public enum NameIndexMode
{
    /// <summary>Skyline's one set, <c>metrics.unique_metrics</c>: what Skyline-era tools read. One key
    /// on one node, however many names.</summary>
    Skyline,

    /// <summary><see cref="NameIndex.Parts"/> sets (<c>horizon.names.{NN}</c>), a name in the one
    /// its key's hash slot picks: no key is hot or huge, and on Redis Cluster they spread over the
    /// masters.</summary>
    Split,

    /// <summary>Both: the split sets are read, and <c>metrics.unique_metrics</c> is kept as well for
    /// Skyline-era tools (each new name is written twice).</summary>
    Both,
}

/// <summary>
/// Where series names are indexed (<see cref="NameIndexMode"/>): the sets a name is written to and
/// removed from, and the sets that together list every name (read with SSCAN). A name's part is
/// its key's Redis Cluster hash slot (CRC16 of the key, or of its <c>{hash tag}</c>, mod 16384)
/// mod <see cref="Parts"/>, so any Redis client can find it.
/// </summary>
public sealed class NameIndex
{
    /// <summary>How many sets the split index has. Part of the layout: changing it would strand names.</summary>
    public const int Parts = 64;

    private readonly string[] _parts;

    /// <summary>The index for series under <paramref name="fullNamespace"/>.</summary>
    public NameIndex(string fullNamespace, NameIndexMode mode)
    {
        Mode = mode;
        Unique = StoreKeys.UniqueMetrics(fullNamespace);
        _parts = [.. Enumerable.Range(0, Parts).Select(i => StoreKeys.NamePart(i, fullNamespace))];
        ReadSets = mode == NameIndexMode.Skyline ? [Unique] : _parts;
        Mark = StoreKeys.NameIndexMark(fullNamespace);
    }

    /// <summary>The key saying which index the store's names are in (<see cref="StoreKeys.NameIndexMark"/>).</summary>
    public string Mark { get; }

    /// <summary>The mode as the mark stores it.</summary>
    public string ModeName => Mode.ToString().ToLowerInvariant();

    /// <summary>The mode.</summary>
    public NameIndexMode Mode { get; }

    /// <summary>Skyline's set (<c>metrics.unique_metrics</c>), written in Skyline and Both mode.</summary>
    public string Unique { get; }

    /// <summary>The sets that together hold every name once: Skyline's set, or the parts.</summary>
    public IReadOnlyList<string> ReadSets { get; }

    /// <summary>The part set a series key belongs to.</summary>
    public string PartOf(ReadOnlySpan<byte> key) => _parts[HashSlot(key) % Parts];

    /// <summary>The sets a series key is written to and removed from.</summary>
    public IEnumerable<string> SetsOf(ReadOnlySpan<byte> key) => Mode switch
    {
        NameIndexMode.Skyline => [Unique],
        NameIndexMode.Split => [PartOf(key)],
        _ => [PartOf(key), Unique],
    };

    /// <summary>The same for a key given as text.</summary>
    public IEnumerable<string> SetsOf(string key) => SetsOf(Encoding.UTF8.GetBytes(key));

    /// <summary>Keys grouped by the sets they are written to (one SADD or SREM per set), in the
    /// order each set first appears.</summary>
    public List<(string Set, List<byte[]> Keys)> Group(IEnumerable<byte[]> keys)
    {
        var groups = new List<(string Set, List<byte[]> Keys)>();
        var at = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var key in keys)
        {
            foreach (var set in SetsOf(key))
            {
                if (!at.TryGetValue(set, out var i))
                {
                    at[set] = i = groups.Count;
                    groups.Add((set, []));
                }
                groups[i].Keys.Add(key);
            }
        }
        return groups;
    }

    /// <summary>Whether <paramref name="key"/> is one of the index's own sets (not a series).</summary>
    public bool IsIndexKey(string key) => key == Unique || Array.IndexOf(_parts, key) >= 0;

    /// <summary>Redis Cluster's hash slot of a key: CRC16 (XMODEM) of the key, or of the text
    /// between its first <c>{</c> and the next <c>}</c> when that is not empty, mod 16384.</summary>
    public static int HashSlot(ReadOnlySpan<byte> key)
    {
        var open = key.IndexOf((byte)'{');
        if (open >= 0)
        {
            var close = key[(open + 1)..].IndexOf((byte)'}');
            if (close > 0)
            {
                key = key.Slice(open + 1, close);
            }
        }
        ushort crc = 0;
        foreach (var b in key)
        {
            crc ^= (ushort)(b << 8);
            for (var i = 0; i < 8; i++)
            {
                crc = (crc & 0x8000) != 0 ? (ushort)((crc << 1) ^ 0x1021) : (ushort)(crc << 1);
            }
        }
        return crc & 16383;
    }
}
