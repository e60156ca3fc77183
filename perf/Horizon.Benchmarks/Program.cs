using BenchmarkDotNet.Running;
using Horizon.Benchmarks.Analysis;

// dotnet run -c Release --project perf/Horizon.Benchmarks -- --filter '*'   (see docs/PERFORMANCE.md)
// dotnet run -c Release --project perf/Horizon.Benchmarks -- --ratio [rounds]   the ensemble over the nine, interleaved
if (args.Length > 0 && args[0] == "--ratio")
{
    EnsembleRatio.Run(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 100);
    return;
}
// dotnet run -c Release --project perf/Horizon.Benchmarks -- --log-accuracy Apache_2k.log_structured.csv ...
//   Drain's grouping accuracy at Horizon's default settings (Logs:Similarity, Logs:Depth) on LogHub samples
if (args.Length > 0 && args[0] == "--log-accuracy")
{
    var defaults = new Horizon.Ingest.Logs.LogOptions();
    foreach (var file in args[1..])
    {
        using var reader = new StreamReader(file);
        var rows = Horizon.Core.Logs.GroupingAccuracy.ReadLogHub(reader);
        var (accuracy, templates) = Horizon.Core.Logs.GroupingAccuracy.Measure(rows, new Horizon.Core.Logs.TemplateMiner(depth: defaults.Depth, similarity: defaults.Similarity));
        Console.WriteLine(string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"{Path.GetFileName(file)}: {rows.Count} lines, {rows.Select(r => r.Truth).Distinct().Count()} true templates, {templates} made, grouping accuracy {accuracy:F3}"));
    }
    return;
}
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
