using System.Buffers.Binary;
using System.Text;
using Horizon.Core.Metrics;
using Horizon.Core.Points;
using Horizon.Core.Protocols;

namespace Horizon.Core.Tests;

/// <summary>What the forwarder sends is read back, point for point, by Horizon's own carbon
/// decoders (carbon-cache itself reads it in the integration tests).</summary>
public sealed class CarbonEncodingTests
{
    private sealed record Point(string Name, double Timestamp, double Value);

    private sealed class Collector : IPickleItemSink
    {
        public List<Point> Points { get; } = [];

        public void OnPoint(ReadOnlySpan<byte> name, double timestamp, double value) =>
            Points.Add(new Point(Encoding.UTF8.GetString(name), timestamp, value));

        public void OnReject(RejectReason reason, ReadOnlySpan<byte> name) =>
            throw new InvalidOperationException($"{reason}: {Encoding.UTF8.GetString(name)}");
    }

    private static (PointBatch Batch, List<Point> Points) Sample(int count)
    {
        var registry = new MetricRegistry();
        var batch = new PointBatch(count);
        var points = new List<Point>();
        var random = new Random(3);
        double[] awkward = [0.1, -3.5e300, 1e-300, 0, -0.0, 123456789.123456789, double.Epsilon, 42];
        for (var i = 0; i < count; i++)
        {
            var name = $"servers.web{i % 37:D2}.cpu.é{i}";
            Assert.Equal(RejectReason.None, registry.GetOrAdd(Encoding.UTF8.GetBytes(name), out var key));
            // Timestamps in int32 and past it (LONG1 in the pickle).
            var ts = i % 5 == 0 ? 4_102_444_800L + i : 1_700_000_000L + i;
            var value = i < awkward.Length ? awkward[i] : (random.NextDouble() - 0.5) * Math.Pow(10, random.Next(-20, 20));
            batch.Add(key!, ts, value);
            points.Add(new Point(name, ts, value));
        }
        return (batch, points);
    }

    [Fact]
    public void PickleFramesDecodeToEveryPointAtMostFiveHundredToAFrame()
    {
        var (batch, expected) = Sample(1234);
        var bytes = CarbonEncoding.Pickle(batch);
        var decoder = new CarbonPickleDecoder();
        var sink = new Collector();
        var frames = new List<int>();
        for (var at = 0; at < bytes.Length;)
        {
            var length = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(at));
            var before = sink.Points.Count;
            Assert.Equal(PickleError.None, decoder.Decode(bytes.AsSpan(at + 4, length), sink));
            frames.Add(sink.Points.Count - before);
            at += 4 + length;
        }
        Assert.Equal([500, 500, 234], frames);
        Assert.Equal(expected, sink.Points);
    }

    [Fact]
    public void PlaintextLinesParseToEveryPointExactly()
    {
        var (batch, expected) = Sample(300);
        var text = CarbonEncoding.Plaintext(batch);
        var lines = text.AsSpan();
        var read = new List<Point>();
        foreach (var range in lines.Split((byte)'\n'))
        {
            var line = lines[range];
            if (line.IsEmpty)
            {
                continue;
            }
            Assert.True(CarbonLineParser.ParseLine(line, 0, out var parsed));
            Assert.Equal(RejectReason.None, parsed.Error);
            read.Add(new Point(Encoding.UTF8.GetString(parsed.Name), parsed.Timestamp, parsed.Value));
        }
        Assert.Equal((byte)'\n', text[^1]);
        Assert.Equal(expected, read);
        Assert.Equal(text.Length, Enumerable.Range(0, batch.Count).Sum(i => CarbonEncoding.PlaintextLength(batch.Keys[i].Name, batch.Values[i], batch.Timestamps[i])));
    }
}
