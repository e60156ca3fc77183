using System.Collections.Concurrent;
using Horizon.Core.Logs;

namespace Horizon.Ingest.Logs;

/// <summary>One received line inside a <see cref="LogBlock"/>: where its source name and message
/// bytes are, its severity and when it arrived.</summary>
public readonly record struct LogBlockLine(int Offset, int SourceLength, int MessageLength, LogSeverity Severity, long TimeMs);

/// <summary>Lines handed from a listener to the <see cref="LogPipeline"/> in one piece: their bytes
/// in one buffer and their positions, recycled through the pipeline's pool (no allocation per line).</summary>
public sealed class LogBlock
{
    /// <summary>Bytes a block holds.</summary>
    public const int Capacity = 256 * 1024;

    /// <summary>Lines a block holds.</summary>
    public const int MaxLines = 4096;

    internal readonly byte[] Bytes = new byte[Capacity];
    internal readonly LogBlockLine[] Lines = new LogBlockLine[MaxLines];
    private int _used;

    /// <summary>Lines held.</summary>
    public int Count { get; private set; }

    /// <summary>Which listener the lines came from (for the counters).</summary>
    public int Listener { get; set; }

    /// <summary>Adds a line; false when the block has no room left for it.</summary>
    public bool TryAdd(ReadOnlySpan<byte> source, ReadOnlySpan<byte> message, LogSeverity severity, long timeMs)
    {
        if (source.Length > 64)
        {
            source = source[..64];
        }
        if (Count == MaxLines || _used + source.Length + message.Length > Capacity)
        {
            return false;
        }
        source.CopyTo(Bytes.AsSpan(_used));
        message.CopyTo(Bytes.AsSpan(_used + source.Length));
        Lines[Count++] = new LogBlockLine(_used, source.Length, message.Length, severity, timeMs);
        _used += source.Length + message.Length;
        return true;
    }

    /// <summary>The source bytes of a line.</summary>
    internal ReadOnlySpan<byte> Source(in LogBlockLine line) => Bytes.AsSpan(line.Offset, line.SourceLength);

    /// <summary>The message bytes of a line.</summary>
    internal ReadOnlySpan<byte> Message(in LogBlockLine line) => Bytes.AsSpan(line.Offset + line.SourceLength, line.MessageLength);

    /// <summary>Empties the block for reuse.</summary>
    public void Clear()
    {
        Count = 0;
        _used = 0;
    }
}

/// <summary>Recycled <see cref="LogBlock"/>s: a bounded number are kept for reuse.</summary>
public sealed class LogBlockPool(int keep)
{
    private readonly ConcurrentQueue<LogBlock> _free = new();

    /// <summary>An empty block.</summary>
    public LogBlock Rent(int listener)
    {
        var block = _free.TryDequeue(out var b) ? b : new LogBlock();
        block.Listener = listener;
        return block;
    }

    /// <summary>Returns a block (kept if fewer than the bound are).</summary>
    public void Return(LogBlock block)
    {
        block.Clear();
        if (_free.Count < keep)
        {
            _free.Enqueue(block);
        }
    }
}
