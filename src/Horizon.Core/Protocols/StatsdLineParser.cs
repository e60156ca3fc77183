using System.Buffers;
using System.IO.Hashing;
using System.Runtime.CompilerServices;
using Horizon.Core.Metrics;

namespace Horizon.Core.Protocols;

/// <summary>StatsD's metric types (etsy/statsd; DogStatsD's h and d are timers).</summary>
public enum StatsdType : byte
{
    /// <summary><c>c</c>: a count, scaled by the sample rate.</summary>
    Counter,

    /// <summary><c>ms</c>, <c>h</c>, <c>d</c>: a duration or other sampled value.</summary>
    Timer,

    /// <summary><c>g</c>: a value (or, with a leading sign, a change to it).</summary>
    Gauge,

    /// <summary><c>s</c>: a member whose distinct occurrences are counted.</summary>
    Set,
}

/// <summary>One sample of a StatsD line (<c>value|type[|@rate][|#tags]</c>).</summary>
/// <param name="Type">Its type.</param>
/// <param name="Value">The number (not used by sets).</param>
/// <param name="SampleRate">The sample rate, in (0, 1]; 1 when none was given.</param>
/// <param name="Delta">A gauge written with a leading + or -: a change, not a value.</param>
/// <param name="Member">A set member's identity (a 64-bit hash of its text).</param>
public readonly record struct StatsdSample(StatsdType Type, double Value, double SampleRate, bool Delta, ulong Member);

/// <summary>Parser for StatsD lines: <c>name:value|type[|@rate][|#tags][:value|type...]</c>, one or
/// more lines per datagram or TCP stream, as etsy/statsd's <c>stats.js</c> reads them. The name is
/// sanitised as StatsD's <c>keyNameSanitize</c> does. UDP and TCP listeners share it: datagrams are
/// split by <see cref="NextLine"/>, streams by <see cref="LineFramer"/>.</summary>
public static class StatsdLineParser
{
    private static readonly SearchValues<byte> Whitespace = SearchValues.Create(" \t\r\n\v\f"u8);

    /// <summary>Takes the next line off a datagram (lines end with <c>\n</c>, the last may not).
    /// Returns false at the end.</summary>
    public static bool NextLine(ref ReadOnlySpan<byte> datagram, out ReadOnlySpan<byte> line)
    {
        if (datagram.IsEmpty)
        {
            line = default;
            return false;
        }
        var nl = datagram.IndexOf((byte)'\n');
        line = nl < 0 ? datagram : datagram[..nl];
        datagram = nl < 0 ? default : datagram[(nl + 1)..];
        return true;
    }

    /// <summary>A line with nothing but spaces, tabs and a carriage return: skipped, not counted.</summary>
    public static bool IsBlank(ReadOnlySpan<byte> line) => line.Trim(" \t\r"u8).IsEmpty;

    /// <summary>Reads a line's name into <paramref name="name"/> (at least
    /// <see cref="MetricName.MaxLength"/> bytes), sanitised; its samples follow in
    /// <paramref name="samples"/>.</summary>
    public static RejectReason ParseName(ReadOnlySpan<byte> line, Span<byte> name, out int nameLength, out StatsdSamples samples)
    {
        nameLength = 0;
        samples = default;
        var colon = line.IndexOf((byte)':');
        if (colon < 0)
        {
            return RejectReason.MissingField;
        }
        var raw = line[..colon];
        if (raw.Length > MetricName.MaxLength)
        {
            return RejectReason.NameTooLong;
        }
        nameLength = Sanitize(raw, name);
        samples = new StatsdSamples(line[(colon + 1)..]);
        return nameLength == 0 ? RejectReason.EmptyName : RejectReason.None;
    }

    // Samples are separated by ':' (etsy StatsD's "a:1|c:2|ms"), except inside a DogStatsD tag
    // field ("|#env:prod"), which runs to the next '|'.
    internal static int NextSampleSeparator(ReadOnlySpan<byte> rest)
    {
        var inTags = false;
        for (var i = 0; i < rest.Length; i++)
        {
            var b = rest[i];
            if (b == (byte)'|')
            {
                inTags = i + 1 < rest.Length && rest[i + 1] == (byte)'#';
            }
            else if (b == (byte)':' && !inTags)
            {
                return i;
            }
        }
        return -1;
    }

