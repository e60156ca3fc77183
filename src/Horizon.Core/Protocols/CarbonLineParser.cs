using System.Buffers;
using System.Runtime.CompilerServices;
using Horizon.Core.Metrics;

namespace Horizon.Core.Protocols;

/// <summary>One line of the carbon plaintext protocol, parsed. <see cref="Name"/> points into the
/// read buffer (or the parser's scratch buffer) and is valid until the reader advances.</summary>
public readonly ref struct CarbonLine
{
    /// <summary>Creates a parsed line.</summary>
    public CarbonLine(ReadOnlySpan<byte> name, double value, long timestamp, RejectReason error)
    {
        Name = name;
        Value = value;
        Timestamp = timestamp;
        Error = error;
    }

    /// <summary>The metric name (UTF-8).</summary>
    public ReadOnlySpan<byte> Name { get; }

    /// <summary>The value.</summary>
    public double Value { get; }

    /// <summary>Unix seconds; "now" when the line had none or had -1.</summary>
    public long Timestamp { get; }

    /// <summary><see cref="RejectReason.None"/> for a good line, else why it was refused.</summary>
    public RejectReason Error { get; }
}

/// <summary>Parser for carbon's plaintext protocol: <c>name value [timestamp]\n</c> (also \r\n),
/// fields separated by runs of whitespace as carbon's <c>line.split()</c> does. A timestamp of -1,
/// or none, means now. Never consumes an incomplete line; a line longer than the limit is
/// reported once and skipped through its newline. Blank lines are skipped silently.</summary>
public sealed class CarbonLineParser
{
    private readonly LineFramer _framer;

    /// <summary>Creates a parser that refuses lines longer than <paramref name="maxLineLength"/> bytes.</summary>
    public CarbonLineParser(int maxLineLength = 4096) => _framer = new LineFramer(maxLineLength);

    /// <summary>Longest accepted line, newline excluded.</summary>
    public int MaxLineLength => _framer.MaxLineLength;

    /// <summary>Unix seconds used for lines without a timestamp; the connection sets it per read.</summary>
    public long Now { get; set; }

    /// <summary>Reads the next line. Returns false, consuming nothing, when no complete line is
    /// buffered. Returns true with a parsed line, good or rejected.</summary>
    public bool TryParse(ref SequenceReader<byte> reader, out CarbonLine line)
    {
        while (_framer.TryRead(ref reader, out var text, out var tooLong))
        {
            if (tooLong)
            {
                line = new CarbonLine(default, 0, 0, RejectReason.LineTooLong);
                return true;
            }
            if (ParseLine(text, Now, out line))
            {
                return true;
            }
        }
        line = default;
        return false;
    }

    /// <summary>Parses what is left when the peer closed the connection without a final newline
    /// (as <c>echo -n ... | nc</c> sends). Returns false when there is nothing to report.</summary>
    public bool TryParseFinal(in ReadOnlySequence<byte> rest, out CarbonLine line)
    {
        if (!_framer.TryReadFinal(rest, out var text, out var tooLong))
        {
            line = default;
            return false;
        }
        if (tooLong)
        {
            line = new CarbonLine(default, 0, 0, RejectReason.LineTooLong);
            return true;
        }
        return ParseLine(text, Now, out line);
    }

    /// <summary>Parses one line without its newline. Returns false for a blank line.</summary>
    public static bool ParseLine(ReadOnlySpan<byte> text, long now, out CarbonLine line)
    {
        var pos = SkipSpace(text, 0);
        if (pos == text.Length)
        {
            line = default;
            return false;
        }
        var nameEnd = SkipToken(text, pos);
        var name = text[pos..nameEnd];
        pos = SkipSpace(text, nameEnd);
        if (pos == text.Length)
        {
            line = new CarbonLine(name, 0, 0, RejectReason.MissingField);
            return true;
        }
        var valueEnd = SkipToken(text, pos);
        var valueText = text[pos..valueEnd];
        pos = SkipSpace(text, valueEnd);
        ReadOnlySpan<byte> tsText = default;
        if (pos < text.Length)
        {
            var tsEnd = SkipToken(text, pos);
            tsText = text[pos..tsEnd];
            pos = SkipSpace(text, tsEnd);
            if (pos < text.Length)
            {
                line = new CarbonLine(name, 0, 0, RejectReason.ExtraField);
                return true;
            }
        }

        var error = MetricName.Validate(name);
        if (error != RejectReason.None)
        {
            line = new CarbonLine(name, 0, 0, error);
            return true;
        }
        if (!Utf8Number.TryParseDouble(valueText, out var value))
        {
            line = new CarbonLine(name, 0, 0, RejectReason.BadValue);
            return true;
        }
        if (!double.IsFinite(value))
        {
            line = new CarbonLine(name, 0, 0, RejectReason.NonFiniteValue);
            return true;
        }
        var ts = now;
        if (!tsText.IsEmpty && !TryParseTimestamp(tsText, now, out ts))
        {
            line = new CarbonLine(name, value, 0, RejectReason.BadTimestamp);
            return true;
        }
        line = new CarbonLine(name, value, ts, RejectReason.None);
        return true;
    }

    /// <summary>Parses a carbon timestamp: integer or float unix seconds (truncated), or -1 for now.</summary>
    public static bool TryParseTimestamp(ReadOnlySpan<byte> text, long now, out long timestamp)
    {
        if (Utf8Number.TryParseInt64(text, out timestamp))
        {
            if (timestamp == -1)
            {
                timestamp = now;
                return true;
            }
            return timestamp >= 0;
        }
        if (Utf8Number.TryParseDouble(text, out var d) && double.IsFinite(d))
        {
            if (d == -1)
            {
                timestamp = now;
                return true;
            }
            if (d >= 0 && d < 1e15)
            {
                timestamp = (long)d;
                return true;
            }
        }
        timestamp = 0;
        return false;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool IsSpace(byte b) => b == (byte)' ' || (uint)(b - 9) <= 4; // space, \t \n \v \f \r

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int SkipSpace(ReadOnlySpan<byte> s, int i)
    {
        while (i < s.Length && IsSpace(s[i]))
        {
            i++;
        }
        return i;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int SkipToken(ReadOnlySpan<byte> s, int i)
    {
        var rest = s[i..];
        var n = rest.IndexOfAny(Whitespace);
        return n < 0 ? s.Length : i + n;
    }

    private static readonly SearchValues<byte> Whitespace = SearchValues.Create(" \t\n\v\f\r"u8);
}
