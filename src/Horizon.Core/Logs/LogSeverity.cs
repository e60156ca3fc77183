namespace Horizon.Core.Logs;

/// <summary>Syslog's severities (RFC 5424 section 6.2.1), most severe first, and
/// <see cref="Unknown"/> for a line that says none.</summary>
public enum LogSeverity : byte
{
#pragma warning disable CS1591 // syslog's own names
    Emergency,
    Alert,
    Critical,
    Error,
    Warning,
    Notice,
    Informational,
    Debug,
    Unknown,
#pragma warning restore CS1591
}

/// <summary>Names of <see cref="LogSeverity"/> and how a line's words map to one.</summary>
public static class LogSeverities
{
    private static readonly string[] Names = ["emerg", "alert", "crit", "err", "warning", "notice", "info", "debug", "unknown"];

    /// <summary>The short name syslog uses (<c>err</c>, <c>warning</c>, <c>info</c>...).</summary>
    public static string Name(this LogSeverity severity) => Names[(int)severity];

    /// <summary>A severity from its number (0-7) or a common word for it, any case: syslog's
    /// names and the ones logging libraries use (fatal, error, warn, trace...).</summary>
    public static bool TryParse(ReadOnlySpan<char> word, out LogSeverity severity)
    {
        severity = LogSeverity.Unknown;
        if (word.Length == 1 && word[0] is >= '0' and <= '7')
        {
            severity = (LogSeverity)(word[0] - '0');
            return true;
        }
        if (word.Length is < 3 or > 13)
        {
            return false;
        }
        Span<char> lower = stackalloc char[word.Length];
        word.ToLowerInvariant(lower);
        severity = lower switch
        {
            "emerg" or "emergency" or "panic" => LogSeverity.Emergency,
            "alert" => LogSeverity.Alert,
            "crit" or "critical" or "fatal" or "severe" => LogSeverity.Critical,
            "err" or "error" or "eror" => LogSeverity.Error,
            "warn" or "warning" or "wrn" => LogSeverity.Warning,
            "notice" => LogSeverity.Notice,
            "info" or "information" or "informational" or "inf" => LogSeverity.Informational,
            "debug" or "dbg" or "trace" or "verbose" => LogSeverity.Debug,
            _ => LogSeverity.Unknown,
        };
        return severity != LogSeverity.Unknown;
    }

    /// <summary>The severity a plain line states among its first words, the way application logs
    /// write it: <c>ERROR</c>, <c>[warn]</c>, <c>level=info</c>, <c>&lt;E&gt;</c> is not one.
    /// Lower-case words count only in brackets or after <c>level=</c>, so "no error" in the text
    /// of a message does not make it an error.</summary>
    public static LogSeverity Detect(ReadOnlySpan<char> line)
    {
        var words = 0;
        while (!line.IsEmpty && words < 8)
        {
            line = line.TrimStart();
            var end = line.IndexOfAny(' ', '\t');
            var word = end < 0 ? line : line[..end];
            line = end < 0 ? default : line[end..];
            words++;
            var marked = false;
            if (word.StartsWith("level=", StringComparison.OrdinalIgnoreCase) || word.StartsWith("severity=", StringComparison.OrdinalIgnoreCase))
            {
                word = word[(word.IndexOf('=') + 1)..].Trim('"');
                marked = true;
            }
            if (word.Length > 2 && word[0] is '[' or '<' or '(' && word[^1] is ']' or '>' or ')' or ':')
            {
                word = word.TrimEnd(':')[1..^1];
                marked = true;
            }
            word = word.TrimEnd(':');
            if ((marked || IsUpper(word)) && TryParse(word, out var severity) && word.Length > 1)
            {
                return severity;
            }
        }
        return LogSeverity.Unknown;
    }

    private static bool IsUpper(ReadOnlySpan<char> word)
    {
        foreach (var c in word)
        {
            if (c is < 'A' or > 'Z')
            {
                return false;
            }
        }
        return word.Length > 0;
    }
}
