using System.Buffers.Binary;
using System.Buffers.Text;
using Horizon.Core.Points;

namespace Horizon.Core.Protocols;

/// <summary>A batch of points in carbon's wire formats: plaintext lines, or pickle frames (each a
/// 4-byte big-endian length, then protocol 2: a list of <c>(name, (timestamp, value))</c>) as
/// carbon-relay sends them.</summary>
public static class CarbonEncoding
{
    /// <summary><c>name value timestamp\n</c> per point.</summary>
    public static byte[] Plaintext(PointBatch batch)
    {
        var size = 0;
        for (var i = 0; i < batch.Count; i++)
        {
            size += batch.Keys[i].Name.Length + 64;
        }
        var buffer = new byte[size];
        var n = 0;
        for (var i = 0; i < batch.Count; i++)
        {
            batch.Keys[i].Name.CopyTo(buffer.AsSpan(n));
            n += batch.Keys[i].Name.Length;
            buffer[n++] = (byte)' ';
            Utf8Formatter.TryFormat(batch.Values[i], buffer.AsSpan(n), out var w);
            n += w;
            buffer[n++] = (byte)' ';
            Utf8Formatter.TryFormat(batch.Timestamps[i], buffer.AsSpan(n), out w);
            n += w;
            buffer[n++] = (byte)'\n';
        }
        return buffer[..n];
    }

    /// <summary>carbon-relay's largest pickle message (<c>MAX_DATAPOINTS_PER_MESSAGE</c>); carbon's
    /// receiver refuses frames over 1 MiB.</summary>
    public const int PointsPerFrame = 500;

    /// <summary>Length-prefixed pickle frames of every point, <see cref="PointsPerFrame"/> to a frame.</summary>
    public static byte[] Pickle(PointBatch batch)
    {
        var size = 0;
        for (var i = 0; i < batch.Count; i++)
        {
            size += batch.Keys[i].Name.Length + 32;
        }
        var buffer = new byte[size + (16 * ((batch.Count / PointsPerFrame) + 1))];
        var n = 0;
        for (var first = 0; first < batch.Count; first += PointsPerFrame)
        {
            n = Frame(batch, first, Math.Min(batch.Count, first + PointsPerFrame), buffer, n);
        }
        return buffer[..n];
    }

    private static int Frame(PointBatch batch, int first, int end, byte[] buffer, int start)
    {
        var n = start + 4;
        buffer[n++] = 0x80; // PROTO 2
        buffer[n++] = 2;
        buffer[n++] = (byte)']'; // EMPTY_LIST
        buffer[n++] = (byte)'('; // MARK
        for (var i = first; i < end; i++)
        {
            var name = batch.Keys[i].Name;
            buffer[n++] = (byte)'X'; // BINUNICODE
            BinaryPrimitives.WriteInt32LittleEndian(buffer.AsSpan(n), name.Length);
            n += 4;
            name.CopyTo(buffer.AsSpan(n));
            n += name.Length;
            var t = batch.Timestamps[i];
            if (t is >= int.MinValue and <= int.MaxValue)
            {
                buffer[n++] = (byte)'J'; // BININT
                BinaryPrimitives.WriteInt32LittleEndian(buffer.AsSpan(n), (int)t);
                n += 4;
            }
            else
            {
                buffer[n++] = 0x8a; // LONG1, 8 bytes
                buffer[n++] = 8;
                BinaryPrimitives.WriteInt64LittleEndian(buffer.AsSpan(n), t);
                n += 8;
            }
            buffer[n++] = (byte)'G'; // BINFLOAT
            BinaryPrimitives.WriteDoubleBigEndian(buffer.AsSpan(n), batch.Values[i]);
            n += 8;
            buffer[n++] = 0x86; // TUPLE2 (timestamp, value)
            buffer[n++] = 0x86; // TUPLE2 (name, (timestamp, value))
        }
        buffer[n++] = (byte)'e'; // APPENDS
        buffer[n++] = (byte)'.'; // STOP
        BinaryPrimitives.WriteInt32BigEndian(buffer.AsSpan(start), n - start - 4);
        return n;
    }

    /// <summary>The bytes of one point's plaintext line, as <see cref="Plaintext"/> writes it.</summary>
    public static int PlaintextLength(ReadOnlySpan<byte> name, double value, long timestamp)
    {
        Span<byte> scratch = stackalloc byte[32];
        Utf8Formatter.TryFormat(value, scratch, out var v);
        Utf8Formatter.TryFormat(timestamp, scratch, out var t);
        return name.Length + v + t + 3;
    }
}
