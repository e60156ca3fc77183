using System.Buffers.Binary;
using System.Runtime.CompilerServices;

namespace Horizon.Core.Series;

/// <summary>Outcome of reading one point.</summary>
public enum PointReadStatus : byte
{
    /// <summary>A point was read.</summary>
    Ok,

    /// <summary>The bytes end inside a point (more may follow).</summary>
    Incomplete,

    /// <summary>The bytes are not a msgpack [timestamp, value] pair.</summary>
    Corrupt,
}

/// <summary>The series value layout Skyline uses: a Redis string that is a concatenation of msgpack
/// 2-arrays <c>[timestamp, value]</c>, grown with APPEND. Timestamps are written as integers
/// (unix seconds); values as integers when they are whole numbers that a double holds exactly,
/// otherwise as float64. Reading accepts every msgpack int width and float32/float64 for both
/// fields, since Skyline and other writers stored float timestamps.</summary>
public static class SeriesCodec
{
    /// <summary>Largest encoded point: fixarray + (float64 or int64) + float64.</summary>
    public const int MaxPointSize = 1 + 9 + 9;

    private const double MaxExactInteger = 9007199254740992d; // 2^53

    /// <summary>Writes one point and returns the bytes written (at most <see cref="MaxPointSize"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int WritePoint(Span<byte> destination, long timestamp, double value)
    {
        destination[0] = 0x92;
        var n = 1 + WriteInteger(destination[1..], timestamp);
        return n + WriteValue(destination[n..], value);
    }

    /// <summary>Writes a value: as the shortest msgpack integer when it is a whole number within
    /// ±2^53 (and not -0.0), otherwise as float64.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int WriteValue(Span<byte> destination, double value)
    {
        if (Math.Abs(value) <= MaxExactInteger && value == Math.Floor(value) && !(value == 0 && double.IsNegative(value)))
        {
            return WriteInteger(destination, (long)value);
        }
        destination[0] = 0xcb;
        BinaryPrimitives.WriteDoubleBigEndian(destination[1..], value);
        return 9;
    }

    /// <summary>Writes the shortest msgpack encoding of an integer.</summary>
    public static int WriteInteger(Span<byte> d, long v)
    {
        if (v >= 0)
        {
            if (v <= 0x7f)
            {
                d[0] = (byte)v;
                return 1;
            }
            if (v <= byte.MaxValue)
            {
                d[0] = 0xcc;
                d[1] = (byte)v;
                return 2;
            }
            if (v <= ushort.MaxValue)
            {
                d[0] = 0xcd;
                BinaryPrimitives.WriteUInt16BigEndian(d[1..], (ushort)v);
                return 3;
            }
            if (v <= uint.MaxValue)
            {
                d[0] = 0xce;
                BinaryPrimitives.WriteUInt32BigEndian(d[1..], (uint)v);
                return 5;
            }
            d[0] = 0xcf;
            BinaryPrimitives.WriteUInt64BigEndian(d[1..], (ulong)v);
            return 9;
        }
        if (v >= -32)
        {
            d[0] = unchecked((byte)(sbyte)v);
            return 1;
        }
        if (v >= sbyte.MinValue)
        {
            d[0] = 0xd0;
            d[1] = unchecked((byte)(sbyte)v);
            return 2;
        }
        if (v >= short.MinValue)
        {
            d[0] = 0xd1;
            BinaryPrimitives.WriteInt16BigEndian(d[1..], (short)v);
            return 3;
        }
        if (v >= int.MinValue)
        {
            d[0] = 0xd2;
            BinaryPrimitives.WriteInt32BigEndian(d[1..], (int)v);
            return 5;
        }
        d[0] = 0xd3;
        BinaryPrimitives.WriteInt64BigEndian(d[1..], v);
        return 9;
    }

