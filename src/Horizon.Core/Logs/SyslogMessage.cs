namespace Horizon.Core.Logs;

/// <summary>One syslog message, parsed in place: RFC 5424 (<c>&lt;PRI&gt;1 TIMESTAMP HOST APP
/// PROCID MSGID SD MSG</c>), RFC 3164 (<c>&lt;PRI&gt;Mmm dd hh:mm:ss HOST TAG[pid]: MSG</c>, with or
/// without the host, or with an RFC 3339 time as rsyslog writes it), or a bare line without a
/// priority (its severity left to <see cref="LogSeverities.Detect"/>).</summary>
public readonly ref struct SyslogMessage
{
    private static readonly System.Buffers.SearchValues<byte> NotInTag = System.Buffers.SearchValues.Create("\"'=/{}"u8);

    /// <summary>The severity from the priority, or <see cref="LogSeverity.Unknown"/> without one.</summary>
    public LogSeverity Severity { get; init; }

    /// <summary>The facility from the priority (0-23), or -1 without one.</summary>
    public int Facility { get; init; }

    /// <summary>HOSTNAME, empty when absent or "-".</summary>
    public ReadOnlySpan<byte> Host { get; init; }

    /// <summary>APP-NAME (5424) or the TAG without its pid (3164); empty when absent or "-".</summary>
    public ReadOnlySpan<byte> App { get; init; }

    /// <summary>The free-form message.</summary>
    public ReadOnlySpan<byte> Message { get; init; }

    /// <summary>Parses one message (framing already removed). Trailing CR, LF, NUL and spaces are
    /// ignored. A message without text, or a priority that is not 0-191, is refused.</summary>
    public static LogReject TryParse(ReadOnlySpan<byte> line, out SyslogMessage message)
    {
        message = default;
        line = line.TrimEnd("\r\n\0 \t"u8);
        if (line.IsEmpty)
        {
            return LogReject.Empty;
        }
        if (line[0] != (byte)'<')
        {
            message = new SyslogMessage { Severity = LogSeverity.Unknown, Facility = -1, Message = line };
            return LogReject.None;
        }
        var close = line[..Math.Min(line.Length, 5)].IndexOf((byte)'>');
        if (close < 2 || !TryDigits(line[1..close], out var pri) || pri > 191)
        {
            return LogReject.BadPriority;
        }
        var rest = line[(close + 1)..];
        var severity = (LogSeverity)(pri & 7);
        var facility = pri >> 3;
        ReadOnlySpan<byte> host, app, text;
        if (rest.Length >= 2 && rest[0] == (byte)'1' && rest[1] == (byte)' ')
        {
            rest = rest[2..];
            _ = Field(ref rest); // TIMESTAMP: the time Horizon received it is used
            host = Nil(Field(ref rest));
            app = Nil(Field(ref rest));
            _ = Field(ref rest); // PROCID
            _ = Field(ref rest); // MSGID
            SkipStructuredData(ref rest);
            text = rest.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]) ? rest[3..] : rest;
        }
        else
        {
            Rfc3164(rest, out host, out app, out text);
        }
        if (text.Trim(" \t"u8).IsEmpty)
        {
            return LogReject.NoMessage;
        }
        message = new SyslogMessage { Severity = severity, Facility = facility, Host = host, App = app, Message = text };
        return LogReject.None;
    }

    private static void Rfc3164(ReadOnlySpan<byte> rest, out ReadOnlySpan<byte> host, out ReadOnlySpan<byte> app, out ReadOnlySpan<byte> text)
    {
        host = default;
        app = default;
        var hadTime = false;
        // "Mmm dd hh:mm:ss " (the day padded with a space)
        if (rest.Length > 16 && rest[3] == (byte)' ' && rest[6] == (byte)' ' && rest[9] == (byte)':' && rest[12] == (byte)':' && IsLetter(rest[0]))
        {
            rest = rest[16..];
            hadTime = true;
        }
        else if (rest.Length > 20 && rest[4] == (byte)'-' && rest[10] == (byte)'T' && rest.IndexOf((byte)' ') is > 18 and var sp)
        {
            rest = rest[(sp + 1)..]; // an RFC 3339 time in the old format (rsyslog's forwarding template)
            hadTime = true;
        }
        var probe = rest;
        var first = Field(ref probe);
        if (IsTag(first, out var firstApp))
        {
            app = firstApp;
            text = probe;
            return;
        }
        if (hadTime && !first.IsEmpty)
        {
            var afterHost = probe;
            var second = Field(ref afterHost);
            if (IsTag(second, out var secondApp))
            {
                host = first;
                app = secondApp;
                text = afterHost;
                return;
            }
            host = first;
            text = probe;
            return;
        }
        text = rest;
    }

    // "app:" or "app[pid]:"
    private static bool IsTag(ReadOnlySpan<byte> word, out ReadOnlySpan<byte> app)
    {
        app = default;
        if (word.Length < 2 || word[^1] != (byte)':' || word.Length > 49)
        {
            return false;
        }
        word = word[..^1];
        var bracket = word.IndexOf((byte)'[');
        if (bracket >= 0)
        {
            if (word[^1] != (byte)']')
            {
                return false;
            }
            word = word[..bracket];
        }
        if (word.IsEmpty || word.IndexOfAny(NotInTag) >= 0)
        {
            return false;
        }
        app = word;
        return true;
    }

    private static bool IsLetter(byte b) => b is >= (byte)'A' and <= (byte)'Z' or >= (byte)'a' and <= (byte)'z';

    private static ReadOnlySpan<byte> Field(scoped ref ReadOnlySpan<byte> rest)
    {
        var sp = rest.IndexOf((byte)' ');
        var field = sp < 0 ? rest : rest[..sp];
        rest = sp < 0 ? default : rest[(sp + 1)..];
        return field;
    }

    private static ReadOnlySpan<byte> Nil(ReadOnlySpan<byte> field) => field.SequenceEqual("-"u8) ? default : field;

    private static void SkipStructuredData(ref ReadOnlySpan<byte> rest)
    {
        if (rest.StartsWith("-"u8))
        {
            rest = rest.Length > 1 ? rest[2..] : default;
            return;
        }
        var i = 0;
        while (i < rest.Length && rest[i] == (byte)'[')
        {
            var quoted = false;
            i++;
            for (; i < rest.Length; i++)
            {
                var b = rest[i];
                if (b == (byte)'\\' && quoted)
                {
                    i++;
                }
                else if (b == (byte)'"')
                {
                    quoted = !quoted;
                }
                else if (b == (byte)']' && !quoted)
                {
                    i++;
                    break;
                }
            }
        }
        rest = i < rest.Length && rest[i] == (byte)' ' ? rest[(i + 1)..] : rest[Math.Min(i, rest.Length)..];
    }

    private static bool TryDigits(ReadOnlySpan<byte> digits, out int value)
    {
        value = 0;
        if (digits.IsEmpty || digits.Length > 3)
        {
            return false;
        }
        foreach (var d in digits)
        {
            if (d is < (byte)'0' or > (byte)'9')
            {
                return false;
            }
            value = (value * 10) + (d - '0');
        }
        return true;
    }
}
