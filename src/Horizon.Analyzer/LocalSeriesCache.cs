using System.Text;

namespace Horizon.Analyzer;

/// <summary>The analyzer's local copy of its series: each key's msgpack bytes, exactly as in the
/// store, in a memory-mapped arena. Updated by the sync before each pass, read (concurrently)
/// by the analysis. The index of keys to slots is saved at a clean shutdown so that a restart
/// resumes from the local copy instead of reading every series again.</summary>
public sealed class LocalSeriesCache : IDisposable
{
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

        /// <summary>Bytes held (the store's length at the last sync).</summary>
        public int Length { get; internal set; }
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
                    cache._entries[key] = new Entry(key) { Slot = slot, Length = length };
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

    /// <summary>The bytes of an entry.</summary>
    public ReadOnlySpan<byte> Read(Entry entry) => _arena.Memory(entry.Slot)[..entry.Length];

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
        entry.Length = data.Length;
        return entry;
    }

    /// <summary>Appends bytes the store gained since the last sync.</summary>
    public void Append(Entry entry, ReadOnlySpan<byte> tail)
    {
        var needed = entry.Length + tail.Length;
        if (needed > entry.Slot.Capacity)
        {
            // Leave room to grow: the next power of two above 1.25x.
            var moved = _arena.Allocate(needed + needed / 4);
            _arena.Memory(entry.Slot)[..entry.Length].CopyTo(_arena.Memory(moved));
            _arena.Free(entry.Slot);
            entry.Slot = moved;
        }
        tail.CopyTo(_arena.Memory(entry.Slot)[entry.Length..]);
        entry.Length = needed;
        Bytes += tail.Length;
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

    /// <summary>Writes the index (at a clean shutdown), atomically.</summary>
    public void SaveIndex()
    {
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
                writer.Write(e.Length);
            }
        }
        File.Move(temp, path, overwrite: true);
    }

    /// <inheritdoc />
    public void Dispose() => _arena.Dispose();
}
