using System.Diagnostics;
using System.Globalization;

namespace Horizon.Benchmarks.Analysis;

/// <summary>
/// The ensemble's cost over the nine's, measured in alternating rounds in one process
/// (<c>-- --ratio [rounds]</c>): BenchmarkDotNet measures the two one after the other, and on a VM
/// whose host steals CPU by the minute the ratio of two such means moved from 2.4x to 3.5x between
/// runs of the same code. Here each round times a batch of the nine, then a batch of the ensemble,
/// on the benchmark's own series and roll-ups, and the per-round ratios are summarised.
/// </summary>
public static class EnsembleRatio
{
    public static void Run(int rounds)
    {
        Console.WriteLine("| points | nine, median of rounds | ensemble, median of rounds | ensemble / nine: median of per-round ratios (p10-p90) |");
        Console.WriteLine("|---:|---:|---:|---:|");
        foreach (var points in new[] { 1440, 8640 })
        {
            var bench = new EnsembleBenchmarks { Points = points };
            bench.Setup();
            var batch = points > 2000 ? 200 : 1000;
            var nine = new List<double>();
            var ensemble = new List<double>();
            var ratios = new List<double>();
            for (var round = 0; round < rounds + 5; round++)
            {
                var n = Time(() => bench.Nine(), batch);
                var e = Time(() => bench.Ensemble(), batch);
                if (round < 5)
                {
                    continue; // warm-up: tiered compilation settles
                }
                nine.Add(n);
                ensemble.Add(e);
                ratios.Add(e / n);
            }
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {points} | {Percentile(nine, 0.5):F1} us | {Percentile(ensemble, 0.5):F1} us | **{Percentile(ratios, 0.5):F2}x** ({Percentile(ratios, 0.1):F2}-{Percentile(ratios, 0.9):F2}) |"));
        }
    }

    private static double Time(Action action, int batch)
    {
        var watch = Stopwatch.StartNew();
        for (var i = 0; i < batch; i++)
        {
            action();
        }
        return watch.Elapsed.TotalMicroseconds / batch;
    }

    private static double Percentile(List<double> values, double q)
    {
        var sorted = values.Order().ToList();
        return sorted[(int)Math.Round(q * (sorted.Count - 1))];
    }
}
