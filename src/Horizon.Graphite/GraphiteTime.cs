using System.Globalization;

namespace Horizon.Graphite;

/// <summary>The times <c>/render</c> and <c>/metrics/find</c> take as <c>from</c> and <c>until</c>, in
/// Graphite's formats: <c>now</c>, Unix seconds, a relative offset (<c>-6h</c>, <c>-10min</c>,
/// <c>now-1d</c>, <c>-2w</c>, <c>-1mon</c>, <c>-1y</c>; what Grafana sends), <c>HH:MM_YYYYMMDD</c>,
/// <c>YYYYMMDD</c>, <c>MM/DD/YY</c>, <c>today</c>, <c>yesterday</c>, <c>midnight</c> (all UTC).</summary>
public static class GraphiteTime
{
    /// <summary>The time <paramref name="text"/> names, relative to <paramref name="now"/> (Unix
    /// seconds), or null when it is none of the formats.</summary>
    public static long? Parse(string? text, long now)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }
        var s = text.Trim().ToLowerInvariant();
        if (s == "now")
        {
            return now;
        }
        if (s.StartsWith("now", StringComparison.Ordinal) && s.Length > 3 && s[3] is '-' or '+')
        {
            return Offset(s[3..]) is { } after ? now + after : null;
        }
        if (s[0] is '-' or '+')
        {
            return Offset(s) is { } offset ? now + offset : null;
        }
        if (long.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var unix) && s.Length != 8)
        {
            return unix;
        }
        var midnight = now - (((now % 86400) + 86400) % 86400);
        switch (s)
        {
            case "today" or "midnight":
                return midnight;
            case "yesterday":
                return midnight - 86400;
            case "tomorrow":
                return midnight + 86400;
        }
        string[] formats = ["HH:mm_yyyyMMdd", "H:mm_yyyyMMdd", "yyyyMMdd", "MM/dd/yy", "MM/dd/yyyy", "HH:mm_MM/dd/yy"];
        return DateTime.TryParseExact(s, formats, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var at)
            ? new DateTimeOffset(at, TimeSpan.Zero).ToUnixTimeSeconds()
            : null;
    }

    /// <summary>A signed offset in seconds (<c>-6h</c>, <c>+1d</c>, <c>5min</c>), or null.</summary>
    public static long? Offset(string text)
    {
        var s = text.Trim();
        var sign = 1;
        if (s.Length > 0 && s[0] is '-' or '+')
        {
            sign = s[0] == '-' ? -1 : 1;
            s = s[1..];
        }
        var digits = 0;
        while (digits < s.Length && char.IsAsciiDigit(s[digits]))
        {
            digits++;
        }
        if (digits == 0 || digits > 12 || UnitSeconds(s[digits..]) is not { } unit)
        {
            return null;
        }
        return sign * long.Parse(s.AsSpan(0, digits), CultureInfo.InvariantCulture) * unit;
    }

    // Graphite's unit names and their prefixes ("m" alone is minutes, as Graphite reads it).
    private static long? UnitSeconds(string unit) => unit.ToLowerInvariant() switch
    {
        "s" or "sec" or "secs" or "second" or "seconds" => 1,
        "m" or "min" or "mins" or "minute" or "minutes" => 60,
        "h" or "hour" or "hours" => 3600,
        "d" or "day" or "days" => 86400,
        "w" or "week" or "weeks" => 7 * 86400,
        "mon" or "month" or "months" => 30 * 86400,
        "y" or "year" or "years" => 365 * 86400,
        _ => null,
    };
}
