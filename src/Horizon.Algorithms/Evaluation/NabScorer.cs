namespace Horizon.Algorithms.Evaluation;

/// <summary>A NAB scoring profile: the weight of a true positive, a missed window and a false positive.</summary>
public sealed record NabProfile(string Name, double TpWeight, double FnWeight, double FpWeight)
{
    /// <summary>NAB's standard profile.</summary>
    public static readonly NabProfile Standard = new("standard", 1.0, 1.0, 0.11);

    /// <summary>NAB's reward_low_FP_rate profile.</summary>
    public static readonly NabProfile LowFalsePositives = new("reward_low_FP_rate", 1.0, 1.0, 0.22);

    /// <summary>NAB's reward_low_FN_rate profile.</summary>
    public static readonly NabProfile LowFalseNegatives = new("reward_low_FN_rate", 1.0, 2.0, 0.11);

    /// <summary>The three published profiles.</summary>
    public static IReadOnlyList<NabProfile> All { get; } = [Standard, LowFalsePositives, LowFalseNegatives];
}

/// <summary>One scorable row: its detector score, what it would earn if detected, and its window (-1: none).</summary>
public readonly record struct NabRow(double AnomalyScore, double SweepScore, int Window);

/// <summary>The outcome of a threshold over a set of rows.</summary>
public readonly record struct NabThresholdScore(double Threshold, double Score, int TruePositiveRows, int FalsePositiveRows);

/// <summary>One file's (or category's) result at a fixed threshold.</summary>
public sealed record NabResult(double RawScore, double NullScore, int Windows, int WindowsHit, int TruePositiveRows, int FalsePositiveRows, double TpWeight)
{
    /// <summary>100 for a perfect detector, 0 for one that never fires.</summary>
    public double Normalized => Windows == 0 ? double.NaN : 100 * (RawScore - NullScore) / (Windows * TpWeight - NullScore);

    /// <summary>Sum of two results.</summary>
    public static NabResult operator +(NabResult a, NabResult b) =>
        new(a.RawScore + b.RawScore, a.NullScore + b.NullScore, a.Windows + b.Windows, a.WindowsHit + b.WindowsHit,
            a.TruePositiveRows + b.TruePositiveRows, a.FalsePositiveRows + b.FalsePositiveRows, a.TpWeight);
}

/// <summary>
/// NAB's scoring rules (numenta/NAB nab/sweeper.py and the threshold optimiser) as the corpus
/// README states them: probation, windows, scaled-sigmoid weighting, profiles, threshold sweep
/// over every distinct score and normalisation against the null detector.
/// </summary>
public static class NabScorer
{
    /// <summary>The fraction of a file's rows (at most 750) that are not scored.</summary>
    public const double ProbationPercent = 0.15;

    private static readonly double MaxTruePositive = ScaledSigmoid(-1.0);

    /// <summary>2*sigmoid(-5x) - 1, and -1 from 3 widths past a window on.</summary>
    public static double ScaledSigmoid(double relativePosition) =>
        relativePosition >= 3.0 ? -1.0 : (2 / (1 + Math.Exp(5 * relativePosition))) - 1.0;

    /// <summary>Rows at the start of a file that are not scored: min(floor(0.15 n), 0.15 * 5000).</summary>
    public static double ProbationLength(int rows) => Math.Min(Math.Floor(ProbationPercent * rows), ProbationPercent * 5000);

