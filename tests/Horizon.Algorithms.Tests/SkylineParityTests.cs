using Horizon.Algorithms.Skyline;

namespace Horizon.Algorithms.Tests;

/// <summary>Every case of the reference vectors from the original Skyline: same input, same
/// clock, same verdicts: the pre-check exception, each algorithm's raw return, and both ways of
/// counting the consensus.</summary>
public sealed class SkylineParityTests
{
    public static TheoryData<bool> KernelModes() => new(false, true);

    private static Vote Expected(ParityCase c, SkylineAlgorithm algorithm)
    {
        var raw = c.Algorithms[algorithm.Name()];
        if (raw is null)
        {
            // Each algorithm was run on its own: MAD's null is its None, anything else's is a raise.
            return algorithm == SkylineAlgorithm.MedianAbsoluteDeviation ? Vote.NoneReturned : Vote.Error;
        }
        return raw.Value ? Vote.Yes : Vote.No;
    }

    [Theory]
    [MemberData(nameof(KernelModes))]
    public void EveryCaseGetsSkylinesVerdicts(bool scalarKernels)
    {
        Assert.NotEmpty(ParityCase.All);
        var fixedMode = new SkylineAnalyzer(new SkylineSettings { StopWhenDecided = false }, scalarKernels);
        var originalMode = new SkylineAnalyzer(new SkylineSettings { MadNoneCountsAsYes = true, StopWhenDecided = false }, scalarKernels);
        var mismatches = new List<string>();
        foreach (var c in ParityCase.All)
        {
            var expectedSkip = c.Exception switch
            {
                "TooShort" => SkipReason.TooShort,
                "Stale" => SkipReason.Stale,
                "Boring" => SkipReason.Boring,
                _ => SkipReason.None,
            };
            var skip = fixedMode.PreCheck(c.Timestamps, c.Values, c.Now);
            if (skip != expectedSkip)
            {
                mismatches.Add($"{c.Id}: pre-check {skip}, expected {expectedSkip}");
            }
            var fixedVerdict = default(SkylineVerdict);
            fixedMode.Evaluate(c.Timestamps, c.Values, c.Now, ref fixedVerdict);
            var originalVerdict = default(SkylineVerdict);
            originalMode.Evaluate(c.Timestamps, c.Values, c.Now, ref originalVerdict);

            // An errored ensemble has no meaningful per-algorithm results beyond the error itself.
            var errored = c.EnsembleOriginal.Error is not null;
            if (errored != fixedVerdict.Errored)
            {
                mismatches.Add($"{c.Id}: errored {fixedVerdict.Errored}, expected {errored} ({c.EnsembleOriginal.Error})");
            }
            foreach (var algorithm in Enum.GetValues<SkylineAlgorithm>())
            {
                var expected = Expected(c, algorithm);
                var actual = fixedVerdict.Votes[(int)algorithm];
                if (c.Values.Length == 0)
                {
                    continue; // e_len0: the analyzer refuses an empty series as a whole
                }
                if (expected != actual)
                {
                    mismatches.Add($"{c.Id}: {algorithm.Name()} {actual}, expected {expected}");
                }
            }
            if (!errored)
            {
                if (fixedVerdict.Anomalous != c.EnsembleFixed.Anomalous || fixedVerdict.YesVotes != c.EnsembleFixed.VotesYes)
                {
                    mismatches.Add($"{c.Id}: fixed ensemble {fixedVerdict.Anomalous}/{fixedVerdict.YesVotes}, expected {c.EnsembleFixed.Anomalous}/{c.EnsembleFixed.VotesYes}");
                }
                if (originalVerdict.Anomalous != c.EnsembleOriginal.Anomalous || originalVerdict.YesVotes != c.EnsembleOriginal.VotesYes)
                {
                    mismatches.Add($"{c.Id}: original ensemble {originalVerdict.Anomalous}/{originalVerdict.YesVotes}, expected {c.EnsembleOriginal.Anomalous}/{c.EnsembleOriginal.VotesYes}");
                }
            }
            else if (fixedVerdict.Anomalous || originalVerdict.Anomalous)
            {
                mismatches.Add($"{c.Id}: an errored ensemble must not be anomalous");
            }
            var full = fixedMode.Analyze(c.Timestamps, c.Values, c.Now);
            if (full.Anomalous != (expectedSkip == SkipReason.None && c.EnsembleFixed.Anomalous && !errored))
            {
                mismatches.Add($"{c.Id}: run_selected_algorithm anomalous {full.Anomalous}");
            }
        }
        Assert.True(mismatches.Count == 0, $"{mismatches.Count} mismatches over {ParityCase.All.Count} cases:\n" + string.Join('\n', mismatches));
    }

