using System.Text.Unicode;
using Horizon.Core.Protocols;

namespace Horizon.Core.Metrics;

/// <summary>The rules every metric name obeys, whatever protocol it came in on.</summary>
public static class MetricName
{
    /// <summary>Longest accepted name, in UTF-8 bytes.</summary>
    public const int MaxLength = 1024;

    /// <summary>Checks a name: not empty, at most <see cref="MaxLength"/> bytes, no whitespace or
    /// control characters, valid UTF-8.</summary>
    public static RejectReason Validate(ReadOnlySpan<byte> name)
    {
        if (name.IsEmpty)
        {
            return RejectReason.EmptyName;
        }
        if (name.Length > MaxLength)
        {
            return RejectReason.NameTooLong;
        }
        // Printable ASCII is the overwhelmingly common case and is checked vectorised.
        var first = name.IndexOfAnyExceptInRange((byte)0x21, (byte)0x7e);
        if (first < 0)
        {
            return RejectReason.None;
        }
        foreach (var b in name[first..])
        {
            if (b <= 0x20 || b == 0x7f)
            {
                return RejectReason.InvalidNameCharacter;
            }
        }
        if (!Utf8.IsValid(name))
        {
            return RejectReason.InvalidUtf8;
        }
        // C1 controls (U+0080..U+009F) are encoded as C2 80..C2 9F.
        for (var i = first; i < name.Length - 1; i++)
        {
            if (name[i] == 0xC2 && name[i + 1] >= 0x80 && name[i + 1] <= 0x9F)
            {
                return RejectReason.InvalidNameCharacter;
            }
        }
        return RejectReason.None;
    }
}
