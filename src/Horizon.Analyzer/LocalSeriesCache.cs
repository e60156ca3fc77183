using System.Text;

namespace Horizon.Analyzer;

/// <summary>The analyzer's local copy of its series: each key's msgpack bytes, exactly as in the
/// store. The bulk of each series lives in a memory-mapped arena; what the syncs append goes to a
/// small in-memory tail first and is merged into the arena once it passes
/// <see cref="MergeThreshold"/> bytes. Appending straight into the mapping dirtied one page of the
/// file per series per pass, which the kernel then wrote back: about a gigabyte per pass at 250k
/// series. Updated by the sync before each pass, read (concurrently) by the analysis. The index of
/// keys to slots is saved at a clean shutdown so that a restart resumes from the local copy
/// instead of reading every series again.</summary>
public sealed class LocalSeriesCache : IDisposable
{
    /// <summary>Tail bytes held in memory before they are merged into the arena.</summary>
    public const int MergeThreshold = 2048;

    private const string IndexFile = "index.bin";
    private const int IndexVersion = 1;
    private readonly MappedArena _arena;
    private readonly string _directory;
    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);

    /// <summary>One cached series.</summary>
    public sealed class Entry(string key)
    {
        /// <summary>The Redis key (metrics.&lt;name&gt;).</summary>
        public string Key { get; } = key;

        /// <summary>Its slot in the arena.</summary>
        public ArenaSlot Slot { get; internal set; }

        /// <summary>Bytes in the arena.</summary>
        public int BaseLength { get; internal set; }

        /// <summary>Bytes appended since the last merge, not yet in the arena.</summary>
        internal byte[]? Tail { get; set; }

        /// <summary>Bytes used in <see cref="Tail"/>.</summary>
        public int TailLength { get; internal set; }

        /// <summary>Bytes held (the store's length at the last sync).</summary>
        public int Length => BaseLength + TailLength;
    }

    private LocalSeriesCache(string directory)
    {
        _directory = directory;
        _arena = new MappedArena(directory);
    }

    /// <summary>Opens the cache; resumes from a saved index if there is one, otherwise starts empty.</summary>
    public static LocalSeriesCache Open(string directory)
    {
        Directory.CreateDirectory(directory);
        var indexPath = Path.Combine(directory, IndexFile);
        if (!File.Exists(indexPath))
        {
            MappedArena.Wipe(directory);
            return new LocalSeriesCache(directory);
        }
        var cache = new LocalSeriesCache(directory);
        try
        {
            using (var reader = new BinaryReader(File.OpenRead(indexPath), Encoding.UTF8))
            {
                if (reader.ReadInt32() != IndexVersion)
                {
                    throw new InvalidDataException("unknown index version");
                }
                var count = reader.ReadInt32();
                for (var i = 0; i < count; i++)
                {
                    var key = reader.ReadString();
                    var slot = new ArenaSlot(reader.ReadInt32(), reader.ReadInt32(), reader.ReadInt32());
                    var length = reader.ReadInt32();
                    cache._entries[key] = new Entry(key) { Slot = slot, BaseLength = length };
                }
            }
            cache._arena.Restore(cache._entries.Values.Select(e => e.Slot));
        }
        catch (Exception e) when (e is IOException or InvalidDataException or EndOfStreamException)
        {
            cache.Dispose();
            MappedArena.Wipe(directory);
            cache = new LocalSeriesCache(directory);
        }
        // The index describes the files as they are now; once they change it is stale, so it only
        // comes back at the next clean shutdown. A crash therefore means a cold start, never a
        // wrong local copy.
        File.Delete(indexPath);
        return cache;
    }

    /// <summary>Series held.</summary>
    public int Count => _entries.Count;

    /// <summary>Bytes of series held.</summary>
    public long Bytes { get; private set; }

    /// <summary>Bytes of arena files mapped.</summary>
    public long MappedBytes => _arena.MappedBytes;

    /// <summary>Every entry.</summary>
    public IEnumerable<Entry> Entries => _entries.Values;

    /// <summary>Every key.</summary>
    public IEnumerable<string> Keys => _entries.Keys;

    /// <summary>The entry of a key, or null.</summary>
    public Entry? Find(string key) => _entries.GetValueOrDefault(key);

    /// <summary>The part of an entry held in the arena.</summary>
    public ReadOnlySpan<byte> ReadBase(Entry entry) => _arena.Memory(entry.Slot)[..entry.BaseLength];

    /// <summary>The part of an entry appended since its last merge.</summary>
    public static ReadOnlySpan<byte> ReadTail(Entry entry) => entry.Tail.AsSpan(0, entry.TailLength);

    /// <summary>The last <c>destination.Length</c> bytes of an entry (fewer if it is shorter);
    /// returns how many were copied.</summary>
    public int CopyLast(Entry entry, Span<byte> destination)
    {
        var want = Math.Min(destination.Length, entry.Length);
        var fromTail = Math.Min(want, entry.TailLength);
        var fromBase = want - fromTail;
        ReadBase(entry)[(entry.BaseLength - fromBase)..].CopyTo(destination);
        ReadTail(entry)[(entry.TailLength - fromTail)..].CopyTo(destination[fromBase..]);
        return want;
    }

    /// <summary>All bytes of an entry, as one array (tests, tools).</summary>
    public byte[] ToArray(Entry entry) => [.. ReadBase(entry), .. ReadTail(entry)];

    /// <summary>Stores a whole series (new, or re-read after a trim).</summary>
    public Entry Replace(string key, ReadOnlySpan<byte> data)
    {
        if (!_entries.TryGetValue(key, out var entry))
        {
            entry = new Entry(key);
            entry.Slot = _arena.Allocate(Math.Max(data.Length, 1));
            _entries[key] = entry;
        }
        else if (entry.Slot.Capacity < data.Length || entry.Slot.Capacity > 4 * Math.Max(data.Length, 256))
        {
            // Grown past its slot, or shrunk far below it (Roomba trimmed a lot): move.
            _arena.Free(entry.Slot);
            entry.Slot = _arena.Allocate(Math.Max(data.Length, 1));
        }
        Bytes += data.Length - entry.Length;
        data.CopyTo(_arena.Memory(entry.Slot));
        entry.BaseLength = data.Length;
        entry.Tail = null;
        entry.TailLength = 0;
        return entry;
    }

    /// <summary>Appends bytes the store gained since the last sync (to the in-memory tail,
    /// merged into the arena when it grows past <see cref="MergeThreshold"/>).</summary>
    public void Append(Entry entry, ReadOnlySpan<byte> tail)
    {
        var needed = entry.TailLength + tail.Length;
        if (entry.Tail is null || entry.Tail.Length < needed)
        {
            var grown = new byte[Math.Max(needed, Math.Min(MergeThreshold, Math.Max(64, (entry.Tail?.Length ?? 0) * 2)))];
            ReadTail(entry).CopyTo(grown);
            entry.Tail = grown;
        }
        tail.CopyTo(entry.Tail.AsSpan(entry.TailLength));
        entry.TailLength = needed;
        Bytes += tail.Length;
        if (entry.TailLength >= MergeThreshold)
        {
            Merge(entry);
        }
    }

    // Moves the in-memory tail into the arena.
    private void Merge(Entry entry)
    {
        if (entry.TailLength == 0)
        {
            return;
        }
        var needed = entry.Length;
        if (needed > entry.Slot.Capacity)
        {
            // Leave room to grow: the next power of two above 1.25x.
            var moved = _arena.Allocate(needed + needed / 4);
            ReadBase(entry).CopyTo(_arena.Memory(moved));
            _arena.Free(entry.Slot);
            entry.Slot = moved;
        }
        ReadTail(entry).CopyTo(_arena.Memory(entry.Slot)[entry.BaseLength..]);
        entry.BaseLength = needed;
        entry.Tail = null;
        entry.TailLength = 0;
    }

    /// <summary>Forgets a key.</summary>
    public void Remove(string key)
    {
        if (_entries.Remove(key, out var entry))
        {
            _arena.Free(entry.Slot);
            Bytes -= entry.Length;
        }
    }

    /// <summary>Merges every tail and writes the index (at a clean shutdown), atomically.</summary>
    public void SaveIndex()
    {
        foreach (var e in _entries.Values)
        {
            Merge(e);
        }
        var path = Path.Combine(_directory, IndexFile);
        var temp = path + ".tmp";
        using (var writer = new BinaryWriter(File.Create(temp), Encoding.UTF8))
        {
            writer.Write(IndexVersion);
            writer.Write(_entries.Count);
            foreach (var e in _entries.Values)
            {
                writer.Write(e.Key);
                writer.Write(e.Slot.Class);
                writer.Write(e.Slot.Segment);
                writer.Write(e.Slot.Index);
                writer.Write(e.BaseLength);
            }
        }
        File.Move(temp, path, overwrite: true);
    }

    /// <inheritdoc />
    public void Dispose() => _arena.Dispose();
}