    /// <summary>Stopping once CONSENSUS is out of reach gives the full ensemble's verdict on every
    /// case, in both counting modes and at every CONSENSUS: the same anomalous flag, the same votes
    /// from every algorithm that ran, and all nine votes whenever the series is anomalous.</summary>
    [Fact]
    public void StoppingWhenDecidedKeepsEveryVerdict()
    {
        Assert.NotEmpty(ParityCase.All);
        var mismatches = new List<string>();
        var stopped = 0;
        foreach (var madYes in new[] { false, true })
        {
            for (var consensus = 1; consensus <= SkylineNames.Count; consensus++)
            {
                var full = new SkylineAnalyzer(new SkylineSettings { MadNoneCountsAsYes = madYes, Consensus = consensus, StopWhenDecided = false });
                var early = new SkylineAnalyzer(new SkylineSettings { MadNoneCountsAsYes = madYes, Consensus = consensus });
                foreach (var c in ParityCase.All.Where(c => c.Values.Length > 0))
                {
                    var expected = default(SkylineVerdict);
                    full.Evaluate(c.Timestamps, c.Values, c.Now, ref expected);
                    var actual = default(SkylineVerdict);
                    early.Evaluate(c.Timestamps, c.Values, c.Now, ref actual);
                    var id = $"{c.Id} (consensus {consensus}, MAD None as yes {madYes})";
                    if (actual.Anomalous != expected.Anomalous)
                    {
                        mismatches.Add($"{id}: anomalous {actual.Anomalous}, expected {expected.Anomalous}");
                    }
                    if (actual.Errored && !expected.Errored)
                    {
                        mismatches.Add($"{id}: errored, the full ensemble did not");
                    }
                    if (expected.Anomalous && actual.YesVotes != expected.YesVotes)
                    {
                        mismatches.Add($"{id}: {actual.YesVotes} yes votes, expected {expected.YesVotes}");
                    }
                    var notRun = 0;
                    foreach (var algorithm in Enum.GetValues<SkylineAlgorithm>())
                    {
                        var vote = actual.Votes[(int)algorithm];
                        if (vote == Vote.NotRun)
                        {
                            notRun++;
                        }
                        else if (!expected.Errored && vote != expected.Votes[(int)algorithm])
                        {
                            mismatches.Add($"{id}: {algorithm.Name()} {vote}, expected {expected.Votes[(int)algorithm]}");
                        }
                    }
                    if (notRun > 0 && expected.Anomalous)
                    {
                        mismatches.Add($"{id}: {notRun} algorithms not run on an anomalous series");
                    }
                    stopped += notRun > 0 ? 1 : 0;
                }
            }
        }
        Assert.True(mismatches.Count == 0, $"{mismatches.Count} mismatches:\n" + string.Join('\n', mismatches.Take(80)));
        Assert.True(stopped > 0, "no case stopped early");
    }

