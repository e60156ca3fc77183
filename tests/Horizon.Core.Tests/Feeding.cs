using System.Buffers;

namespace Horizon.Core.Tests;

/// <summary>Feeds a payload to a parser the way a PipeReader would: in chunks, keeping unconsumed
/// bytes and appending each new chunk as a new segment.</summary>
public static class Feeding
{
    /// <summary>One parse step: read as much as possible from the reader, recording results.</summary>
    public delegate void ParseStep(ref SequenceReader<byte> reader, bool isCompleted);

    /// <summary>The three ways every payload is fed: whole, split at every offset, one byte per chunk.</summary>
    public static IEnumerable<(string Mode, List<byte[]> Chunks)> AllWays(byte[] payload)
    {
        yield return ("whole", [payload]);
        for (var k = 1; k < payload.Length; k++)
        {
            yield return ($"split at {k}", [payload.AsMemory(0, k).ToArray(), payload.AsMemory(k).ToArray()]);
        }
        yield return ("one byte per chunk", [.. payload.Select(b => new[] { b })]);
    }

    /// <summary>Runs <paramref name="step"/> over the chunks as a connection loop would, returning
    /// the number of bytes left unconsumed at the end.</summary>
    public static long Run(IEnumerable<byte[]> chunks, ParseStep step)
    {
        var pending = new List<ReadOnlyMemory<byte>>();
        var list = chunks.ToList();
        for (var c = 0; c < list.Count; c++)
        {
            pending.Add(list[c]);
            Coalesce(pending);
            var sequence = Build(pending);
            var reader = new SequenceReader<byte>(sequence);
            step(ref reader, c == list.Count - 1);
            Drop(pending, reader.Consumed);
        }
        return pending.Sum(m => (long)m.Length);
    }

    /// <summary>A sequence whose segments are the given pieces.</summary>
    public static ReadOnlySequence<byte> Build(IReadOnlyList<ReadOnlyMemory<byte>> pieces)
    {
        var nonEmpty = pieces.Where(p => !p.IsEmpty).ToList();
        if (nonEmpty.Count == 0)
        {
            return ReadOnlySequence<byte>.Empty;
        }
        var first = new Segment(nonEmpty[0], 0);
        var last = first;
        for (var i = 1; i < nonEmpty.Count; i++)
        {
            last = last.Append(nonEmpty[i]);
        }
        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }

    /// <summary>A sequence with one segment per byte.</summary>
    public static ReadOnlySequence<byte> OneBytePerSegment(byte[] payload) =>
        Build([.. payload.Select(b => (ReadOnlyMemory<byte>)new[] { b })]);

    // A pipe's buffer keeps few segments; merging old pieces keeps one-byte feeding of large
    // payloads linear while the newest pieces stay separate segments.
    private static void Coalesce(List<ReadOnlyMemory<byte>> pending)
    {
        if (pending.Count <= 16)
        {
            return;
        }
        var merged = new byte[pending.Take(pending.Count - 4).Sum(m => m.Length)];
        var offset = 0;
        foreach (var piece in pending.Take(pending.Count - 4))
        {
            piece.CopyTo(merged.AsMemory(offset));
            offset += piece.Length;
        }
        pending.RemoveRange(0, pending.Count - 4);
        pending.Insert(0, merged);
    }

    private static void Drop(List<ReadOnlyMemory<byte>> pending, long consumed)
    {
        while (consumed > 0 && pending.Count > 0)
        {
            if (pending[0].Length <= consumed)
            {
                consumed -= pending[0].Length;
                pending.RemoveAt(0);
            }
            else
            {
                pending[0] = pending[0][(int)consumed..];
                consumed = 0;
            }
        }
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}