    /// <summary>Reads one point from the start of <paramref name="source"/>.</summary>
    public static PointReadStatus TryReadPoint(ReadOnlySpan<byte> source, out long timestamp, out double value, out int consumed)
    {
        timestamp = 0;
        value = 0;
        consumed = 0;
        if (source.IsEmpty)
        {
            return PointReadStatus.Incomplete;
        }
        int pos;
        switch (source[0])
        {
            case 0x92:
                pos = 1;
                break;
            case 0xdc: // array16 with count 2 (valid msgpack, written by some encoders)
                if (source.Length < 3)
                {
                    return PointReadStatus.Incomplete;
                }
                if (BinaryPrimitives.ReadUInt16BigEndian(source[1..]) != 2)
                {
                    return PointReadStatus.Corrupt;
                }
                pos = 3;
                break;
            case 0xdd:
                if (source.Length < 5)
                {
                    return PointReadStatus.Incomplete;
                }
                if (BinaryPrimitives.ReadUInt32BigEndian(source[1..]) != 2)
                {
                    return PointReadStatus.Corrupt;
                }
                pos = 5;
                break;
            default:
                return PointReadStatus.Corrupt;
        }
        var status = ReadNumber(source[pos..], out var ts, out var tsIsInt, out var tsFloat, out var n);
        if (status != PointReadStatus.Ok)
        {
            return status;
        }
        if (!tsIsInt)
        {
            if (!double.IsFinite(tsFloat) || tsFloat < long.MinValue || tsFloat > long.MaxValue)
            {
                return PointReadStatus.Corrupt;
            }
            ts = (long)tsFloat;
        }
        pos += n;
        status = ReadNumber(source[pos..], out var iv, out var vIsInt, out var fv, out n);
        if (status != PointReadStatus.Ok)
        {
            return status;
        }
        timestamp = ts;
        value = vIsInt ? iv : fv;
        consumed = pos + n;
        return PointReadStatus.Ok;
    }

    // Reads a msgpack int (any width; uint64 above long.MaxValue is refused) or float.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static PointReadStatus ReadNumber(ReadOnlySpan<byte> s, out long integer, out bool isInteger, out double floating, out int consumed)
    {
        integer = 0;
        floating = 0;
        isInteger = true;
        consumed = 0;
        if (s.IsEmpty)
        {
            return PointReadStatus.Incomplete;
        }
        var b = s[0];
        if (b <= 0x7f)
        {
            integer = b;
            consumed = 1;
            return PointReadStatus.Ok;
        }
        if (b >= 0xe0)
        {
            integer = (sbyte)b;
            consumed = 1;
            return PointReadStatus.Ok;
        }
        int size = b switch
        {
            0xcc or 0xd0 => 2,
            0xcd or 0xd1 => 3,
            0xce or 0xd2 or 0xca => 5,
            0xcf or 0xd3 or 0xcb => 9,
            _ => 0,
        };
        if (size == 0)
        {
            return PointReadStatus.Corrupt;
        }
        if (s.Length < size)
        {
            return PointReadStatus.Incomplete;
        }
        var p = s.Slice(1, size - 1);
        switch (b)
        {
            case 0xcc: integer = p[0]; break;
            case 0xcd: integer = BinaryPrimitives.ReadUInt16BigEndian(p); break;
            case 0xce: integer = BinaryPrimitives.ReadUInt32BigEndian(p); break;
            case 0xcf:
                var u = BinaryPrimitives.ReadUInt64BigEndian(p);
                if (u > long.MaxValue)
                {
                    return PointReadStatus.Corrupt;
                }
                integer = (long)u;
                break;
            case 0xd0: integer = (sbyte)p[0]; break;
            case 0xd1: integer = BinaryPrimitives.ReadInt16BigEndian(p); break;
            case 0xd2: integer = BinaryPrimitives.ReadInt32BigEndian(p); break;
            case 0xd3: integer = BinaryPrimitives.ReadInt64BigEndian(p); break;
            case 0xca:
                isInteger = false;
                floating = BinaryPrimitives.ReadSingleBigEndian(p);
                break;
            default: // 0xcb
                isInteger = false;
                floating = BinaryPrimitives.ReadDoubleBigEndian(p);
                break;
        }
        consumed = size;
        return PointReadStatus.Ok;
    }

