using System.IO.MemoryMappedFiles;

namespace Horizon.Analyzer;

/// <summary>Where a series' bytes live in the arena: a size class, a segment file of that class
/// and a slot in it.</summary>
public readonly record struct ArenaSlot(int Class, int Segment, int Index)
{
    /// <summary>Bytes the slot holds.</summary>
    public int Capacity => 1 << Class;
}

/// <summary>Memory-mapped storage for the local copies of the series: power-of-two size classes
/// from 256 B to 128 MiB, each a set of segment files of fixed size split into equal slots, with a
/// free list per class. Pages are file-backed, so the kernel writes cold ones back and drops them
/// under memory pressure instead of the process growing. Not thread-safe for allocation; reading
/// spans concurrently is fine.</summary>
public sealed unsafe class MappedArena : IDisposable
{
    /// <summary>Smallest class: 2^8 = 256 bytes.</summary>
    public const int MinClass = 8;

    /// <summary>Largest class: 2^27 = 128 MiB (a series of about 9 million points).</summary>
    public const int MaxClass = 27;

    private const long TargetSegmentBytes = 64L << 20;
    private readonly string _directory;
    private readonly SizeClass[] _classes = new SizeClass[MaxClass + 1];

    /// <summary>Opens (or creates) the arena in <paramref name="directory"/>.</summary>
    public MappedArena(string directory)
    {
        _directory = directory;
        Directory.CreateDirectory(directory);
        for (var c = MinClass; c <= MaxClass; c++)
        {
            _classes[c] = new SizeClass(c);
        }
    }

    /// <summary>Bytes of segment files mapped.</summary>
    public long MappedBytes { get; private set; }

    /// <summary>The class whose slots hold <paramref name="bytes"/>.</summary>
    public static int ClassFor(int bytes)
    {
        var c = MinClass;
        while (c <= MaxClass && (1L << c) < bytes)
        {
            c++;
        }
        return c;
    }

    /// <summary>A free slot of at least <paramref name="bytes"/> bytes.</summary>
    public ArenaSlot Allocate(int bytes)
    {
        var c = ClassFor(bytes);
        if (c > MaxClass)
        {
            throw new InvalidOperationException($"a series of {bytes} bytes is larger than the arena's largest slot ({1 << MaxClass} bytes)");
        }
        var sc = _classes[c];
        if (sc.Free.Count > 0)
        {
            var id = sc.Free.Pop();
            return new ArenaSlot(c, id / sc.SlotsPerSegment, id % sc.SlotsPerSegment);
        }
        if (sc.Segments.Count == 0 || sc.NextFresh == sc.SlotsPerSegment)
        {
            sc.Segments.Add(OpenSegment(c, sc.Segments.Count, sc.SegmentBytes));
            sc.NextFresh = 0;
        }
        return new ArenaSlot(c, sc.Segments.Count - 1, sc.NextFresh++);
    }

    /// <summary>Returns a slot to its free list.</summary>
    public void Free(ArenaSlot slot)
    {
        var sc = _classes[slot.Class];
        sc.Free.Push(slot.Segment * sc.SlotsPerSegment + slot.Index);
    }

    /// <summary>The slot's memory.</summary>
    public Span<byte> Memory(ArenaSlot slot)
    {
        var sc = _classes[slot.Class];
        return new Span<byte>(sc.Segments[slot.Segment].Pointer + (long)slot.Index * sc.SlotBytes, sc.SlotBytes);
    }

    /// <summary>Rebuilds the allocation state from the slots in use (after loading an index).</summary>
    public void Restore(IEnumerable<ArenaSlot> used)
    {
        var byClass = used.GroupBy(s => s.Class);
        foreach (var group in byClass)
        {
            var sc = _classes[group.Key];
            var inUse = group.Select(s => s.Segment * sc.SlotsPerSegment + s.Index).ToHashSet();
            var segments = group.Max(s => s.Segment) + 1;
            while (sc.Segments.Count < segments)
            {
                sc.Segments.Add(OpenSegment(group.Key, sc.Segments.Count, sc.SegmentBytes));
            }
            for (var id = segments * sc.SlotsPerSegment - 1; id >= 0; id--)
            {
                if (!inUse.Contains(id))
                {
                    sc.Free.Push(id);
                }
            }
            sc.NextFresh = sc.SlotsPerSegment;
        }
    }

    /// <summary>Deletes every segment file (a cold start).</summary>
    public static void Wipe(string directory)
    {
        if (!Directory.Exists(directory))
        {
            return;
        }
        foreach (var file in Directory.GetFiles(directory, "class-*.bin"))
        {
            File.Delete(file);
        }
    }

    private Segment OpenSegment(int c, int index, long bytes)
    {
        var path = Path.Combine(_directory, $"class-{c:D2}-{index:D5}.bin");
        var file = MemoryMappedFile.CreateFromFile(path, FileMode.OpenOrCreate, null, bytes, MemoryMappedFileAccess.ReadWrite);
        var view = file.CreateViewAccessor(0, bytes, MemoryMappedFileAccess.ReadWrite);
        byte* pointer = null;
        view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
        MappedBytes += bytes;
        return new Segment(file, view, pointer);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var sc in _classes)
        {
            if (sc is null)
            {
                continue;
            }
            foreach (var s in sc.Segments)
            {
                s.View.SafeMemoryMappedViewHandle.ReleasePointer();
                s.View.Dispose();
                s.File.Dispose();
            }
            sc.Segments.Clear();
        }
        MappedBytes = 0;
    }

    private sealed class SizeClass(int c)
    {
        public readonly int SlotBytes = 1 << c;
        public readonly long SegmentBytes = Math.Max(1L << c, TargetSegmentBytes);
        public int SlotsPerSegment => (int)(SegmentBytes / SlotBytes);
        public readonly List<Segment> Segments = [];
        public readonly Stack<int> Free = new();
        public int NextFresh;
    }

    private sealed class Segment(MemoryMappedFile file, MemoryMappedViewAccessor view, byte* pointer)
    {
        public MemoryMappedFile File { get; } = file;

        public MemoryMappedViewAccessor View { get; } = view;

        public byte* Pointer { get; } = pointer;
    }
}
