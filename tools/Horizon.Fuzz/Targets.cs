using System.Buffers;
using System.Text;
using System.Text.Json;
using Horizon.Algorithms.Detection;
using Horizon.Core.Metrics;
using Horizon.Core.Protocols;
using Horizon.Core.Series;
using Horizon.Core.Statsd;
using Horizon.Storage;

namespace Horizon.Fuzz;

/// <summary>A property a decoder broke on some input (beyond crashing, which any exception is).</summary>
public sealed class FuzzFindingException(string message) : Exception(message);

/// <summary>One decoder under fuzzing: runs an input and throws when something is wrong.</summary>
public interface IFuzzTarget
{
    /// <summary>The target's name (and its corpus folder's).</summary>
    string Name { get; }

    /// <summary>Longest input tried.</summary>
    int MaxInputLength { get; }

    /// <summary>Tokens the mutator splices in (opcodes, separators, keywords).</summary>
    IReadOnlyList<byte[]> Dictionary { get; }

    /// <summary>Decodes <paramref name="input"/>; throws <see cref="FuzzFindingException"/> when a property
    /// fails. Any other exception is a finding too.</summary>
    void Run(ReadOnlySpan<byte> input);
}

/// <summary>Every target, by name.</summary>
public static class FuzzTargets
{
    /// <summary>All targets.</summary>
    public static IReadOnlyList<IFuzzTarget> All { get; } =
        [new PickleTarget(), new PlaintextTarget(), new StatsdTarget(), new MsgpackTarget(), new SeriesTarget(), new MetadataTarget()];

    /// <summary>The input split into segments of <paramref name="size"/> bytes, as a network read
    /// would deliver it.</summary>
    public static ReadOnlySequence<byte> Segmented(ReadOnlySpan<byte> input, int size)
    {
        if (input.Length <= size)
        {
            return new ReadOnlySequence<byte>(input.ToArray());
        }
        Segment? first = null, last = null;
        for (var i = 0; i < input.Length; i += size)
        {
            var chunk = input[i..Math.Min(input.Length, i + size)].ToArray();
            last = last is null ? first = new Segment(chunk, 0) : last.Append(chunk);
        }
        return new ReadOnlySequence<byte>(first!, 0, last!, last!.Memory.Length);
    }