    /// <summary>Decodes a whole series into column buffers. Stops at the first corrupt or
    /// truncated point and reports it; <paramref name="consumed"/> is the length of the valid
    /// prefix. Returns the number of points written, limited by the buffers' length; when the
    /// buffers fill first, <paramref name="status"/> is that of the next point (so buffers sized by
    /// <see cref="Count"/> still see a corrupt tail).</summary>
    public static int Decode(ReadOnlySpan<byte> series, Span<long> timestamps, Span<double> values, out PointReadStatus status, out int consumed)
    {
        var count = 0;
        var pos = 0;
        status = PointReadStatus.Ok;
        var limit = Math.Min(timestamps.Length, values.Length);
        // Fast path for what Horizon itself writes, nearly every point: [uint32 ts, fixint or
        // float64]; anything else goes through the general reader.
        while (pos <= series.Length - 15 && count < limit)
        {
            if (series[pos] != 0x92 || series[pos + 1] != 0xce)
            {
                break;
            }
            var tag = series[pos + 6];
            if (tag <= 0x7f)
            {
                timestamps[count] = BinaryPrimitives.ReadUInt32BigEndian(series.Slice(pos + 2, 4));
                values[count] = tag;
                pos += 7;
            }
            else if (tag == 0xcb)
            {
                timestamps[count] = BinaryPrimitives.ReadUInt32BigEndian(series.Slice(pos + 2, 4));
                values[count] = BinaryPrimitives.ReadDoubleBigEndian(series.Slice(pos + 7, 8));
                pos += 15;
            }
            else
            {
                var general = TryReadPoint(series[pos..], out var ts, out var v, out var n);
                if (general != PointReadStatus.Ok)
                {
                    status = general;
                    consumed = pos;
                    return count;
                }
                timestamps[count] = ts;
                values[count] = v;
                pos += n;
            }
            count++;
        }
        while (pos < series.Length && count < limit)
        {
            status = TryReadPoint(series[pos..], out var ts, out var v, out var n);
            if (status != PointReadStatus.Ok)
            {
                break;
            }
            timestamps[count] = ts;
            values[count] = v;
            count++;
            pos += n;
        }
        if (status == PointReadStatus.Ok && pos < series.Length)
        {
            status = TryReadPoint(series[pos..], out _, out _, out _);
        }
        consumed = pos;
        return count;
    }

    /// <summary>Every point of a series, up to its first problem, into new arrays: for readers that
    /// want a whole series at once (the HTTP API, tools), not the analyzer's pooled buffers.</summary>
    public static (long[] Timestamps, double[] Values) DecodeAll(ReadOnlySpan<byte> series, out PointReadStatus status)
    {
        var count = Count(series, out _, out _);
        var timestamps = new long[count];
        var values = new double[count];
        var n = Decode(series, timestamps, values, out status, out _);
        return n == count ? (timestamps, values) : (timestamps[..n], values[..n]);
    }

    /// <summary>Counts the points in a series and reports the first problem, without decoding into
    /// buffers. A lower bound for buffer sizing is <c>series.Length / 19</c>; an upper bound is
    /// <c>series.Length / 3</c>.</summary>
    public static int Count(ReadOnlySpan<byte> series, out PointReadStatus status, out int consumed)
    {
        var count = 0;
        var pos = 0;
        status = PointReadStatus.Ok;
        while (pos < series.Length)
        {
            status = TryReadPoint(series[pos..], out _, out _, out var n);
            if (status != PointReadStatus.Ok)
            {
                break;
            }
            count++;
            pos += n;
        }
        consumed = pos;
        return count;
    }
}