    /// <summary>Parses one sample: <c>value|type[|@rate][|other fields]</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)] // into the aggregator's loop: no sample copied through memory
    public static RejectReason ParseSample(ReadOnlySpan<byte> text, out StatsdSample sample)
    {
        sample = default;
        var bar = text.IndexOf((byte)'|');
        if (bar < 0)
        {
            return RejectReason.MissingField;
        }
        var valueText = text[..bar].Trim(" \t"u8);
        var rest = text[(bar + 1)..];
        var bar2 = rest.IndexOf((byte)'|');
        var typeText = (bar2 < 0 ? rest : rest[..bar2]).Trim(" \t\r\n"u8);
        var sampleRate = 1.0;
        while (bar2 >= 0)
        {
            rest = rest[(bar2 + 1)..];
            bar2 = rest.IndexOf((byte)'|');
            var field = (bar2 < 0 ? rest : rest[..bar2]).Trim(" \t\r\n"u8);
            if (field.Length > 0 && field[0] == (byte)'@')
            {
                if (!Utf8Number.TryParseDouble(field[1..], out sampleRate) || !(sampleRate > 0 && sampleRate <= 1))
                {
                    return RejectReason.BadSampleRate;
                }
            }
            // Other fields (DogStatsD "#tags", container ids) carry nothing Graphite can name.
        }

        StatsdType type;
        if (typeText.SequenceEqual("c"u8))
        {
            type = StatsdType.Counter;
        }
        else if (typeText.SequenceEqual("ms"u8) || typeText.SequenceEqual("h"u8) || typeText.SequenceEqual("d"u8))
        {
            type = StatsdType.Timer;
        }
        else if (typeText.SequenceEqual("g"u8))
        {
            type = StatsdType.Gauge;
        }
        else if (typeText.SequenceEqual("s"u8))
        {
            sample = new StatsdSample(StatsdType.Set, 0, sampleRate, false, XxHash3.HashToUInt64(valueText));
            return RejectReason.None;
        }
        else
        {
            return typeText.IsEmpty ? RejectReason.MissingField : RejectReason.UnknownType;
        }
        if (!Utf8Number.TryParseDouble(valueText, out var value))
        {
            return RejectReason.BadValue;
        }
        if (!double.IsFinite(value))
        {
            return RejectReason.NonFiniteValue;
        }
        if (type == StatsdType.Timer && value < 0 && typeText.SequenceEqual("ms"u8))
        {
            return RejectReason.BadValue; // StatsD refuses negative durations
        }
        var delta = type == StatsdType.Gauge && valueText.Length > 0 && (valueText[0] == (byte)'+' || valueText[0] == (byte)'-');
        sample = new StatsdSample(type, value, sampleRate, delta, 0);
        return RejectReason.None;
    }

    /// <summary>StatsD's keyNameSanitize: runs of whitespace become '_', '/' becomes '-', and all
    /// but [A-Za-z0-9_.-] is dropped. Returns the bytes written.</summary>
    public static int Sanitize(ReadOnlySpan<byte> raw, Span<byte> destination)
    {
        var n = 0;
        var inSpace = false;
        foreach (var b in raw)
        {
            if (Whitespace.Contains(b))
            {
                if (!inSpace)
                {
                    destination[n++] = (byte)'_';
                }
                inSpace = true;
                continue;
            }
            inSpace = false;
            if (b == (byte)'/')
            {
                destination[n++] = (byte)'-';
            }
            else if (b is >= (byte)'a' and <= (byte)'z' or >= (byte)'A' and <= (byte)'Z' or >= (byte)'0' and <= (byte)'9'
                     or (byte)'_' or (byte)'-' or (byte)'.')
            {
                destination[n++] = b;
            }
        }
        return n;
    }
}

/// <summary>The samples of one StatsD line, read one at a time (a line has at least one, perhaps
/// empty and so refused).</summary>
public ref struct StatsdSamples
{
    private ReadOnlySpan<byte> _rest;
    private bool _done;

    /// <summary>The samples in <paramref name="text"/>, the line after its name's colon.</summary>
    public StatsdSamples(ReadOnlySpan<byte> text) => _rest = text;

    /// <summary>Reads the next sample. Returns false when there are none left; otherwise true, with
    /// the sample or, in <paramref name="error"/>, why it was refused.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool MoveNext(out StatsdSample sample, out RejectReason error)
    {
        if (_done)
        {
            sample = default;
            error = RejectReason.None;
            return false;
        }
        var next = StatsdLineParser.NextSampleSeparator(_rest);
        error = StatsdLineParser.ParseSample(next < 0 ? _rest : _rest[..next], out sample);
        _done = next < 0;
        _rest = next < 0 ? default : _rest[(next + 1)..];
        return true;
    }
}
