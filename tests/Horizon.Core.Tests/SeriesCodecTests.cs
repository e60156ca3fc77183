using System.Buffers;
using Horizon.Core.Series;
using MessagePack;

namespace Horizon.Core.Tests;

public sealed class SeriesCodecTests
{
    [Theory]
    [InlineData(1700000000L, 0.0)]
    [InlineData(1700000000L, 1.0)]
    [InlineData(1700000000L, 127.0)]
    [InlineData(1700000000L, 128.0)]
    [InlineData(1700000000L, -1.0)]
    [InlineData(1700000000L, -33.0)]
    [InlineData(1700000000L, 65536.0)]
    [InlineData(1700000000L, -2147483649.0)]
    [InlineData(1700000000L, 9007199254740992.0)]
    [InlineData(1700000000L, 9007199254740994.0)]
    [InlineData(1700000000L, 1e300)]
    [InlineData(1700000000L, 12.5)]
    [InlineData(0L, 3.25)]
    [InlineData(5000000000L, 1.0)]
    public void WrittenPointsDecodeWithTheReferenceMsgpackLibrary(long ts, double value)
    {
        var buffer = new byte[SeriesCodec.MaxPointSize];
        var n = SeriesCodec.WritePoint(buffer, ts, value);
        var decoded = MessagePackSerializer.Deserialize<object[]>(buffer.AsMemory(0, n), cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal(2, decoded.Length);
        Assert.Equal(ts, Convert.ToInt64(decoded[0], System.Globalization.CultureInfo.InvariantCulture));
        var v = decoded[1] is double d ? d : Convert.ToDouble(decoded[1], System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(BitConverter.DoubleToInt64Bits(value), BitConverter.DoubleToInt64Bits(v));
        // Byte for byte what the reference encoder writes for the same typed values.
        var reference = new ArrayBufferWriter<byte>();
        var w = new MessagePackWriter(reference);
        w.WriteArrayHeader(2);
        w.Write(ts);
        var integral = Math.Abs(value) <= 9007199254740992.0 && value == Math.Floor(value) && !double.IsNegative(value) || value < 0 && value == Math.Floor(value) && value >= -9007199254740992.0;
        if (integral)
        {
            w.Write((long)value);
        }
        else
        {
            w.Write(value);
        }
        w.Flush();
        Assert.Equal(reference.WrittenSpan.ToArray(), buffer[..n]);
    }

    [Fact]
    public void NegativeZeroKeepsItsSignAsAFloat()
    {
        var buffer = new byte[SeriesCodec.MaxPointSize];
        var n = SeriesCodec.WritePoint(buffer, 1700000000, -0.0);
        Assert.Equal(PointReadStatus.Ok, SeriesCodec.TryReadPoint(buffer.AsSpan(0, n), out _, out var v, out _));
        Assert.True(double.IsNegative(v));
    }

    [Fact]
    public void WholeNumbersAreStoredAsIntegersAndFractionsAsFloat64()
    {
        var buffer = new byte[SeriesCodec.MaxPointSize];
        Assert.Equal(7, SeriesCodec.WritePoint(buffer, 1700000000, 5));        // 92 ce xx xx xx xx 05
        Assert.Equal(15, SeriesCodec.WritePoint(buffer, 1700000000, 5.5));     // 92 ce .... cb ........
        Assert.Equal(0xcb, buffer[6]);
    }

    [Fact]
    public void DecoderReadsEveryWidthTheReferenceLibraryWrites()
    {
        // Skyline and other writers stored timestamps as floats and values in any int width.
        var cases = new (object Ts, object Value, long ExpectedTs, double ExpectedValue)[]
        {
            (1700000000.0, 1.5, 1700000000, 1.5),
            (1700000000.0f * 1.0, (byte)200, 1700000000, 200),
            ((uint)1700000000, (sbyte)-5, 1700000000, -5),
            ((ulong)1700000000, (short)-300, 1700000000, -300),
            ((long)1700000000, (int)-70000, 1700000000, -70000),
            ((int)1700000000, long.MinValue, 1700000000, long.MinValue),
            ((int)1700000000, 2.5f, 1700000000, 2.5),
            ((int)1700000000, ulong.MaxValue / 4, 1700000000, ulong.MaxValue / 4),
        };
        foreach (var c in cases)
        {
            var writer = new ArrayBufferWriter<byte>();
            var w = new MessagePackWriter(writer);
            w.WriteArrayHeader(2);
            WriteAny(ref w, c.Ts);
            WriteAny(ref w, c.Value);
            w.Flush();
            Assert.Equal(PointReadStatus.Ok, SeriesCodec.TryReadPoint(writer.WrittenSpan, out var ts, out var v, out var consumed));
            Assert.Equal(writer.WrittenCount, consumed);
            Assert.Equal(c.ExpectedTs, ts);
            Assert.Equal(c.ExpectedValue, v);
        }
    }

    private static void WriteAny(ref MessagePackWriter w, object o)
    {
        switch (o)
        {
            case double d: w.Write(d); break;
            case float f: w.Write(f); break;
            case byte b: w.WriteUInt8(b); break;
            case sbyte sb: w.WriteInt8(sb); break;
            case short s: w.WriteInt16(s); break;
            case int i: w.WriteInt32(i); break;
            case long l: w.WriteInt64(l); break;
            case uint u: w.WriteUInt32(u); break;
            case ulong ul: w.WriteUInt64(ul); break;
            default: throw new ArgumentException(o.GetType().Name);
        }
    }

    [Fact]
    public void DecodeStopsAtCorruptionAndReportsTheValidPrefix()
    {
        var buffer = new byte[64];
        var n = SeriesCodec.WritePoint(buffer, 1700000000, 1);
        n += SeriesCodec.WritePoint(buffer.AsSpan(n), 1700000060, 2.5);
        var good = n;
        buffer[n++] = 0x92;
        buffer[n++] = 0xc0; // nil timestamp
        buffer[n++] = 0x01;
        var ts = new long[8];
        var vs = new double[8];
        var count = SeriesCodec.Decode(buffer.AsSpan(0, n), ts, vs, out var status, out var consumed);
        Assert.Equal(2, count);
        Assert.Equal(PointReadStatus.Corrupt, status);
        Assert.Equal(good, consumed);
        Assert.Equal([1700000000L, 1700000060L], ts[..2]);
        Assert.Equal([1.0, 2.5], vs[..2]);
    }

    [Fact]
    public void DecodeReportsATruncatedLastPointAsIncomplete()
    {
        var buffer = new byte[64];
        var n = SeriesCodec.WritePoint(buffer, 1700000000, 1.25);
        for (var cut = 1; cut < n; cut++)
        {
            Assert.Equal(PointReadStatus.Incomplete, SeriesCodec.TryReadPoint(buffer.AsSpan(0, cut), out _, out _, out _));
        }
    }

    [Fact]
    public void RandomSeriesRoundTripExactly()
    {
        var random = new Random(42);
        var ts = new long[5000];
        var vs = new double[5000];
        var bytes = new byte[5000 * SeriesCodec.MaxPointSize];
        var n = 0;
        for (var i = 0; i < ts.Length; i++)
        {
            ts[i] = 1_700_000_000 + i * 10;
            vs[i] = random.Next(4) switch
            {
                0 => random.Next(-1000, 1000),
                1 => random.NextDouble() * 1e6 - 5e5,
                2 => BitConverter.Int64BitsToDouble(random.NextInt64()) is var d && double.IsFinite(d) ? d : 0,
                _ => random.NextInt64(-(1L << 53), 1L << 53),
            };
            n += SeriesCodec.WritePoint(bytes.AsSpan(n), ts[i], vs[i]);
        }
        var outTs = new long[ts.Length];
        var outVs = new double[ts.Length];
        Assert.Equal(ts.Length, SeriesCodec.Decode(bytes.AsSpan(0, n), outTs, outVs, out var status, out var consumed));
        Assert.Equal(PointReadStatus.Ok, status);
        Assert.Equal(n, consumed);
        Assert.Equal(ts, outTs);
        for (var i = 0; i < vs.Length; i++)
        {
            Assert.Equal(BitConverter.DoubleToInt64Bits(vs[i]), BitConverter.DoubleToInt64Bits(outVs[i]));
        }
    }

    [Fact]
    public void BuffersSizedByCountStillSeeACorruptTail()
    {
        // Found by horizon-fuzz: Decode stopped at full buffers before the corrupt bytes and said
        // Ok, so /api/series reported a corrupt series as sound.
        var buffer = new byte[64];
        var n = SeriesCodec.WritePoint(buffer, 1700000000, 1);
        n += SeriesCodec.WritePoint(buffer.AsSpan(n), 1700000060, 2);
        buffer[n++] = 0x92;
        buffer[n++] = 0xc0;
        buffer[n++] = 0xc0;
        var series = buffer.AsSpan(0, n);
        var count = SeriesCodec.Count(series, out var counted, out var countedTo);
        var decoded = SeriesCodec.Decode(series, new long[count], new double[count], out var status, out var consumed);
        Assert.Equal((2, PointReadStatus.Corrupt), (count, counted));
        Assert.Equal((count, counted, countedTo), (decoded, status, consumed));
        // Buffers that fill before a sound point: Ok, and the rest is left for a second call.
        Assert.Equal(1, SeriesCodec.Decode(series[..(n - 3)], new long[1], new double[1], out var more, out _));
        Assert.Equal(PointReadStatus.Ok, more);
        // The whole series at once: the points before the corrupt bytes, and the status that says so.
        var (timestamps, values) = SeriesCodec.DecodeAll(series, out var whole);
        Assert.Equal([1700000000L, 1700000060L], timestamps);
        Assert.Equal([1.0, 2.0], values);
        Assert.Equal(PointReadStatus.Corrupt, whole);
        Assert.Equal(2, SeriesCodec.DecodeAll(series[..(n - 3)], out var sound).Timestamps.Length);
        Assert.Equal(PointReadStatus.Ok, sound);
    }
}
