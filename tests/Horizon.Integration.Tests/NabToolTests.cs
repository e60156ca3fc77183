using System.Diagnostics;
using System.Globalization;
using System.Text;
using Horizon.Algorithms.Tests;

namespace Horizon.Integration.Tests;

/// <summary>horizon-nab run as users run it (its own process) over a small corpus in NAB's layout.</summary>
public sealed class NabToolTests
{
    [Fact]
    public async Task TheToolScoresAStreamAndExplainsItsVerdicts()
    {
        var root = Path.Combine(Path.GetTempPath(), "horizon-nab-" + Guid.NewGuid().ToString("N"));
        try
        {
            // Seven days at 5 minutes of seeded noise around 50, one spike at row 1500 in its window.
            var data = Path.Combine(root, "corpus", "data", "synthetic");
            Directory.CreateDirectory(data);
            var random = new Random(11);
            var start = new DateTime(2024, 3, 1, 0, 0, 0, DateTimeKind.Utc);
            string Time(int row) => start.AddMinutes(5 * row).ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);
            var csv = new StringBuilder("timestamp,value\n");
            for (var i = 0; i < 2016; i++)
            {
                var value = i == 1500 ? 120 : 50 + (random.NextDouble() * 4);
                csv.Append(CultureInfo.InvariantCulture, $"{Time(i)},{value:F3}\n");
            }
            await File.WriteAllTextAsync(Path.Combine(data, "spike.csv"), csv.ToString(), TestContext.Current.CancellationToken);
            await File.WriteAllTextAsync(Path.Combine(root, "corpus", "combined_windows.json"),
                $$"""{ "synthetic/spike.csv": [["{{Time(1400)}}.000000", "{{Time(1600)}}.000000"]] }""", TestContext.Current.CancellationToken);

            var (exit, stdout, stderr) = await RunAsync("--data", Path.Combine(root, "corpus"), "--out", Path.Combine(root, "out"), "--detectors", "ensemble", "--explain");
            Assert.True(exit == 0, stderr);

            // The table: the one window hit.
            var table = stdout.Split('\n').Single(l => l.StartsWith("| ensemble |", StringComparison.Ordinal));
            Assert.Contains("| 1/1 |", table, StringComparison.Ordinal);

            // The results file: NAB's columns and, with --explain, why each row scored.
            var rows = await File.ReadAllLinesAsync(Path.Combine(root, "out", "ensemble", "synthetic", "ensemble_spike.csv"), TestContext.Current.CancellationToken);
            Assert.Equal("timestamp,value,anomaly_score,label,explanation", rows[0]);
            Assert.Equal(2017, rows.Length);
            var spike = rows[1501].Split(',', 5);
            Assert.Equal("1", spike[3]);
            Assert.True(double.Parse(spike[2], CultureInfo.InvariantCulture) >= 0.29, rows[1501]);
            Assert.StartsWith("\"raw ", spike[4], StringComparison.Ordinal);
            Assert.Contains("level: expected 5", spike[4], StringComparison.Ordinal);
            Assert.Contains("sigma up", spike[4], StringComparison.Ordinal);
            // A row too early to judge has nothing to explain.
            Assert.EndsWith(",\"\"", rows[2], StringComparison.Ordinal);

            // At a fixed threshold: the spike's row reaches 0.29, nothing reaches more than 1.
            foreach (var (threshold, hit, score) in new[] { ("0.29", "1/1", "| ensemble | 9"), ("1.01", "0/1", "| ensemble | 0.00 | 0.00 | 0.00 |") })
            {
                (exit, stdout, stderr) = await RunAsync("--data", Path.Combine(root, "corpus"), "--out", Path.Combine(root, "out"), "--detectors", "ensemble", "--threshold", threshold);
                Assert.True(exit == 0, stderr);
                var at = stdout.Split('\n').SkipWhile(l => l != $"### Scored at threshold {threshold}").Single(l => l.StartsWith("| ensemble |", StringComparison.Ordinal));
                Assert.StartsWith(score, at, StringComparison.Ordinal);
                Assert.Contains($"| {hit} |", at, StringComparison.Ordinal);
            }
        }
        finally
        {
            if (Directory.Exists(root))
            {
                Directory.Delete(root, recursive: true);
            }
        }
    }

    [Fact]
    public async Task LeavingOneCategoryOutScoresEachAtAThresholdChosenWithoutItAndPicksAmongTheConfigurationsRun()
    {
        var root = Path.Combine(Path.GetTempPath(), "horizon-nab-cv-" + Guid.NewGuid().ToString("N"));
        try
        {
            // Three categories of one file each: noise around 50 with one spike (of a different
            // height in each) inside its window.
            var start = new DateTime(2024, 3, 1, 0, 0, 0, DateTimeKind.Utc);
            string Time(int row) => start.AddMinutes(5 * row).ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);
            var windows = new List<string>();
            foreach (var (category, seed, spike) in new[] { ("alpha", 3, 90.0), ("beta", 5, 70.0), ("gamma", 7, 110.0) })
            {
                var folder = Path.Combine(root, "corpus", "data", category);
                Directory.CreateDirectory(folder);
                var random = new Random(seed);
                var csv = new StringBuilder("timestamp,value\n");
                for (var i = 0; i < 2016; i++)
                {
                    csv.Append(CultureInfo.InvariantCulture, $"{Time(i)},{(i == 1500 ? spike : 50 + (random.NextDouble() * 4)):F3}\n");
                }
                await File.WriteAllTextAsync(Path.Combine(folder, "spike.csv"), csv.ToString(), TestContext.Current.CancellationToken);
                windows.Add($$"""  "{{category}}/spike.csv": [["{{Time(1400)}}.000000", "{{Time(1600)}}.000000"]]""");
            }
            await File.WriteAllTextAsync(Path.Combine(root, "corpus", "combined_windows.json"), "{\n" + string.Join(",\n", windows) + "\n}", TestContext.Current.CancellationToken);

            var (exit, stdout, stderr) = await RunAsync("--data", Path.Combine(root, "corpus"), "--out", Path.Combine(root, "out"),
                "--detectors", "ensemble", "--set", "NoveltyPoints=0|200", "--cv", "category");
            Assert.True(exit == 0, stderr);

            var section = stdout.Split('\n').SkipWhile(l => l != "### Leave one category out").ToList();
            Assert.NotEmpty(section);
            var header = section.First(l => l.StartsWith("| detector |", StringComparison.Ordinal));
            Assert.Contains("| alpha (threshold) | beta (threshold) | gamma (threshold) |", header, StringComparison.Ordinal);
            var rows = section.SkipWhile(l => !l.StartsWith("| detector |", StringComparison.Ordinal)).Skip(2).TakeWhile(l => l.StartsWith('|'))
                .Select(l => l.Split('|', StringSplitOptions.TrimEntries)).ToDictionary(c => c[1], c => c[2..^1]);
            Assert.Equal(["ensemble@NoveltyPoints=0", "ensemble@NoveltyPoints=200", "chosen on the other categories"], rows.Keys);
            foreach (var (name, cells) in rows)
            {
                // Three pooled scores, the mean, then each category's score and threshold.
                Assert.Equal(7, cells.Length);
                Assert.All(cells[..4], c => Assert.InRange(double.Parse(c, CultureInfo.InvariantCulture), 0, 100));
                Assert.All(cells[4..], c => Assert.Matches(@"^\d+\.\d\d \([0-9.eE-]+\)$", c));
            }
            Assert.Contains(section, l => l.StartsWith("Chosen (standard): alpha: ensemble@", StringComparison.Ordinal) && l.Contains("; gamma: ensemble@", StringComparison.Ordinal));
        }
        finally
        {
            if (Directory.Exists(root))
            {
                Directory.Delete(root, recursive: true);
            }
        }
    }

    [Fact]
    public async Task OnTheSharedLabelledCorpusTheEnsembleOutscoresSkylineAndEachOfItsDetectorsAlone()
    {
        // Every file of ../shared/nab, every NAB profile: a guard on detection quality that holds
        // for whatever corpus the folder holds, not a figure tuned to this one (docs/DETECTION.md).
        var output = Path.Combine(Path.GetTempPath(), "horizon-nab-shared-" + Guid.NewGuid().ToString("N"));
        try
        {
            var (exit, stdout, stderr) = await RunAsync("--data", Path.Combine(SharedData.Root, "nab"), "--out", output,
                "--detectors", "skyline,ensemble,level,holt_winters,autoregressive,sustained", "--held-out", "--cv", "category");
            Assert.True(exit == 0, stderr);
            // The first table, the same with each file's threshold chosen on the others (--held-out),
            // and pooled with each category's threshold chosen on the other categories (--cv category):
            // | detector | standard | reward_low_FP_rate | reward_low_FN_rate | ...
            var lines = stdout.Split('\n');
            foreach (var heading in new[] { "## NAB scores", "### Threshold chosen without the file scored", "### Leave one category out" })
            {
                var rows = lines.SkipWhile(l => !l.StartsWith(heading, StringComparison.Ordinal))
                    .SkipWhile(l => !l.StartsWith("| detector |", StringComparison.Ordinal)).Skip(2)
                    .TakeWhile(l => l.StartsWith('|'))
                    .Select(l => l.Split('|', StringSplitOptions.TrimEntries))
                    .Where(c => c[1] != "chosen on the other categories")
                    .ToDictionary(c => c[1], c => c[2..5].Select(v => double.Parse(v, CultureInfo.InvariantCulture)).ToArray());
                Assert.Equal(6, rows.Count);
                var ensemble = rows["ensemble"];
                foreach (var (name, scores) in rows.Where(r => r.Key != "ensemble"))
                {
                    for (var profile = 0; profile < 3; profile++)
                    {
                        Assert.True(ensemble[profile] > scores[profile], $"{heading}, profile {profile}: ensemble {ensemble[profile]} against {name} {scores[profile]}");
                    }
                }
            }
        }
        finally
        {
            if (Directory.Exists(output))
            {
                Directory.Delete(output, recursive: true);
            }
        }
    }

    private static async Task<(int Exit, string Stdout, string Stderr)> RunAsync(params string[] arguments)
    {
        var startInfo = new ProcessStartInfo("dotnet", [Path.Combine(AppContext.BaseDirectory, "horizon-nab.dll"), .. arguments])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(startInfo)!;
        var stdout = process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        await process.WaitForExitAsync(TestContext.Current.CancellationToken);
        return (process.ExitCode, await stdout, await stderr);
    }
}
