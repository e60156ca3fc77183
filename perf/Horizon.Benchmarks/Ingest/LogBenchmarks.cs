using System.Globalization;
using System.Text;
using BenchmarkDotNet.Attributes;
using Horizon.Core.Logs;
using Horizon.Ingest.Logs;
using Prometheus;

namespace Horizon.Benchmarks.Ingest;

/// <summary>The per-line log path without the network: a syslog frame parsed (RFC 5424), added to
/// a block, its source found, its text decoded, grouped into a template (Drain) and kept in the
/// tail; and the Drain step alone. 10,000 lines of 40 services' shapes with varying values,
/// grouped once first so templates exist (steady state). Results are per line.</summary>
[MemoryDiagnoser]
public class LogBenchmarks
{
    private const int Lines = 10_000;
    private byte[][] _frames = [];
    private string[] _messages = [];
    private LogGrouper _grouper = null!;
    private TemplateMiner _miner = null!;
    private readonly LogBlock[] _blocks = [new(), new(), new()];

    /// <summary>Lines shaped like what services log: an app name, a message with ids, numbers,
    /// addresses and durations in it.</summary>
    public static (string App, string Message)[] Corpus(int lines, int seed = 7)
    {
        var random = new Random(seed);
        string[] shapes =
        [
            "session opened for user {w} from {ip} port {n}",
            "Failed password for invalid user {w} from {ip} port {n} ssh2",
            "GET /api/v1/orders/{n} HTTP/1.1 200 {n} {d}ms",
            "POST /api/v1/cart/{n}/items HTTP/1.1 201 {n} {d}ms",
            "upstream timed out (110: Connection timed out) while reading response header from upstream, client: {ip}",
            "connection reset by peer {ip}:{n}",
            "job {hex} finished in {d} ms with {n} rows",
            "job {hex} failed: deadline exceeded after {d}s",
            "cache miss for key user:{n}:profile",
            "evicted {n} keys from shard {n} in {d} ms",
            "checkpoint complete: wrote {n} buffers ({d}%); {n} WAL file(s) added",
            "Received block blk_{n} of size {n} from /{ip}",
            "PacketResponder {n} for block blk_{n} terminating",
            "payment {hex} declined: card expired",
            "payment {hex} captured for {d} EUR",
        ];
        var words = new[] { "alice", "bob", "carol", "admin", "deploy", "root", "www", "backup" };
        var c = CultureInfo.InvariantCulture;
        var corpus = new (string, string)[lines];
        for (var i = 0; i < lines; i++)
        {
            var shape = shapes[random.Next(shapes.Length)];
            var text = new StringBuilder();
            for (var k = 0; k < shape.Length; k++)
            {
                if (shape[k] == '{')
                {
                    var end = shape.IndexOf('}', k);
                    text.Append(shape[(k + 1)..end] switch
                    {
                        "w" => words[random.Next(words.Length)],
                        "ip" => $"10.{random.Next(256)}.{random.Next(256)}.{random.Next(256)}",
                        "n" => random.Next(100_000).ToString(c),
                        "d" => (random.NextDouble() * 1000).ToString("F1", c),
                        _ => random.NextInt64().ToString("x12", c),
                    });
                    k = end;
                }
                else
                {
                    text.Append(shape[k]);
                }
            }
            corpus[i] = ($"svc{random.Next(40):D2}", text.ToString());
        }
        return corpus;
    }

    [GlobalSetup]
    public void Setup()
    {
        var corpus = Corpus(Lines);
        _frames = [.. corpus.Select(l => Encoding.UTF8.GetBytes($"<14>1 2026-12-07T15:30:00.123Z web01 {l.App} 4242 - - {l.Message}"))];
        _messages = [.. corpus.Select(l => l.Message)];
        var options = new LogOptions();
        _grouper = new LogGrouper(options, new LogMetrics(new CollectorRegistry()), new LogTail(options.TailBytes, options.TailLines));
        _miner = new TemplateMiner("bench");
        ParseGroupAndTail();
        DrainOnly();
    }

    /// <summary>Parse, block, source, decode, group and tail: the whole per-line path.</summary>
    [Benchmark(OperationsPerInvoke = Lines)]
    public int ParseGroupAndTail()
    {
        var block = _blocks[0];
        var grouped = 0;
        foreach (var frame in _frames)
        {
            if (SyslogMessage.TryParse(frame, out var m) != LogReject.None)
            {
                continue;
            }
            if (!block.TryAdd(m.App, m.Message, m.Severity, 1_796_657_400_000))
            {
                _grouper.Group(block);
                grouped += block.Count;
                block.Clear();
                block.TryAdd(m.App, m.Message, m.Severity, 1_796_657_400_000);
            }
        }
        _grouper.Group(block);
        grouped += block.Count;
        block.Clear();
        return grouped;
    }

    /// <summary>Drain alone, on decoded text.</summary>
    [Benchmark(OperationsPerInvoke = Lines)]
    public int DrainOnly()
    {
        var n = 0;
        foreach (var message in _messages)
        {
            n += _miner.Add(message, out _);
        }
        return n;
    }
}
