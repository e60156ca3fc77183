using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;

namespace Horizon.Fuzz;

/// <summary>What a run of one target did.</summary>
public sealed record FuzzSummary(string Target, long Executions, TimeSpan Elapsed, int SeedEdges, int Edges, int SeedInputs, int Corpus, int Findings)
{
    /// <summary>A line of the report (and of RELIABILITY.md's table).</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"| {Target} | {Executions:N0} | {Elapsed.TotalSeconds:F0} s | {Executions / Math.Max(0.001, Elapsed.TotalSeconds):N0}/s | {SeedEdges:N0} -> {Edges:N0} | {SeedInputs:N0} -> {Corpus:N0} | {Findings} |");

    /// <summary>The table's header.</summary>
    public const string Header = """
        | target | inputs tried | time | rate | edges (seeds -> end) | corpus (seeds -> end) | findings |
        |---|---:|---:|---:|---:|---:|---:|
        """;
}

/// <summary>
/// An AFL-style loop over one target in this process: each input runs with the edge map cleared;
/// hit counts are bucketed as AFL does (1, 2, 3, 4-7, 8-15, 16-31, 32-127, 128+) and an input that
/// reaches a new edge or bucket joins the corpus; inputs are corpus entries under stacked random
/// mutations (bit flips, interesting values, arithmetic, block insertion, deletion and copying,
/// dictionary tokens, splices). An exception, or an input that takes over a second, is a finding:
/// saved with what happened. The edge map is SharpFuzz's (<c>Trace.SharedMem</c>): only an
/// instrumented copy of Horizon's assemblies writes to it; uninstrumented, every input looks the
/// same and this is a random mutation fuzzer.
/// </summary>
public sealed unsafe class CoverageFuzzer
{
    /// <summary>Edges in the map (AFL's MAP_SIZE).</summary>
    public const int MapSize = 1 << 16;

    private static readonly byte[] Bucket = BuildBuckets();
    private readonly IFuzzTarget _target;
    private readonly byte* _map;
    private readonly Random _random;
    private readonly Mutator _mutator;
    private readonly byte[] _virgin = new byte[MapSize];
    private readonly List<byte[]> _corpus = [];
    private readonly HashSet<string> _findingKeys = [];
    private readonly string? _findings;
    private readonly string? _save;
    private readonly TextWriter _log;
    private int _edges;

    /// <summary>A fuzzer of <paramref name="target"/> over the edge map <paramref name="map"/>.
    /// Findings are written to <paramref name="findings"/>, new corpus entries to
    /// <paramref name="save"/> (when given).</summary>
    public CoverageFuzzer(IFuzzTarget target, byte* map, int seed, string? findings, string? save, TextWriter log)
    {
        _target = target;
        _map = map;
        _random = new Random(seed);
        _mutator = new Mutator(_random, target.Dictionary, target.MaxInputLength);
        _findings = findings;
        _save = save;
        _log = log;
    }

    /// <summary>Findings so far.</summary>
    public int Findings => _findingKeys.Count;

    /// <summary>Runs the seeds, then mutates for <paramref name="duration"/>.</summary>
    public FuzzSummary Run(IEnumerable<byte[]> seeds, TimeSpan duration)
    {
        var clock = Stopwatch.StartNew();
        long executions = 0;
        foreach (var seed in seeds)
        {
            executions++;
            if (Execute(seed) || _corpus.Count == 0)
            {
                _corpus.Add(seed);
            }
        }
        var seedEdges = _edges;
        var seedInputs = _corpus.Count;
        if (_corpus.Count == 0)
        {
            _corpus.Add([]);
        }
        var deadline = clock.Elapsed + duration;
        while (clock.Elapsed < deadline)
        {
            for (var i = 0; i < 256; i++)
            {
                var parent = _corpus[_random.Next(_corpus.Count)];
                var other = _corpus[_random.Next(_corpus.Count)];
                var input = _mutator.Mutate(parent, other);
                executions++;
                if (Execute(input))
                {
                    _corpus.Add(input);
                    if (_save is not null)
                    {
                        Write(_save, Hash(input), input);
                    }
                }
            }
        }
        return new FuzzSummary(_target.Name, executions, clock.Elapsed, seedEdges, _edges, seedInputs, _corpus.Count, Findings);
    }

    // Runs one input; true when it reached something new.
    private bool Execute(byte[] input)
    {
        new Span<byte>(_map, MapSize).Clear();
        SharpFuzz.Common.Trace.PrevLocation = 0;
        var started = Stopwatch.GetTimestamp();
        try
        {
            _target.Run(input);
        }
        catch (Exception e)
        {
            Report(input, e is FuzzFindingException ? "property" : "crash", e);
        }
        var elapsed = Stopwatch.GetElapsedTime(started);
        if (elapsed > TimeSpan.FromSeconds(1))
        {
            Report(input, "slow", new TimeoutException($"{elapsed.TotalSeconds:F1} s for a {input.Length}-byte input"));
        }
        return Classify();
    }

    // Folds the hit counts into the virgin map; true when some edge or bucket is new.
    private bool Classify()
    {
        var found = false;
        var words = (ulong*)_map;
        for (var w = 0; w < MapSize / 8; w++)
        {
            if (words[w] == 0)
            {
                continue;
            }
            for (var i = w * 8; i < (w * 8) + 8; i++)
            {
                var bucket = Bucket[_map[i]];
                if (bucket == 0 || (bucket & ~_virgin[i]) == 0)
                {
                    continue;
                }
                if (_virgin[i] == 0)
                {
                    _edges++;
                }
                _virgin[i] |= bucket;
                found = true;
            }
        }
        return found;
    }

