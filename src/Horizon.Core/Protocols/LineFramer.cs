using System.Buffers;

namespace Horizon.Core.Protocols;

/// <summary>Splits a byte stream into newline-terminated lines with a bounded length. Never
/// consumes an incomplete line; a line longer than the limit is reported once and skipped
/// through its newline, however many reads it spans.</summary>
public sealed class LineFramer : IFrameReader
{
    private readonly byte[] _scratch;
    private bool _discarding;

    /// <summary>Creates a framer refusing lines longer than <paramref name="maxLineLength"/> bytes.</summary>
    public LineFramer(int maxLineLength)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLineLength, 16);
        MaxLineLength = maxLineLength;
        _scratch = new byte[maxLineLength];
    }

    /// <summary>Longest accepted line, newline excluded.</summary>
    public int MaxLineLength { get; }

    /// <summary>Reads the next line (without its '\n'). Returns false, consuming only what can
    /// never become a valid line, when no complete line is buffered. Returns true with
    /// <paramref name="tooLong"/> set, once per over-long line.</summary>
    public bool TryRead(ref SequenceReader<byte> reader, out ReadOnlySpan<byte> frame, out bool tooLong)
    {
        while (true)
        {
            tooLong = false;
            var span = reader.UnreadSpan;
            var nl = span.IndexOf((byte)'\n');
            if (nl >= 0)
            {
                frame = span[..nl];
                reader.Advance(nl + 1);
            }
            else if (reader.TryReadTo(out ReadOnlySequence<byte> multi, (byte)'\n', advancePastDelimiter: true))
            {
                if (multi.Length > MaxLineLength)
                {
                    frame = default;
                }
                else
                {
                    multi.CopyTo(_scratch);
                    frame = _scratch.AsSpan(0, (int)multi.Length);
                }
                if (multi.Length > MaxLineLength && !_discarding)
                {
                    tooLong = true;
                    return true;
                }
            }
            else
            {
                frame = default;
                if (reader.Remaining > MaxLineLength || (_discarding && reader.Remaining > 0))
                {
                    // A partial line beyond the limit can never become valid: drop what is
                    // buffered and keep dropping through the next newline.
                    reader.Advance(reader.Remaining);
                    if (!_discarding)
                    {
                        _discarding = true;
                        tooLong = true;
                        return true;
                    }
                }
                return false;
            }

            if (_discarding)
            {
                _discarding = false; // the tail of an over-long line, already reported
                continue;
            }
            if (frame.Length > MaxLineLength)
            {
                tooLong = true;
                return true;
            }
            return true;
        }
    }

    /// <summary>Frames what is left when the peer closed without a final newline. Returns false
    /// when nothing is left to report.</summary>
    public bool TryReadFinal(in ReadOnlySequence<byte> rest, out ReadOnlySpan<byte> frame, out bool tooLong)
    {
        frame = default;
        tooLong = false;
        if (rest.IsEmpty || _discarding)
        {
            _discarding = false;
            return false;
        }
        if (rest.Length > MaxLineLength)
        {
            tooLong = true;
            return true;
        }
        rest.CopyTo(_scratch);
        frame = _scratch.AsSpan(0, (int)rest.Length);
        return true;
    }
}
