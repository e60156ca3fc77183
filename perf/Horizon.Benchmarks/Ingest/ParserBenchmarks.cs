using System.Buffers;
using BenchmarkDotNet.Attributes;
using Horizon.Core.Metrics;
using Horizon.Core.Points;
using Horizon.Core.Protocols;
using Horizon.Core.Series;
using Horizon.Core.Statsd;

namespace Horizon.Benchmarks.Ingest;

/// <summary>The per-line ingest path without the network or the store: parse, check, look up the
/// metric, add to a batch. Results are per line (OperationsPerInvoke).</summary>
[MemoryDiagnoser]
public class PlaintextBenchmarks
{
    private const int Lines = 10_000;
    private byte[] _payload = [];
    private ReadOnlySequence<byte> _multiSegment;
    private CarbonLineParser _parser = null!;
    private PointGate _gate = null!;
    private PointBatch _batch = null!;

    [GlobalSetup]
    public void Setup()
    {
        _payload = Payloads.Plaintext(Lines);
        _multiSegment = Segments.Split(_payload, 4096);
        _parser = new CarbonLineParser { Now = Payloads.Now };
        _gate = new PointGate(new MetricRegistry(), new SeriesOptions());
        _batch = new PointBatch(Lines);
        // Names are known after the first pass, as they are in steady state.
        ParseAndAdmit();
    }

    /// <summary>Parsing alone, from one contiguous buffer.</summary>
    [Benchmark(OperationsPerInvoke = Lines)]
    public int Parse()
    {
        var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(_payload));
        var n = 0;
        while (_parser.TryParse(ref reader, out var line))
        {
            n += line.Name.Length;
        }
        return n;
    }

    /// <summary>Parsing from 4 KiB segments, as a socket pipe delivers them.</summary>
    [Benchmark(OperationsPerInvoke = Lines)]
    public int ParseSegmented()
    {
        var reader = new SequenceReader<byte>(_multiSegment);
        var n = 0;
        while (_parser.TryParse(ref reader, out var line))
        {
            n += line.Name.Length;
        }
        return n;
    }

    /// <summary>What a connection does per line: parse, admit (time window, skip list, known
    /// name lookup), add to the batch.</summary>
    [Benchmark(OperationsPerInvoke = Lines)]
    public int ParseAndAdmit()
    {
        _batch.Clear();
        var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(_payload));
        while (_parser.TryParse(ref reader, out var line))
        {
            if (line.Error == RejectReason.None && _gate.Admit(line.Name, line.Timestamp, Payloads.Now, out var key) == RejectReason.None)
            {
                _batch.Add(key!, line.Timestamp, line.Value);
            }
        }
        return _batch.Count;
    }
}

/// <summary>carbon-relay pickles: one 500-datapoint frame (carbon's MAX_DATAPOINTS_PER_MESSAGE).</summary>
[MemoryDiagnoser]
public class PickleBenchmarks
{
    private const int Points = 500;
    private byte[] _frame = [];
    private readonly CarbonPickleDecoder _decoder = new();
    private readonly CountingSink _sink = new();

    [GlobalSetup]
    public void Setup() => _frame = Payloads.Pickle(Points);

    [Benchmark(OperationsPerInvoke = Points)]
    public int DecodeFrame()
    {
        _sink.Count = 0;
        _decoder.Decode(_frame, _sink);
        return _sink.Count;
    }

    private sealed class CountingSink : IPickleItemSink
    {
        public int Count;

        public void OnPoint(ReadOnlySpan<byte> name, double timestamp, double value) => Count++;

        public void OnReject(RejectReason reason, ReadOnlySpan<byte> name)
        {
        }
    }
}

/// <summary>StatsD: parsing and aggregating one sample (the UDP path).</summary>
[MemoryDiagnoser]
public class StatsdBenchmarks
{
    private const int Samples = 10_000;
    private byte[][] _datagrams = [];
    private StatsdAggregator _aggregator = null!;

    [GlobalSetup]
    public void Setup()
    {
        _datagrams = Payloads.StatsdDatagrams(Samples);
        _aggregator = new StatsdAggregator(new StatsdOptions(), new MetricRegistry());
        Aggregate();
        var rejects = default(RejectTally);
        _aggregator.Flush(ref rejects);
    }

    [Benchmark(OperationsPerInvoke = Samples)]
    public int Aggregate()
    {
        var rejects = default(RejectTally);
        var n = 0;
        foreach (var d in _datagrams)
        {
            n += _aggregator.Process(d, ref rejects);
        }
        return n;
    }
}

/// <summary>The series codec: encoding points for APPEND, decoding a day of one series.</summary>
[MemoryDiagnoser]
public class SeriesCodecBenchmarks
{
    private const int Points = 1440;
    private readonly byte[] _buffer = new byte[Points * SeriesCodec.MaxPointSize];
    private readonly long[] _ts = new long[Points];
    private readonly double[] _values = new double[Points];
    private byte[] _series = [];

    [GlobalSetup]
    public void Setup()
    {
        var n = 0;
        for (var i = 0; i < Points; i++)
        {
            n += SeriesCodec.WritePoint(_buffer.AsSpan(n), Payloads.Now - 60 * (Points - i), i % 4 == 0 ? i : i * 0.37);
        }
        _series = _buffer[..n];
    }

    [Benchmark(OperationsPerInvoke = Points)]
    public int Encode()
    {
        var n = 0;
        for (var i = 0; i < Points; i++)
        {
            n += SeriesCodec.WritePoint(_buffer.AsSpan(n), Payloads.Now - 60 * (Points - i), i % 4 == 0 ? i : i * 0.37);
        }
        return n;
    }

    [Benchmark(OperationsPerInvoke = Points)]
    public int Decode() => SeriesCodec.Decode(_series, _ts, _values, out _, out _);
}

/// <summary>Skyline's msgpack datagrams.</summary>
[MemoryDiagnoser]
public class MsgpackDatagramBenchmarks
{
    private byte[] _datagram = [];

    [GlobalSetup]
    public void Setup()
    {
        var name = System.Text.Encoding.UTF8.GetBytes(Payloads.Name(42));
        var list = new List<byte> { 0x92, (byte)(0xa0 | name.Length) };
        list.AddRange(name);
        var point = new byte[SeriesCodec.MaxPointSize];
        list.AddRange(point.AsSpan(0, SeriesCodec.WritePoint(point, Payloads.Now, 12.5)).ToArray());
        _datagram = [.. list];
    }

    [Benchmark]
    public RejectReason Parse() => MsgpackDatagramParser.Parse(_datagram, out _, out _, out _);
}

/// <summary>Builds multi-segment sequences.</summary>
public static class Segments
{
    public static ReadOnlySequence<byte> Split(byte[] payload, int segmentSize)
    {
        Segment? first = null, last = null;
        for (var offset = 0; offset < payload.Length; offset += segmentSize)
        {
            var memory = payload.AsMemory(offset, Math.Min(segmentSize, payload.Length - offset));
            var next = new Segment(memory, last is null ? 0 : last.RunningIndex + last.Memory.Length);
            if (last is null)
            {
                first = next;
            }
            else
            {
                last.SetNext(next);
            }
            last = next;
        }
        return new ReadOnlySequence<byte>(first!, 0, last!, last!.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public void SetNext(Segment next) => Next = next;
    }
}
