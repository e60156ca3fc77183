using Horizon.Core.Logs;

namespace Horizon.Ingest.Logs;

/// <summary>A line as the live tail hands it out: its place in the stream, when it arrived, its
/// severity, source and template, and where its bytes are in the reader's buffer.</summary>
public readonly record struct TailLine(long Seq, long TimeMs, LogSeverity Severity, LogSource Source, LogTemplateState? Template, int Offset, int Length);

/// <summary>The recent lines, for the live tail: a ring of at most <see cref="LogOptions.TailLines"/>
/// lines and <see cref="LogOptions.TailBytes"/> bytes, written by the pipeline alone and read by any
/// number of tail clients, each at its own position. The writer never waits for a reader: a reader
/// that falls behind the ring finds its lines overwritten and is told how many it missed.</summary>
public sealed class LogTail
{
    private readonly object _gate = new();
    private readonly byte[] _bytes;
    private readonly Entry[] _entries;
    private long _head;
    private long _oldest;
    private long _bytePos;

    /// <summary>Creates an empty ring.</summary>
    public LogTail(long bytes, int lines)
    {
        _bytes = new byte[bytes];
        _entries = new Entry[lines];
    }

    /// <summary>The position the next line will have.</summary>
    public long Head => Volatile.Read(ref _head);

    /// <summary>Lines held.</summary>
    public long Count
    {
        get
        {
            lock (_gate)
            {
                return _head - _oldest;
            }
        }
    }

    /// <summary>Adds a line (cut to the ring's size).</summary>
    public void Append(ReadOnlySpan<byte> message, LogSeverity severity, long timeMs, LogSource source, LogTemplateState? template)
    {
        lock (_gate)
        {
            var start = _bytePos;
            var at = (int)(start % _bytes.Length);
            var first = Math.Min(message.Length, _bytes.Length - at);
            message[..first].CopyTo(_bytes.AsSpan(at));
            message[first..].CopyTo(_bytes);
            _bytePos += message.Length;
            _entries[_head % _entries.Length] = new Entry(start, message.Length, severity, timeMs, source, template);
            _head++;
            while (_oldest < _head && (_head - _oldest > _entries.Length || _entries[_oldest % _entries.Length].BytePos < _bytePos - _bytes.Length))
            {
                _oldest++;
            }
            Volatile.Write(ref _head, _head);
        }
    }

    /// <summary>The position of the first line that arrived at or after <paramref name="timeMs"/>.</summary>
    public long PositionAt(long timeMs)
    {
        lock (_gate)
        {
            long lo = _oldest, hi = _head;
            while (lo < hi)
            {
                var mid = lo + ((hi - lo) / 2);
                if (_entries[mid % _entries.Length].TimeMs < timeMs)
                {
                    lo = mid + 1;
                }
                else
                {
                    hi = mid;
                }
            }
            return lo;
        }
    }

    /// <summary>Copies lines from <paramref name="cursor"/> on into <paramref name="lines"/> and
    /// their bytes into <paramref name="buffer"/>, and moves the cursor past them. Lines already
    /// overwritten are skipped and counted in <paramref name="missed"/>; so are lines beyond
    /// <paramref name="maxLag"/> behind the newest. Returns the number copied.</summary>
    public int Read(ref long cursor, Span<TailLine> lines, byte[] buffer, long maxLag, out long missed)
    {
        lock (_gate)
        {
            var from = Math.Max(_oldest, _head - maxLag);
            missed = Math.Max(0, from - cursor);
            cursor = Math.Max(cursor, from);
            var n = 0;
            var used = 0;
            while (cursor < _head && n < lines.Length)
            {
                var e = _entries[cursor % _entries.Length];
                if (used + e.Length > buffer.Length)
                {
                    break;
                }
                var at = (int)(e.BytePos % _bytes.Length);
                var first = Math.Min(e.Length, _bytes.Length - at);
                _bytes.AsSpan(at, first).CopyTo(buffer.AsSpan(used));
                _bytes.AsSpan(0, e.Length - first).CopyTo(buffer.AsSpan(used + first));
                lines[n++] = new TailLine(cursor, e.TimeMs, e.Severity, e.Source, e.Template, used, e.Length);
                used += e.Length;
                cursor++;
            }
            return n;
        }
    }

    private readonly record struct Entry(long BytePos, int Length, LogSeverity Severity, long TimeMs, LogSource Source, LogTemplateState? Template);
}
