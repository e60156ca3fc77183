using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using Horizon.Core.Protocols;

namespace Horizon.Core.Tests;

public sealed class PickleDecoderTests
{
    private static readonly string FixtureDir = Path.Combine(AppContext.BaseDirectory, "Fixtures", "pickle");

    private sealed record Point(string Name, double Timestamp, double Value);

    private sealed class Collector : IPickleItemSink
    {
        public List<Point> Points { get; } = [];

        public List<(RejectReason Reason, string Name)> Rejects { get; } = [];

        public void OnPoint(ReadOnlySpan<byte> name, double timestamp, double value) =>
            Points.Add(new Point(Encoding.UTF8.GetString(name), timestamp, value));

        public void OnReject(RejectReason reason, ReadOnlySpan<byte> name) =>
            Rejects.Add((reason, Encoding.UTF8.GetString(name)));
    }

    private static IEnumerable<string> FixtureNames() =>
        Directory.GetFiles(FixtureDir, "*.json").Order(StringComparer.Ordinal).Select(f => Path.GetFileNameWithoutExtension(f));

    public static TheoryData<string> Fixtures() => new(FixtureNames());

    private static List<Point> Expected(string fixture)
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(FixtureDir, fixture + ".json")));
        return [.. doc.RootElement.EnumerateArray().Select(e => new Point(e[0].GetString()!, e[1].GetDouble(), e[2].GetDouble()))];
    }

    [Theory]
    [MemberData(nameof(Fixtures))]
    public void DecoderReadsWhatPythonPickleWrites(string fixture)
    {
        var payload = File.ReadAllBytes(Path.Combine(FixtureDir, fixture + ".pickle"));
        var sink = new Collector();
        var error = new CarbonPickleDecoder().Decode(payload, sink);
        Assert.Equal(PickleError.None, error);
        Assert.Empty(sink.Rejects);
        Assert.Equal(Expected(fixture), sink.Points);
    }

    [Theory]
    [InlineData(new byte[] { 0x80, 0x02, (byte)']', (byte)'r', 0xff, 0xff, 0x0f, 0x00, (byte)'.' })] // LONG_BINPUT 1,048,575
    [InlineData(new byte[] { (byte)']', (byte)'p', (byte)'9', (byte)'9', (byte)'9', (byte)'9', (byte)'9', (byte)'\n', (byte)'.' })] // PUT 99999
    public void AMemoIdBeyondTheFrameIsRefusedWithoutAllocatingForIt(byte[] frame)
    {
        // A pickler numbers its memo from 0, one entry per PUT of at least two bytes: no id in a
        // genuine frame reaches the frame's length. 2,000 of the first frame (26 KB) used to cost
        // 13 CPU-seconds and 150 MB.
        var decoder = new CarbonPickleDecoder();
        decoder.Decode(frame, new Collector()); // first use grows the fixed buffers
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 2000; i++)
        {
            Assert.NotEqual(PickleError.None, decoder.Decode(frame, new Collector()));
        }
        var perFrame = (GC.GetAllocatedBytesForCurrentThread() - before) / 2000;
        Assert.True(perFrame < 1024, $"{perFrame} bytes allocated per 9-byte frame");
        Assert.Contains("memo id", decoder.ErrorDetail, StringComparison.Ordinal);
    }

    [Fact]
    public void DecoderIsReusableAcrossFramesWithoutLeakingMemo()
    {
        var decoder = new CarbonPickleDecoder();
        foreach (var fixture in FixtureNames())
        {
            var sink = new Collector();
            Assert.Equal(PickleError.None, decoder.Decode(File.ReadAllBytes(Path.Combine(FixtureDir, fixture + ".pickle")), sink));
            Assert.Equal(Expected(fixture), sink.Points);
        }
    }

    [Theory]
    [InlineData("evil_reduce")]
    [InlineData("evil_global_proto0")]
    public void DecoderRefusesCodeExecutionOpcodes(string fixture)
    {
        var payload = File.ReadAllBytes(Path.Combine(FixtureDir, fixture + ".pickle"));
        var decoder = new CarbonPickleDecoder();
        var sink = new Collector();
        Assert.Equal(PickleError.UnsupportedOpcode, decoder.Decode(payload, sink));
        Assert.Contains("'c'", decoder.ErrorDetail, StringComparison.Ordinal);
        Assert.Empty(sink.Points);
    }

    [Fact]
    public void DecoderReportsEveryTruncationAsAnErrorNotACrash()
    {
        var payload = File.ReadAllBytes(Path.Combine(FixtureDir, "py3_protocol2.pickle"));
        for (var n = 0; n < payload.Length; n++)
        {
            var sink = new Collector();
            var error = new CarbonPickleDecoder().Decode(payload.AsSpan(0, n), sink);
            Assert.NotEqual(PickleError.None, error);
        }
    }

    [Fact]
    public void DecoderSurvivesRandomCorruptionOfValidPickles()
    {
        var random = new Random(7);
        var decoder = new CarbonPickleDecoder();
        foreach (var fixture in FixtureNames())
        {
            var original = File.ReadAllBytes(Path.Combine(FixtureDir, fixture + ".pickle"));
            for (var i = 0; i < 300; i++)
            {
                var mutated = (byte[])original.Clone();
                var flips = random.Next(1, 4);
                for (var f = 0; f < flips; f++)
                {
                    mutated[random.Next(mutated.Length)] = (byte)random.Next(256);
                }
                // Any outcome is fine except an exception or a hang.
                decoder.Decode(mutated, new Collector());
            }
        }
    }

    [Fact]
    public void MalformedItemsAreRejectedAloneAndTheRestOfTheFrameIsKept()
    {
        // [("ok.a", (1.0, 2.0)), ("bad", 5), (7, (1.0, 2.0)), ("nan.v", (1.0, nan)), ("ok.b", ("3", "4.5")), ("sp ace", (1.0, 1.0))]
        var p = new List<byte> { 0x80, 0x02, (byte)']', (byte)'(' };
        void Str(string s)
        {
            var b = Encoding.UTF8.GetBytes(s);
            p.Add((byte)'X');
            p.AddRange(BitConverter.GetBytes(b.Length));
            p.AddRange(b);
        }
        void Float(double d)
        {
            p.Add((byte)'G');
            var buf = new byte[8];
            BinaryPrimitives.WriteDoubleBigEndian(buf, d);
            p.AddRange(buf);
        }
        Str("ok.a"); Float(1); Float(2); p.Add(0x86); p.Add(0x86);
        Str("bad"); p.Add((byte)'K'); p.Add(5); p.Add(0x86);
        p.Add((byte)'K'); p.Add(7); Float(1); Float(2); p.Add(0x86); p.Add(0x86);
        Str("nan.v"); Float(1); Float(double.NaN); p.Add(0x86); p.Add(0x86);
        Str("ok.b"); Str("3"); Str("4.5"); p.Add(0x86); p.Add(0x86);
        Str("sp ace"); Float(1); Float(1); p.Add(0x86); p.Add(0x86);
        p.Add((byte)'e');
        p.Add((byte)'.');

        var sink = new Collector();
        Assert.Equal(PickleError.None, new CarbonPickleDecoder().Decode(p.ToArray(), sink));
        Assert.Equal([new Point("ok.a", 1, 2), new Point("ok.b", 3, 4.5)], sink.Points);
        Assert.Equal(
        [
            (RejectReason.MalformedItem, "bad"),
            (RejectReason.MalformedItem, ""),
            (RejectReason.NonFiniteValue, "nan.v"),
            (RejectReason.InvalidNameCharacter, "sp ace"),
        ], sink.Rejects);
    }

    [Fact]
    public void FrameReaderNeverConsumesAPartialFrameWhateverTheSplit()
    {
        var payloads = new[] { "py3_protocol2", "py2_protocol0", "py3_relay_batch500" }
            .Select(f => File.ReadAllBytes(Path.Combine(FixtureDir, f + ".pickle"))).ToList();
        var stream = new List<byte>();
        foreach (var payload in payloads)
        {
            var header = new byte[4];
            PickleFrameReader.WriteHeader(header, payload.Length);
            stream.AddRange(header);
            stream.AddRange(payload);
        }
        var bytes = stream.ToArray();
        var expected = payloads.SelectMany(p =>
        {
            var c = new Collector();
            new CarbonPickleDecoder().Decode(p, c);
            return c.Points;
        }).ToList();

        foreach (var (mode, chunks) in Feeding.AllWays(bytes))
        {
            var decoder = new CarbonPickleDecoder();
            var sink = new Collector();
            var left = Feeding.Run(chunks, (ref SequenceReader<byte> reader, bool completed) =>
            {
                while (PickleFrameReader.TryRead(ref reader, PickleFrameReader.DefaultMaxFrameLength, out var frame, out _) == FrameStatus.Ok)
                {
                    Assert.Equal(PickleError.None, decoder.Decode(frame.ToArray(), sink));
                }
            });
            Assert.Equal(0, left);
            Assert.True(expected.SequenceEqual(sink.Points), mode);
        }
    }

    [Fact]
    public void FrameReaderEveryOffsetSplitOfASmallStream()
    {
        var payload = File.ReadAllBytes(Path.Combine(FixtureDir, "py3_protocol2.pickle"));
        var bytes = new byte[4 + payload.Length];
        PickleFrameReader.WriteHeader(bytes, payload.Length);
        payload.CopyTo(bytes, 4);
        foreach (var (mode, chunks) in Feeding.AllWays(bytes))
        {
            var frames = 0;
            var left = Feeding.Run(chunks, (ref SequenceReader<byte> reader, bool completed) =>
            {
                while (PickleFrameReader.TryRead(ref reader, 1 << 20, out var frame, out _) == FrameStatus.Ok)
                {
                    Assert.Equal(payload, frame.ToArray());
                    frames++;
                }
            });
            Assert.True(frames == 1 && left == 0, mode);
        }
    }

    [Fact]
    public void FrameReaderRefusesAFrameOverTheLimitWithoutConsumingIt()
    {
        var bytes = new byte[8];
        PickleFrameReader.WriteHeader(bytes, 5000);
        var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(bytes));
        Assert.Equal(FrameStatus.TooLarge, PickleFrameReader.TryRead(ref reader, 4096, out _, out var declared));
        Assert.Equal(5000u, declared);
        Assert.Equal(0, reader.Consumed);
    }
}
