using System.Buffers.Binary;
using Horizon.Core.Metrics;
using Horizon.Core.Series;

namespace Horizon.Core.Protocols;

/// <summary>Skyline's UDP format: one datagram is a msgpack <c>[name, [timestamp, value]]</c>, the
/// name a str (or bin, as old msgpack writers produced), timestamp and value any msgpack number.</summary>
public static class MsgpackDatagramParser
{
    /// <summary>Parses a datagram. On success <paramref name="name"/> points into it.</summary>
    public static RejectReason Parse(ReadOnlySpan<byte> datagram, out ReadOnlySpan<byte> name, out long timestamp, out double value)
    {
        name = default;
        timestamp = 0;
        value = 0;
        if (!TryArrayOfTwo(datagram, out var pos))
        {
            return RejectReason.MalformedDatagram;
        }
        if (!TryString(datagram[pos..], out var nameStart, out var nameLength))
        {
            return RejectReason.MalformedDatagram;
        }
        name = datagram.Slice(pos + nameStart, nameLength);
        pos += nameStart + nameLength;
        var status = SeriesCodec.TryReadPoint(datagram[pos..], out timestamp, out value, out var consumed);
        if (status != PointReadStatus.Ok || pos + consumed != datagram.Length)
        {
            return RejectReason.MalformedDatagram;
        }
        var nameError = MetricName.Validate(name);
        if (nameError != RejectReason.None)
        {
            return nameError;
        }
        if (!double.IsFinite(value))
        {
            return RejectReason.NonFiniteValue;
        }
        return timestamp < 0 ? RejectReason.BadTimestamp : RejectReason.None;
    }

    private static bool TryArrayOfTwo(ReadOnlySpan<byte> s, out int headerLength)
    {
        headerLength = 0;
        if (s.IsEmpty)
        {
            return false;
        }
        switch (s[0])
        {
            case 0x92:
                headerLength = 1;
                return true;
            case 0xdc when s.Length >= 3 && BinaryPrimitives.ReadUInt16BigEndian(s[1..]) == 2:
                headerLength = 3;
                return true;
            case 0xdd when s.Length >= 5 && BinaryPrimitives.ReadUInt32BigEndian(s[1..]) == 2:
                headerLength = 5;
                return true;
            default:
                return false;
        }
    }

    private static bool TryString(ReadOnlySpan<byte> s, out int start, out int length)
    {
        start = 0;
        length = 0;
        if (s.IsEmpty)
        {
            return false;
        }
        var b = s[0];
        long n;
        if (b is >= 0xa0 and <= 0xbf)
        {
            start = 1;
            n = b & 0x1f;
        }
        else if ((b == 0xd9 || b == 0xc4) && s.Length >= 2)
        {
            start = 2;
            n = s[1];
        }
        else if ((b == 0xda || b == 0xc5) && s.Length >= 3)
        {
            start = 3;
            n = BinaryPrimitives.ReadUInt16BigEndian(s[1..]);
        }
        else if ((b == 0xdb || b == 0xc6) && s.Length >= 5)
        {
            start = 5;
            n = BinaryPrimitives.ReadUInt32BigEndian(s[1..]);
        }
        else
        {
            return false;
        }
        if (n > s.Length - start)
        {
            return false;
        }
        length = (int)n;
        return true;
    }
}
