using BenchmarkDotNet.Running;

// dotnet run -c Release --project perf/Horizon.Benchmarks -- --filter '*'   (see docs/PERFORMANCE.md)
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
