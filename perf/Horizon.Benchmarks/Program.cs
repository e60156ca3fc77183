using BenchmarkDotNet.Running;
using Horizon.Benchmarks.Analysis;

// dotnet run -c Release --project perf/Horizon.Benchmarks -- --filter '*'   (see docs/PERFORMANCE.md)
// dotnet run -c Release --project perf/Horizon.Benchmarks -- --ratio [rounds]   the ensemble over the nine, interleaved
if (args.Length > 0 && args[0] == "--ratio")
{
    EnsembleRatio.Run(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 100);
    return;
}
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
