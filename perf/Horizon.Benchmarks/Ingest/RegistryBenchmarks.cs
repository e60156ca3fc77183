using System.Text;
using BenchmarkDotNet.Attributes;
using Horizon.Core.Metrics;

namespace Horizon.Benchmarks.Ingest;

/// <summary>Looking up a known metric name in the metric table, in the order a sender that cycles
/// through all its metrics would use (each name once per round, shuffled), with 10k names (the
/// parser benchmarks' table, hot in the CPU's caches) and with 1M (the capacity report's, which is
/// not). Results are per lookup.</summary>
[MemoryDiagnoser]
public class RegistryBenchmarks
{
    private const int Lookups = 1_000_000;
    private MetricRegistry _registry = null!;
    private byte[][] _names = [];

    [Params(10_000, 1_000_000)]
    public int Names { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _registry = new MetricRegistry(maxMetrics: Names + 1);
        var all = new byte[Names][];
        for (var i = 0; i < Names; i++)
        {
            all[i] = Encoding.UTF8.GetBytes($"servers.web{i % 997:D3}.app{i % 7}.requests.p{i}");
            _registry.GetOrAdd(all[i], out _);
        }
        var random = new Random(7);
        _names = [.. Enumerable.Range(0, Lookups).Select(_ => all[random.Next(Names)])];
    }

    [Benchmark(OperationsPerInvoke = Lookups)]
    public int Lookup()
    {
        var found = 0;
        foreach (var name in _names)
        {
            found += _registry.GetOrAdd(name, out _) == Horizon.Core.Protocols.RejectReason.None ? 1 : 0;
        }
        return found;
    }
}