    [Fact]
    public void IntermediateStatisticsMatchTheOriginalsNumbers()
    {
        var analyzer = new SkylineAnalyzer(new SkylineSettings());
        var problems = new List<string>();
        void Check(ParityCase c, string what, double expected, double actual, double tolerance = 1e-9)
        {
            if (double.IsNaN(expected) && double.IsNaN(actual))
            {
                return;
            }
            if (double.IsInfinity(expected) || double.IsInfinity(actual))
            {
                if (expected != actual)
                {
                    problems.Add($"{c.Id}: {what} {actual:R}, expected {expected:R}");
                }
                return;
            }
            var scale = Math.Max(Math.Abs(expected), 1e-300);
            if (!(Math.Abs(expected - actual) <= tolerance * scale) && !(Math.Abs(expected - actual) < 1e-12))
            {
                problems.Add($"{c.Id}: {what} {actual:R}, expected {expected:R}");
            }
        }
        foreach (var c in ParityCase.All.Where(c => c.Values.Length > 0))
        {
            var d = new SkylineDetails();
            var verdict = default(SkylineVerdict);
            analyzer.PreCheck(c.Timestamps, c.Values, c.Now, d);
            analyzer.Evaluate(c.Timestamps, c.Values, c.Now, ref verdict, d);
            Check(c, "tail_avg", c.Stat("tail_avg"), d.TailAvg, 0);
            Check(c, "mean", c.Stat("mean"), d.Mean);
            Check(c, "std_pandas", c.Stat("std_pandas"), d.StdPandas);
            Check(c, "std_numpy", c.Stat("std_numpy"), d.StdNumpy);
            Check(c, "median", c.Stat("median"), d.Median, 0);
            Check(c, "mad", c.Stat("median_absolute_deviation", "mad"), d.Mad, 0);
            Check(c, "grubbs.t_critical", c.Stat("grubbs", "t_critical"), d.GrubbsT, 1e-8);
            Check(c, "grubbs.g_threshold", c.Stat("grubbs", "g_threshold"), d.GrubbsG, 1e-8);
            Check(c, "first_hour.count", c.Stat("first_hour_average", "count"), d.FirstHourCount, 0);
            Check(c, "first_hour.mean", c.Stat("first_hour_average", "mean"), d.FirstHourMean);
            Check(c, "first_hour.std", c.Stat("first_hour_average", "std"), d.FirstHourStd);
            Check(c, "ewma_last", c.Stat("stddev_from_moving_average", "ewma_last"), d.Ewma, 1e-12);
            Check(c, "ewmstd_last", c.Stat("stddev_from_moving_average", "ewmstd_last"), d.EwmStd, 1e-9);
            Check(c, "head_mean", c.Stat("mean_subtraction_cumulation", "head_mean"), d.HeadMean);
            Check(c, "series_last", c.Stat("mean_subtraction_cumulation", "series_last"), d.SeriesLast, 1e-9);
            Check(c, "cumulation sd", c.Stat("mean_subtraction_cumulation", "sd"), d.CumulationSd);
            Check(c, "least_squares.rank", c.Stat("least_squares", "rank"), d.Rank, 0);
            if (c.Values.Length >= 3)
            {
                Check(c, "errors_std", c.Stat("least_squares", "errors_std"), d.ErrorsStd, 1e-6);
            }
            if (c.Stats.TryGetProperty("histogram_bins", out var hist) && hist.ValueKind == System.Text.Json.JsonValueKind.Object)
            {
                var counts = hist.GetProperty("counts").EnumerateArray().Select(e => e.GetInt32()).ToArray();
                var edges = hist.GetProperty("edges").EnumerateArray().Select(ParityCase.Number).ToArray();
                if (!counts.SequenceEqual(d.HistogramCounts))
                {
                    problems.Add($"{c.Id}: histogram counts [{string.Join(',', d.HistogramCounts)}], expected [{string.Join(',', counts)}]");
                }
                for (var i = 0; i < edges.Length; i++)
                {
                    Check(c, $"edge {i}", edges[i], d.HistogramEdges[i], 0);
                }
            }
            if (d.KsComputed)
            {
                Check(c, "ks d", c.Stat("ks_test", "d"), d.KsD, 0);
                Check(c, "ks p", c.Stat("ks_test", "p"), d.KsP, 1e-6);
            }
            if (d.AdfComputed && d.Adf.Error is null)
            {
                Check(c, "adf statistic", c.Stat("ks_test", "adf_statistic"), d.Adf.Statistic, 1e-7);
                Check(c, "adf p", c.Stat("ks_test", "adf_pvalue"), d.Adf.PValue, 1e-6);
                Check(c, "adf lag", c.Stat("ks_test", "adf_usedlag"), d.Adf.UsedLag, 0);
                Check(c, "adf nobs", c.Stat("ks_test", "adf_nobs"), d.Adf.Observations, 0);
            }
        }
        Assert.True(problems.Count == 0, $"{problems.Count} differences:\n" + string.Join('\n', problems.Take(80)));
    }
}
