using System.Buffers;
using Horizon.Core.Protocols;

namespace Horizon.Core.Logs;

/// <summary>Syslog over TCP (RFC 6587): each frame is either octet-counted (<c>LEN SP MSG</c>, what
/// rsyslog and <c>logger --octet-count</c> send) or ends at a newline; a frame that starts with a
/// digit is octet-counted, any other (a syslog message starts with '&lt;') is a line.</summary>
public sealed class SyslogFramer(int maxLength) : IFrameReader
{
    private readonly LineFramer _lines = new(maxLength);
    private readonly byte[] _scratch = new byte[maxLength];
    private long _skipping;

    /// <summary>Longest accepted message.</summary>
    public int MaxLength { get; } = maxLength;

    /// <summary>Reads the next frame. False when no complete frame is buffered. True with
    /// <paramref name="tooLong"/> set, once, for a frame longer than the limit (its bytes are
    /// skipped as they arrive).</summary>
    public bool TryRead(ref SequenceReader<byte> reader, out ReadOnlySpan<byte> frame, out bool tooLong)
    {
        frame = default;
        tooLong = false;
        if (_skipping > 0)
        {
            var skip = Math.Min(_skipping, reader.Remaining);
            reader.Advance(skip);
            _skipping -= skip;
            if (_skipping > 0)
            {
                return false;
            }
        }
        if (!reader.TryPeek(out var first))
        {
            return false;
        }
        if (first is < (byte)'1' or > (byte)'9')
        {
            return _lines.TryRead(ref reader, out frame, out tooLong);
        }
        var start = reader;
        long length = 0;
        var digits = 0;
        while (reader.TryRead(out var b))
        {
            if (b == (byte)' ')
            {
                break;
            }
            if (b is < (byte)'0' or > (byte)'9' || ++digits > 9)
            {
                // Not a length after all: a plain line that starts with a digit.
                reader = start;
                return _lines.TryRead(ref reader, out frame, out tooLong);
            }
            length = (length * 10) + (b - '0');
        }
        if (reader.End && (reader.Consumed == start.Consumed + digits))
        {
            reader = start; // the length is not complete yet
            return false;
        }
        if (length > MaxLength)
        {
            tooLong = true;
            var skip = Math.Min(length, reader.Remaining);
            reader.Advance(skip);
            _skipping = length - skip;
            return true;
        }
        if (reader.Remaining < length)
        {
            reader = start;
            return false;
        }
        var unread = reader.UnreadSpan;
        if (unread.Length >= length)
        {
            frame = unread[..(int)length];
        }
        else
        {
            reader.Sequence.Slice(reader.Position, length).CopyTo(_scratch);
            frame = _scratch.AsSpan(0, (int)length);
        }
        reader.Advance(length);
        return true;
    }

    /// <summary>What is left when the peer closed: a last newline-less line, if any.</summary>
    public bool TryReadFinal(in ReadOnlySequence<byte> rest, out ReadOnlySpan<byte> frame, out bool tooLong)
    {
        if (_skipping > 0)
        {
            frame = default;
            tooLong = false;
            return false;
        }
        return _lines.TryReadFinal(rest, out frame, out tooLong);
    }
}
