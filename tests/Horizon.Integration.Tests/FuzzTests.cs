using System.Diagnostics;
using System.Text;
using Horizon.Fuzz;

namespace Horizon.Integration.Tests;

/// <summary>The fuzz suite in CI: every input kept in tests/fuzz-corpus (seeds, and what earlier
/// runs found) still passes its target, and a short coverage-guided run of every decoder, on
/// instrumented copies of Horizon's assemblies, finds nothing and reaches past its seeds.</summary>
public sealed class FuzzTests
{
    public static TheoryData<string> Targets() => new(FuzzTargets.All.Select(t => t.Name));

    [Theory]
    [MemberData(nameof(Targets))]
    public void EveryInputInTheCorpusPassesItsTarget(string name)
    {
        var corpus = Corpus.Find() ?? throw new InvalidOperationException("tests/fuzz-corpus not found above the test's directory");
        var target = FuzzTargets.All.Single(t => t.Name == name);
        var inputs = Corpus.Read(corpus, name).ToList();
        Assert.True(inputs.Count >= 3, $"the {name} corpus holds {inputs.Count} inputs");
        foreach (var input in inputs)
        {
            target.Run(input);
        }
    }

    [Fact]
    public async Task ACoverageGuidedRunOfEveryDecoderFindsNothingAndReachesPastItsSeeds()
    {
        var findings = Path.Combine(Path.GetTempPath(), "horizon-fuzz-findings-" + Guid.NewGuid().ToString("N"));
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { Path.Combine(AppContext.BaseDirectory, "horizon-fuzz.dll"), "--seconds", "6", "--seed", "1", "--findings", findings })
        {
            info.ArgumentList.Add(arg);
        }
        using var process = Process.Start(info)!;
        var output = new StringBuilder();
        process.OutputDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
        process.ErrorDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        await process.WaitForExitAsync(timeout.Token);
        var report = output.ToString();
        Assert.True(process.ExitCode == 0, report);
        foreach (var target in FuzzTargets.All)
        {
            // "| name | inputs | time | rate | seeds -> end | ..." : coverage grew, so the instrumentation works.
            var row = report.Split('\n').Single(l => l.StartsWith($"| {target.Name} |", StringComparison.Ordinal));
            var edges = row.Split('|')[5].Split("->").Select(e => int.Parse(e.Trim().Replace(",", "", StringComparison.Ordinal), System.Globalization.CultureInfo.InvariantCulture)).ToArray();
            Assert.True(edges[0] > 20 && edges[1] > edges[0], $"{target.Name}: edges {edges[0]} -> {edges[1]}\n{report}");
        }
    }
}