    internal static byte[] Utf8(string s) => Encoding.UTF8.GetBytes(s);

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(byte[] memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public Segment Append(byte[] memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}

/// <summary>Carbon pickle: the input as one frame's payload (bounded work and memory), and as a
/// stream of length-prefixed frames read across segments (no partial frame consumed).</summary>
public sealed class PickleTarget : IFuzzTarget
{
    private readonly CarbonPickleDecoder _decoder = new();

    public string Name => "pickle";

    public int MaxInputLength => 64 * 1024;

    public IReadOnlyList<byte[]> Dictionary { get; } =
    [
        [0x80, 0x02], [0x80, 0x04], [0x95], [(byte)']'], [(byte)'('], [(byte)'l'], [(byte)'t'], [(byte)'e'], [(byte)'a'], [(byte)'.'],
        [0x85], [0x86], [0x87], [(byte)'q', 0], [(byte)'r', 0, 0, 0, 0], [(byte)'h', 0], [(byte)'j', 0, 0, 0, 0], [0x94],
        [(byte)'X', 4, 0, 0, 0], [(byte)'U', 4], [(byte)'G'], [(byte)'J'], [(byte)'K'], [(byte)'M'], [(byte)'I'], [(byte)'F'],
        [(byte)'S'], [(byte)'V'], [(byte)'p'], [(byte)'g'], [0x8c], [(byte)'N'], [0x88], [0x89], [(byte)'c'], [(byte)'R'],
        [0, 0, 0, 8],
    ];

    public void Run(ReadOnlySpan<byte> input)
    {
        var sink = new Sink();
        var before = GC.GetAllocatedBytesForCurrentThread();
        _decoder.Decode(input, sink);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        if (allocated > (64L * input.Length) + (256 << 10))
        {
            throw new FuzzFindingException($"decoding a {input.Length}-byte frame allocated {allocated} bytes");
        }
        if (sink.Items > input.Length)
        {
            throw new FuzzFindingException($"{sink.Items} items out of {input.Length} bytes");
        }

        // The same bytes as a framed stream, delivered in small segments.
        var reader = new SequenceReader<byte>(FuzzTargets.Segmented(input, 1 + (input.Length % 5)));
        while (true)
        {
            var at = reader.Consumed;
            var status = PickleFrameReader.TryRead(ref reader, 4096, out var payload, out _);
            if (status != FrameStatus.Ok)
            {
                if (reader.Consumed != at)
                {
                    throw new FuzzFindingException($"{status} consumed {reader.Consumed - at} bytes");
                }
                break;
            }
            _decoder.Decode(payload.ToArray(), sink);
        }
    }

    private sealed class Sink : IPickleItemSink
    {
        public int Items;

        public void OnPoint(ReadOnlySpan<byte> name, double timestamp, double value) => Items++;

        public void OnReject(RejectReason reason, ReadOnlySpan<byte> name) => Items++;
    }
}

/// <summary>Carbon plaintext: parsing the input whole and split into small segments gives the
/// same lines, no incomplete line is consumed, names stay within the line limit.</summary>
public sealed class PlaintextTarget : IFuzzTarget
{
    private const int MaxLine = 256;

    public string Name => "plaintext";

    public int MaxInputLength => 4096;

    public IReadOnlyList<byte[]> Dictionary { get; } =
        [.. new[] { " ", "\n", "\r\n", "\t", "-1", "nan", "inf", "-inf", "1e308", "1e-320", "0x10", "1_000", "1700000000", "-1700000000", "9999999999999999999", "a.b.c", ";tag=v", "..", "\0" }
            .Select(FuzzTargets.Utf8)];

    public void Run(ReadOnlySpan<byte> input)
    {
        var whole = Parse(new ReadOnlySequence<byte>(input.ToArray()));
        var split = Parse(FuzzTargets.Segmented(input, 1 + (input.Length % 7)));
        if (!whole.SequenceEqual(split))
        {
            throw new FuzzFindingException($"split into segments the input parses to {split.Count} lines, whole to {whole.Count}");
        }
    }

    private static List<string> Parse(ReadOnlySequence<byte> buffer)
    {
        var parser = new CarbonLineParser(MaxLine) { Now = 1_700_000_000 };
        var reader = new SequenceReader<byte>(buffer);
        var lines = new List<string>();
        while (parser.TryParse(ref reader, out var line))
        {
            Check(line, lines);
        }
        var rest = reader.UnreadSequence;
        if (rest.PositionOf((byte)'\n') is not null)
        {
            throw new FuzzFindingException("the parser stopped before a complete line");
        }
        if (parser.TryParseFinal(rest, out var final))
        {
            Check(final, lines);
        }
        return lines;
    }

    private static void Check(in CarbonLine line, List<string> lines)
    {
        if (line.Name.Length > MaxLine)
        {
            throw new FuzzFindingException($"a {line.Name.Length}-byte name out of {MaxLine}-byte lines");
        }
        if (line.Error == RejectReason.None && line.Name.IsEmpty)
        {
            throw new FuzzFindingException("a line accepted with an empty name");
        }
        lines.Add(line.Error == RejectReason.None ? $"{Convert.ToHexString(line.Name)} {line.Value:R} {line.Timestamp}" : line.Error.ToString());
    }
}

/// <summary>StatsD: any packet is processed and flushed without an exception, and every value
/// flushed is a finite number.</summary>
public sealed class StatsdTarget : IFuzzTarget
{
    public string Name => "statsd";

    public int MaxInputLength => 2048;

    public IReadOnlyList<byte[]> Dictionary { get; } =
        [.. new[] { ":", "|", "|c", "|ms", "|h", "|g", "|s", "|@0.1", "|@0", "|@-1", "|#tag:v", "+", "-", "\n", "1e308", "-1e308", "nan", "inf", "0x1", "a.b", ":1|c:2|ms" }
            .Select(FuzzTargets.Utf8)];

    public void Run(ReadOnlySpan<byte> input)
    {
        var aggregator = new StatsdAggregator(new StatsdOptions(), new MetricRegistry());
        var rejects = default(RejectTally);
        aggregator.Process(input, ref rejects);
        foreach (var output in aggregator.Flush(ref rejects))
        {
            if (!double.IsFinite(output.Value))
            {
                throw new FuzzFindingException($"flushed {output.Key} = {output.Value}");
            }
        }
    }
}

/// <summary>Skyline's msgpack datagrams: parsed without an exception; an accepted one has a name
/// inside the datagram.</summary>
public sealed class MsgpackTarget : IFuzzTarget
{
    public string Name => "msgpack";

    public int MaxInputLength => 1024;

    public IReadOnlyList<byte[]> Dictionary { get; } =
        [[0x92], [0xdc, 0, 2], [0xdd, 0, 0, 0, 2], [0xa4], [0xd9, 4], [0xda, 0, 4], [0xc4, 4], [0xcb], [0xca], [0xcf], [0xd3], [0xce], [0xd2], [0xcc], [0xd0], [0xc0], [0xc2], [0x7f], [0xff]];

    public void Run(ReadOnlySpan<byte> input)
    {
        if (MsgpackDatagramParser.Parse(input, out var name, out _, out _) == RejectReason.None && (name.IsEmpty || name.Length >= input.Length))
        {
            throw new FuzzFindingException($"accepted with a {name.Length}-byte name out of {input.Length} bytes");
        }
    }
}

/// <summary>Stored series (what the analyzer and Roomba read back, corrupt or not): counting and
/// decoding agree, and Roomba's rewrite keeps whole points in strict time order.</summary>
public sealed class SeriesTarget : IFuzzTarget
{
    public string Name => "series";

    public int MaxInputLength => 4096;

    public IReadOnlyList<byte[]> Dictionary { get; } =
        [[0x92], [0xce], [0xd2], [0xcf], [0xd3], [0xcb], [0xca], [0xcc], [0xcd], [0xd0], [0xd1], [0xc0], [0xc3], [0x7f], [0xe0], [0x92, 0xce, 0x65, 0x53, 0xf1, 0x00, 0x01]];

    public void Run(ReadOnlySpan<byte> input)
    {
        var count = SeriesCodec.Count(input, out var status, out var consumed);
        if (consumed > input.Length || count < 0)
        {
            throw new FuzzFindingException($"counted {count} points over {consumed} of {input.Length} bytes");
        }
        var timestamps = new long[count];
        var values = new double[count];
        var decoded = SeriesCodec.Decode(input, timestamps, values, out var decodedStatus, out var decodedConsumed);
        if (decoded != count || decodedStatus != status || decodedConsumed != consumed)
        {
            throw new FuzzFindingException($"Count says {count} ({status}, {consumed} bytes), Decode {decoded} ({decodedStatus}, {decodedConsumed} bytes)");
        }
        var keepAfter = count > 0 ? timestamps[count / 2] - 1 : 0;
        var (replacement, _, _) = Roomba.Rewrite(input, keepAfter);
        var kept = SeriesCodec.Count(replacement, out var keptStatus, out var keptConsumed);
        if (keptStatus != PointReadStatus.Ok || keptConsumed != replacement.Length)
        {
            throw new FuzzFindingException($"Roomba's rewrite is not whole points ({keptStatus} after {keptConsumed} of {replacement.Length} bytes)");
        }
        var keptTimestamps = new long[kept];
        SeriesCodec.Decode(replacement, keptTimestamps, new double[kept], out _, out _);
        for (var i = 0; i < kept; i++)
        {
            if (keptTimestamps[i] <= keepAfter || (i > 0 && keptTimestamps[i] <= keptTimestamps[i - 1]))
            {
                throw new FuzzFindingException($"Roomba's rewrite is not in strict time order after {keepAfter}");
            }
        }
    }
}

/// <summary>The HTTP API's metadata documents (PUT /api/metadata): refused with a clear error or
/// accepted, and what is stored reads back the same.</summary>
public sealed class MetadataTarget : IFuzzTarget
{
    public string Name => "metadata";

    public int MaxInputLength => 2048;

    public IReadOnlyList<byte[]> Dictionary { get; } =
        [.. new[] { "{", "}", "[", "]", "\"", ":", ",", "null", "true", "false", "1e999", "-0", "\"unit\"", "\"owner\"", "\"capacity\"", "\"badDirection\"", "\"Up\"",
            "\"seasonality\"", "\"Weekly\"", "\"detectors\"", "\"skip\"", "\"level\"", "\"sensitivity\"", "\\u0000", "\\ud800" }.Select(FuzzTargets.Utf8)];

    public void Run(ReadOnlySpan<byte> input)
    {
        MetricMetadata metadata;
        try
        {
            metadata = MetricMetadata.Parse(Encoding.UTF8.GetString(input));
        }
        catch (Exception e) when (e is ArgumentException or JsonException)
        {
            return;
        }
        var stored = metadata.ToJson();
        var again = MetricMetadata.Parse(stored).ToJson();
        if (again != stored)
        {
            throw new FuzzFindingException($"stored {stored} reads back as {again}");
        }
    }
}