    private void Report(byte[] input, string kind, Exception e)
    {
        // One report per kind of failure and place in the code.
        var frame = new StackTrace(e, false).GetFrames().FirstOrDefault(f => f.GetMethod()?.DeclaringType?.Namespace?.StartsWith("Horizon.", StringComparison.Ordinal) == true);
        var key = $"{kind}:{e.GetType().Name}:{frame?.GetMethod()?.DeclaringType?.Name}.{frame?.GetMethod()?.Name}:{(e is FuzzFindingException ? e.Message.Split(' ')[0] : "")}";
        if (!_findingKeys.Add(key))
        {
            return;
        }
        var name = $"{kind}-{Hash(input)}";
        _log.WriteLine($"  FINDING {_target.Name}/{name}: {e.GetType().Name}: {e.Message}");
        if (_findings is not null)
        {
            Write(_findings, name, input);
            File.WriteAllText(Path.Combine(_findings, _target.Name, name + ".txt"), e.ToString());
        }
    }

    private void Write(string root, string name, byte[] input)
    {
        var dir = Path.Combine(root, _target.Name);
        Directory.CreateDirectory(dir);
        File.WriteAllBytes(Path.Combine(dir, name + ".bin"), input);
    }

    private static string Hash(byte[] input) => Convert.ToHexStringLower(SHA256.HashData(input))[..12];

    private static byte[] BuildBuckets()
    {
        var bucket = new byte[256];
        for (var n = 1; n < 256; n++)
        {
            bucket[n] = n switch
            {
                1 => 1,
                2 => 2,
                3 => 4,
                <= 7 => 8,
                <= 15 => 16,
                <= 31 => 32,
                <= 127 => 64,
                _ => 128,
            };
        }
        return bucket;
    }
}

/// <summary>AFL's havoc stage, in short: a few stacked random changes to a corpus entry.</summary>
public sealed class Mutator(Random random, IReadOnlyList<byte[]> dictionary, int maxLength)
{
    private static readonly byte[] Interesting8 = [0, 1, 0x7f, 0x80, 0xff, 0x10, 0x20, 0x40, 0x64, 0xfe];
    private static readonly int[] Interesting32 = [0, 1, -1, 0x7fffffff, int.MinValue, 0xffff, 0x10000, 256, 1024, 4096, 65535, 1 << 20, 1700000000];

    /// <summary>A mutated copy of <paramref name="input"/> (<paramref name="other"/> for splices).</summary>
    public byte[] Mutate(byte[] input, byte[] other)
    {
        var data = new List<byte>(input);
        var changes = 1 << random.Next(1, 5);
        for (var c = 0; c < changes; c++)
        {
            switch (random.Next(11))
            {
                case 0 when data.Count > 0:
                    var bit = random.Next(data.Count * 8);
                    data[bit / 8] ^= (byte)(1 << (bit % 8));
                    break;
                case 1 when data.Count > 0:
                    data[random.Next(data.Count)] = Interesting8[random.Next(Interesting8.Length)];
                    break;
                case 2 when data.Count > 0:
                    var at = random.Next(data.Count);
                    data[at] = (byte)(data[at] + random.Next(-35, 36));
                    break;
                case 3 when data.Count >= 4:
                    var value = Interesting32[random.Next(Interesting32.Length)];
                    var bytes = random.Next(2) == 0 ? BitConverter.GetBytes(value) : BitConverter.GetBytes(System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(value));
                    var pos = random.Next(data.Count - 3);
                    for (var i = 0; i < 4; i++)
                    {
                        data[pos + i] = bytes[i];
                    }
                    break;
                case 4:
                    var length = random.Next(1, 9);
                    data.InsertRange(random.Next(data.Count + 1), Enumerable.Range(0, length).Select(_ => (byte)random.Next(256)));
                    break;
                case 5 when data.Count > 1:
                    var start = random.Next(data.Count);
                    data.RemoveRange(start, random.Next(1, Math.Min(16, data.Count - start) + 1));
                    break;
                case 6 when data.Count > 0:
                    var from = random.Next(data.Count);
                    var block = data.GetRange(from, random.Next(1, Math.Min(32, data.Count - from) + 1));
                    data.InsertRange(random.Next(data.Count + 1), block);
                    break;
                case 7 or 8 when dictionary.Count > 0:
                    var token = dictionary[random.Next(dictionary.Count)];
                    var place = random.Next(data.Count + 1);
                    if (c % 2 == 0 || place + token.Length > data.Count)
                    {
                        data.InsertRange(place, token);
                    }
                    else
                    {
                        for (var i = 0; i < token.Length; i++)
                        {
                            data[place + i] = token[i];
                        }
                    }
                    break;
                case 9 when other.Length > 0:
                    var cut = random.Next(data.Count + 1);
                    var otherStart = random.Next(other.Length);
                    data.RemoveRange(cut, data.Count - cut);
                    data.AddRange(other.AsSpan(otherStart, random.Next(1, other.Length - otherStart + 1)).ToArray());
                    break;
                case 10 when data.Count > 0:
                    var repeat = random.Next(2, 64);
                    var chosen = data[random.Next(data.Count)];
                    data.InsertRange(random.Next(data.Count + 1), Enumerable.Repeat(chosen, repeat));
                    break;
            }
        }
        if (data.Count > maxLength)
        {
            data.RemoveRange(maxLength, data.Count - maxLength);
        }
        return [.. data];
    }
}