    /// <summary>
    /// Each scorable row of one file with what it earns if detected. Windows get ids from
    /// <paramref name="firstWindowId"/> on; returns the number of windows that have a scorable row.
    /// </summary>
    public static int SweepRows(NabFile file, IReadOnlyList<double> scores, NabProfile profile, int firstWindowId, List<NabRow> into)
    {
        var timestamps = file.Timestamps;
        if (scores.Count != timestamps.Length)
        {
            throw new ArgumentException($"{file.RelativePath}: {scores.Count} scores for {timestamps.Length} rows");
        }
        var probation = ProbationLength(timestamps.Length);
        var pending = 0;
        int current = -1, currentRight = -1;
        double currentWidth = 0;
        int previousRight = -1;
        double previousWidth = 0;
        var scorableWindows = new HashSet<int>();
        for (var i = 0; i < timestamps.Length; i++)
        {
            if (pending < file.Windows.Count && timestamps[i] == file.Windows[pending].Start)
            {
                var window = file.Windows[pending];
                current = firstWindowId + pending;
                currentRight = Array.IndexOf(timestamps, window.End);
                if (currentRight < 0)
                {
                    throw new InvalidDataException($"{file.RelativePath}: window end {window.End} is not a row timestamp");
                }
                currentWidth = currentRight - Array.IndexOf(timestamps, window.Start) + 1;
                pending++;
            }
            double weighted;
            if (current >= 0)
            {
                weighted = ScaledSigmoid(-(currentRight - i + 1) / currentWidth) * profile.TpWeight / MaxTruePositive;
            }
            else
            {
                var past = previousRight < 0 || previousWidth <= 1 ? 3.0 : Math.Abs(previousRight - i) / (previousWidth - 1);
                weighted = ScaledSigmoid(past) * profile.FpWeight;
            }
            if (i >= probation)
            {
                into.Add(new NabRow(scores[i], weighted, current));
                if (current >= 0)
                {
                    scorableWindows.Add(current);
                }
            }
            if (current >= 0 && timestamps[i] == file.Windows[pending - 1].End)
            {
                previousRight = i;
                previousWidth = currentWidth;
                current = -1;
            }
        }
        return scorableWindows.Count;
    }

    /// <summary>
    /// The score at every distinct threshold, highest first (the first entry, 1.1, detects nothing),
    /// as NAB's calcScoreByThreshold computes it.
    /// </summary>
    public static List<NabThresholdScore> ScoreByThreshold(IReadOnlyList<NabRow> rows, NabProfile profile)
    {
        var sorted = rows.OrderByDescending(r => r.AnomalyScore).ToArray();
        var windowBest = new Dictionary<int, double>();
        foreach (var row in sorted)
        {
            if (row.Window >= 0)
            {
                windowBest[row.Window] = -profile.FnWeight;
            }
        }
        var windowTotal = windowBest.Count * -profile.FnWeight;
        double falsePositives = 0;
        int tp = 0, fp = 0;
        var threshold = 1.1;
        var result = new List<NabThresholdScore>();
        foreach (var row in sorted)
        {
            if (row.AnomalyScore != threshold)
            {
                result.Add(new NabThresholdScore(threshold, windowTotal + falsePositives, tp, fp));
                threshold = row.AnomalyScore;
            }
            if (row.Window >= 0)
            {
                tp++;
                var best = windowBest[row.Window];
                if (row.SweepScore > best)
                {
                    windowTotal += row.SweepScore - best;
                    windowBest[row.Window] = row.SweepScore;
                }
            }
            else
            {
                fp++;
                falsePositives += row.SweepScore;
            }
        }
        result.Add(new NabThresholdScore(threshold, windowTotal + falsePositives, tp, fp));
        return result;
    }

    /// <summary>The threshold with the highest total over all rows (the highest such threshold on a tie).</summary>
    public static NabThresholdScore OptimalThreshold(IReadOnlyList<NabRow> rows, NabProfile profile)
    {
        var best = default(NabThresholdScore);
        var first = true;
        foreach (var candidate in ScoreByThreshold(rows, profile))
        {
            if (first || candidate.Score > best.Score)
            {
                best = candidate;
                first = false;
            }
        }
        return best;
    }

    /// <summary>One file's result when every row scoring at least <paramref name="threshold"/> is a detection.</summary>
    public static NabResult ScoreFile(NabFile file, IReadOnlyList<double> scores, NabProfile profile, double threshold)
    {
        var rows = new List<NabRow>(scores.Count);
        var windows = SweepRows(file, scores, profile, 0, rows);
        var best = new Dictionary<int, double>();
        double falsePositives = 0;
        int tp = 0, fp = 0;
        foreach (var row in rows)
        {
            if (row.AnomalyScore < threshold)
            {
                continue;
            }
            if (row.Window >= 0)
            {
                tp++;
                best[row.Window] = best.TryGetValue(row.Window, out var b) ? Math.Max(b, row.SweepScore) : row.SweepScore;
            }
            else
            {
                fp++;
                falsePositives += row.SweepScore;
            }
        }
        var raw = falsePositives + best.Values.Sum() - (windows - best.Count) * profile.FnWeight;
        return new NabResult(raw, -profile.FnWeight * windows, windows, best.Count, tp, fp, profile.TpWeight);
    }

