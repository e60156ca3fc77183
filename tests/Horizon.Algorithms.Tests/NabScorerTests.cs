using Horizon.Algorithms.Evaluation;

namespace Horizon.Algorithms.Tests;

public sealed class NabScorerTests
{
    private static readonly double MaxTp = 2 / (1 + Math.Exp(-5.0)) - 1;

    // 20 rows one minute apart; probation = floor(0.15 * 20) = 3 rows; one window over rows 8..11.
    private static NabFile SmallFile(params NabWindow[] windows) => SmallFile("hand", "small", windows);

    private static NabFile SmallFile(string category, string name, params NabWindow[] windows) => new()
    {
        Category = category,
        Name = name,
        Timestamps = [.. Enumerable.Range(0, 20).Select(i => 1_000_000L + 60 * i)],
        TimestampText = [.. Enumerable.Range(0, 20).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture))],
        Values = new double[20],
        Windows = windows,
    };

    private static NabWindow Rows(int first, int last) => new(1_000_000L + 60 * first, 1_000_000L + 60 * last);

    private static double[] DetectAt(params int[] rows)
    {
        var scores = new double[20];
        foreach (var r in rows)
        {
            scores[r] = 1.0;
        }
        return scores;
    }

    [Fact]
    public void ScaledSigmoidMatchesThePublishedPoints()
    {
        Assert.Equal(0.98661, NabScorer.ScaledSigmoid(-1.0), 5);
        Assert.Equal(0.84828, NabScorer.ScaledSigmoid(-0.5), 5);
        Assert.Equal(0.0, NabScorer.ScaledSigmoid(0.0), 12);
        Assert.Equal(-0.98661, NabScorer.ScaledSigmoid(1.0), 5);
        Assert.Equal(-1.0, NabScorer.ScaledSigmoid(3.0));
    }

    [Fact]
    public void ProbationIsFifteenPercentCappedAt750Rows()
    {
        Assert.Equal(3, NabScorer.ProbationLength(20));
        Assert.Equal(150, NabScorer.ProbationLength(1000));
        Assert.Equal(750, NabScorer.ProbationLength(22695));
    }

    [Fact]
    public void EarliestDetectionInAWindowEarnsItsSigmoidWeightAndLaterOnesAddNothing()
    {
        var file = SmallFile(Rows(8, 11));
        // Detected at rows 9 and 10: only row 9 counts. Width 4, right edge 11: p = -(11 - 9 + 1) / 4.
        var result = NabScorer.ScoreFile(file, DetectAt(9, 10), NabProfile.Standard, 0.5);
        var expected = (2 / (1 + Math.Exp(-5 * 0.75)) - 1) / MaxTp;
        Assert.Equal(expected, result.RawScore, 12);
        Assert.Equal(1, result.WindowsHit);
        Assert.Equal(2, result.TruePositiveRows);
        Assert.Equal(0, result.FalsePositiveRows);
        Assert.Equal(100 * (expected + 1) / 2, result.Normalized, 10);
    }

    [Fact]
    public void AMissedWindowCostsTheFnWeightAndAFalsePositiveBeforeAnyWindowCostsTheFpWeight()
    {
        var file = SmallFile(Rows(8, 11));
        var result = NabScorer.ScoreFile(file, DetectAt(5), NabProfile.LowFalseNegatives, 0.5);
        Assert.Equal(-2.0 - 0.11, result.RawScore, 12);
        Assert.Equal(-2.0, result.NullScore);
        Assert.Equal(0, result.WindowsHit);
        Assert.Equal(1, result.FalsePositiveRows);
    }

    [Fact]
    public void AFalsePositiveAfterAWindowIsDiscountedByItsDistance()
    {
        var file = SmallFile(Rows(8, 11));
        // Row 13 is 2 rows past the right edge (11) of a 4-row window: sigmoid position 2 / (4 - 1).
        var result = NabScorer.ScoreFile(file, DetectAt(8, 13), NabProfile.LowFalsePositives, 0.5);
        var tp = (2 / (1 + Math.Exp(-5 * 1.0)) - 1) / MaxTp;
        var fp = 0.22 * (2 / (1 + Math.Exp(5 * (2.0 / 3))) - 1);
        Assert.Equal(tp + fp, result.RawScore, 12);
        Assert.True(fp < 0);
    }

    [Fact]
    public void RowsInProbationAreNotScoredAndAWindowInsideItIsNotCounted()
    {
        var file = SmallFile(Rows(0, 2), Rows(8, 11));
        var result = NabScorer.ScoreFile(file, DetectAt(1, 2), NabProfile.Standard, 0.5);
        Assert.Equal(1, result.Windows);
        Assert.Equal(-1.0, result.RawScore, 12);
        Assert.Equal(0, result.TruePositiveRows + result.FalsePositiveRows);
    }

    [Fact]
    public void TheSweepPicksTheThresholdWithTheBestTotal()
    {
        var file = SmallFile(Rows(8, 11));
        var scores = new double[20];
        scores[9] = 0.9;  // inside the window
        scores[15] = 0.8; // a false positive past it
        scores[4] = 0.95; // a false positive before any window
        var rows = new List<NabRow>();
        NabScorer.SweepRows(file, scores, NabProfile.Standard, 0, rows);
        var byThreshold = NabScorer.ScoreByThreshold(rows, NabProfile.Standard);
        Assert.Equal(1.1, byThreshold[0].Threshold);
        Assert.Equal(-1.0, byThreshold[0].Score, 12);
        var best = NabScorer.OptimalThreshold(rows, NabProfile.Standard);
        // At 0.9 the window is hit (earning more than the 0.11 the 0.95 row costs); 0.8 only adds a cost.
        Assert.Equal(0.9, best.Threshold);
        var tp = (2 / (1 + Math.Exp(-5 * 0.75)) - 1) / MaxTp;
        Assert.Equal(tp - 0.11, best.Score, 12);
        Assert.Equal(1, best.TruePositiveRows);
        Assert.Equal(1, best.FalsePositiveRows);
    }

    [Fact]
    public void HeldOutScoringScoresEachFileAtTheThresholdBestForTheOthers()
    {
        // A's window is found at 0.6 only; B's at 0.9, with a false positive at 0.6 after it.
        var a = SmallFile(Rows(8, 11));
        var b = SmallFile(Rows(8, 11));
        var scoresA = new double[20];
        scoresA[9] = 0.6;
        var scoresB = new double[20];
        scoresB[9] = 0.9;
        scoresB[15] = 0.6;
        var (thresholds, perFile) = NabScorer.ScoreHeldOut([a, b], [scoresA, scoresB], NabProfile.Standard);
        // Alone, B is best at 0.9 (the window without the false positive), A at 0.6.
        Assert.Equal([0.9, 0.6], thresholds);
        Assert.Equal(-1.0, perFile[0].RawScore, 12); // A at 0.9: its window missed
        Assert.Equal(0, perFile[0].WindowsHit);
        var bAtA = NabScorer.ScoreFile(b, scoresB, NabProfile.Standard, 0.6);
        Assert.Equal(bAtA.RawScore, perFile[1].RawScore, 12);
        Assert.Equal(1, perFile[1].FalsePositiveRows);
        // Both thresholds chosen on the pair instead (0.6) find both windows.
        var (_, together) = NabScorer.ScoreCorpus([a, b], [scoresA, scoresB], NabProfile.Standard);
        Assert.Equal(2, together.Sum(r => r.WindowsHit));
    }

    public static TheoryData<string, double, double, int, int, double> ReferenceFigures => new()
    {
        { "standard", 0.857142857143, -17.868926622967045, 294, 108, 33.76 },
        { "reward_low_FP_rate", 1.0, -27.07490213110718, 38, 15, 25.39 },
        { "reward_low_FN_rate", 0.857142857143, -46.86892662296705, 294, 108, 38.26 },
    };

    [Theory]
    [MemberData(nameof(ReferenceFigures))]
    public void ReproducesNABsOwnFiguresForThePublishedSkylineResults(string profileName, double threshold, double raw, int tpRows, int fpRows, double normalized)
    {
        var root = Path.Combine(SharedData.Root, "nab");
        var files = NabCorpus.Load(root);
        var scores = files.Select(f => NabCorpus.ReadScores(
            Path.Combine(root, "reference", "skyline", f.Category, $"skyline_{f.Name}.csv"), f)).ToArray();
        var profile = NabProfile.All.Single(p => p.Name == profileName);

        var (best, perFile) = NabScorer.ScoreCorpus(files, scores, profile);
        var total = perFile.Aggregate((a, b) => a + b);

        Assert.Equal(threshold, best.Threshold, 12);
        Assert.Equal(raw, best.Score, 9);
        Assert.Equal(raw, total.RawScore, 9);
        Assert.Equal(tpRows, total.TruePositiveRows);
        Assert.Equal(fpRows, total.FalsePositiveRows);
        Assert.Equal(-profile.FnWeight * files.Sum(f => f.Windows.Count), total.NullScore);
        Assert.Equal(normalized, Math.Round(total.Normalized, 2));
    }

    [Fact]
    public void LeavingACategoryOutScoresItAtTheThresholdTheOtherCategoriesChose()
    {
        // Category "loud": its window's row scores 0.9 and a row outside scores 0.5. Category
        // "quiet": its window's row scores 0.6, nothing else. Chosen on "quiet" alone the threshold
        // is 0.6, which catches "loud"'s window without its false positive; chosen on "loud" alone
        // it is above 0.5, at 0.9, which misses "quiet"'s window.
        var loud = SmallFile("loud", "small", Rows(8, 11));
        var quiet = SmallFile("quiet", "other", Rows(8, 11));
        var loudScores = new double[20];
        loudScores[9] = 0.9;
        loudScores[15] = 0.5;
        var quietScores = new double[20];
        quietScores[9] = 0.6;
        var folds = NabScorer.ScoreGroupsHeldOut([loud, quiet], [loudScores, quietScores], NabProfile.Standard, f => f.Category);

        Assert.Equal(["loud", "quiet"], folds.Select(f => f.Group));
        var loudFold = folds[0];
        Assert.Equal(0.6, loudFold.Threshold);
        Assert.Equal((1, 0), (loudFold.Result.WindowsHit, loudFold.Result.FalsePositiveRows));
        var quietFold = folds[1];
        Assert.Equal(0.9, quietFold.Threshold);
        Assert.Equal(0, quietFold.Result.WindowsHit);
        // The held-out results are each category's own files only.
        Assert.Equal((1, 1), (loudFold.Result.Windows, quietFold.Result.Windows));
    }
}
