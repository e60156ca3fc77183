using BenchmarkDotNet.Attributes;
using Horizon.Analyzer;
using Horizon.Analyzer.Incidents;

namespace Horizon.Benchmarks.Analyzer;

/// <summary>The incident book's cost for one pass of a storm: N findings at once, every one of a
/// different service and owner, either all moved by one deploy (they correlate and join one
/// incident) or all unrelated (noise: each opens its own, after comparing its movement with every
/// open incident's first members). The second is the worst case grouping can meet.</summary>
[MemoryDiagnoser]
public class IncidentBenchmarks
{
    private const long Now = 1_780_000_020;
    private static readonly Dictionary<string, Acknowledgement> NoAcks = [];
    private List<AnomalyRecord> _deploy = [];
    private List<AnomalyRecord> _unrelated = [];

    [Params(1000, 5000)]
    public int Findings { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(1);
        long[] ts = [.. Enumerable.Range(0, 60).Select(i => Now - ((59 - i) * 60L))];
        AnomalyRecord Finding(int i, Func<int, double> value) =>
            new($"service{i}.host.metric", Now, 1, 0, 6, [], Now, Score: 0.4, Owner: $"team{i}",
                Movement: Movement.Of(ts, [.. Enumerable.Range(0, 60).Select(value)]));
        _deploy = [.. Enumerable.Range(0, Findings).Select(i => Finding(i, m => random.NextDouble() + (m >= 52 ? 5 : 0)))];
        _unrelated = [.. Enumerable.Range(0, Findings).Select(i => Finding(i, _ => random.NextDouble()))];
    }

    /// <summary>One pass over a deploy's findings, from an empty book.</summary>
    [Benchmark]
    public int Deploy() => new IncidentBook(new IncidentOptions()).Observe(_deploy, Now, [], NoAcks, out _).Count;

    /// <summary>One pass over unrelated findings, from an empty book.</summary>
    [Benchmark]
    public int Unrelated() => new IncidentBook(new IncidentOptions()).Observe(_unrelated, Now, [], NoAcks, out _).Count;
}