    /// <summary>
    /// Scores a whole corpus as NAB does: one threshold for all files, the one maximising the
    /// total over every scorable row, then each file at that threshold.
    /// </summary>
    public static (NabThresholdScore Best, NabResult[] PerFile) ScoreCorpus(IReadOnlyList<NabFile> files, IReadOnlyList<double[]> scores, NabProfile profile)
    {
        var best = OptimalThreshold([.. RowsPerFile(files, scores, profile).SelectMany(r => r)], profile);
        var perFile = new NabResult[files.Count];
        for (var f = 0; f < files.Count; f++)
        {
            perFile[f] = ScoreFile(files[f], scores[f], profile, best.Threshold);
        }
        return (best, perFile);
    }

    // Each file's scorable rows, windows numbered across the corpus.
    private static List<NabRow>[] RowsPerFile(IReadOnlyList<NabFile> files, IReadOnlyList<double[]> scores, NabProfile profile)
    {
        var rows = new List<NabRow>[files.Count];
        var windowId = 0;
        for (var f = 0; f < files.Count; f++)
        {
            rows[f] = [];
            SweepRows(files[f], scores[f], profile, windowId, rows[f]);
            windowId += files[f].Windows.Count;
        }
        return rows;
    }

    /// <summary>
    /// Scores each file at the threshold that is optimal over all the other files (leave one file
    /// out): what the detector would score on a file whose labels played no part in choosing its
    /// threshold. The detector's own settings may still have been chosen on the whole corpus.
    /// </summary>
    public static (double[] Thresholds, NabResult[] PerFile) ScoreHeldOut(IReadOnlyList<NabFile> files, IReadOnlyList<double[]> scores, NabProfile profile)
    {
        var folds = ScoreFolds(files, scores, profile, [.. Enumerable.Range(0, files.Count)], [.. files.Select(f => f.RelativePath)]);
        return ([.. folds.Select(f => f.Threshold)], [.. folds.Select(f => f.Result)]);
    }

    /// <summary>
    /// Leave one group out (NAB's categories, say): for each group, the threshold optimal over the
    /// files of every other group, and the group's files scored at it. <c>Trained</c> is the total
    /// the threshold reached over the other groups (what a choice between configurations made
    /// without the group would go by).
    /// </summary>
    public static IReadOnlyList<NabFold> ScoreGroupsHeldOut(IReadOnlyList<NabFile> files, IReadOnlyList<double[]> scores, NabProfile profile, Func<NabFile, string> group)
    {
        var names = files.Select(group).ToList();
        var groups = names.Distinct().ToList();
        return ScoreFolds(files, scores, profile, [.. names.Select(n => groups.IndexOf(n))], groups);
    }

    // One fold per group (groupOf[f]: file f's group): the threshold optimal over the other groups'
    // rows, and the group's files scored at it.
    private static List<NabFold> ScoreFolds(IReadOnlyList<NabFile> files, IReadOnlyList<double[]> scores, NabProfile profile, int[] groupOf, List<string> groups)
    {
        var rowsOf = RowsPerFile(files, scores, profile);
        var folds = new List<NabFold>(groups.Count);
        for (var held = 0; held < groups.Count; held++)
        {
            var others = new List<NabRow>();
            for (var g = 0; g < files.Count; g++)
            {
                if (groupOf[g] != held)
                {
                    others.AddRange(rowsOf[g]);
                }
            }
            var trained = OptimalThreshold(others, profile);
            NabResult? result = null;
            for (var f = 0; f < files.Count; f++)
            {
                if (groupOf[f] == held)
                {
                    var one = ScoreFile(files[f], scores[f], profile, trained.Threshold);
                    result = result is null ? one : result + one;
                }
            }
            folds.Add(new NabFold(groups[held], trained.Threshold, trained.Score, result!));
        }
        return folds;
    }
}

/// <summary>One fold of a leave-one-group-out score: the group held out, the threshold chosen on
/// the others and the total it reached there, and the held-out group's result at that threshold.</summary>
public sealed record NabFold(string Group, double Threshold, double Trained, NabResult Result);
