using System.Globalization;
using System.Text;
using Horizon.Algorithms.Detection;
using Horizon.Algorithms.Evaluation;
using Horizon.Algorithms.Skyline;

namespace Horizon.Nab;

/// <summary>Turns a file's rows, fed one at a time, into one anomaly score per row.</summary>
internal interface IScoreStream
{
    /// <summary>One score per row; with <paramref name="explanations"/>, why, per row (empty when nothing scored).</summary>
    double[] Score(NabFile file, string[]? explanations = null);
}

/// <summary>A named detector configuration.</summary>
internal sealed record Configuration(string Name, Func<IScoreStream> NewStream)
{
    public static Configuration Create(string name, EnsembleSettings settings, long fullDuration)
    {
        if (name == "skyline")
        {
            // The score is the share of yes votes, so every algorithm must vote.
            var skyline = new SkylineSettings { FullDuration = fullDuration, StopWhenDecided = false };
            skyline.Validate();
            return new(name, () => new SkylineStream(new SkylineAnalyzer(skyline), fullDuration));
        }
        settings.Validate();
        if (name == "ensemble")
        {
            return new(name, () => new EnsembleStream(new EnsembleDetector(settings), fullDuration));
        }
        if (DetectorNames.TryParse(name, out var detector))
        {
            // The refractory period and the pre-screen work from the ensemble's Threshold (the
            // pre-screen's scores are exact only below it), which is not a lone detector's: each
            // gets its own threshold from the sweep, so both are off for them. The flatline check
            // is the ensemble's, not a detector's: off too, so a lone detector is only itself.
            var alone = settings with { Detectors = [detector], Refractory = 0, ScreenPoints = 0, FlatlineMinSeconds = 0 };
            return new(name, () => new EnsembleStream(new EnsembleDetector(alone), fullDuration));
        }
        throw new ArgumentException($"unknown detector configuration '{name}'; known: skyline, ensemble, {string.Join(", ", DetectorNames.All)}");
    }
}

/// <summary>
/// What the analyzer would see at each row: the points of the last FULL_DURATION (as Roomba keeps
/// them in Redis), the judged point last.
/// </summary>
internal abstract class WindowedStream(long fullDuration) : IScoreStream
{
    public double[] Score(NabFile file, string[]? explanations = null)
    {
        var scores = new double[file.Values.Length];
        var start = 0;
        for (var i = 0; i < scores.Length; i++)
        {
            var now = file.Timestamps[i];
            while (file.Timestamps[start] <= now - fullDuration)
            {
                start++;
            }
            Observe(now, file.Values[i]);
            scores[i] = Judge(file.Timestamps.AsSpan(start, i + 1 - start), file.Values.AsSpan(start, i + 1 - start), now);
            if (explanations is not null)
            {
                explanations[i] = Explain();
            }
        }
        return scores;
    }

    protected virtual void Observe(long timestamp, double value)
    {
    }

    protected abstract double Judge(ReadOnlySpan<long> timestamps, ReadOnlySpan<double> values, long now);

    /// <summary>Why the last judgement scored what it did ("" when there is nothing to say).</summary>
    protected virtual string Explain() => "";
}

/// <summary>Skyline's nine algorithms: the score is the share of yes votes (0 when a pre-check skips the series).</summary>
internal sealed class SkylineStream(SkylineAnalyzer analyzer, long fullDuration) : WindowedStream(fullDuration)
{
    protected override double Judge(ReadOnlySpan<long> timestamps, ReadOnlySpan<double> values, long now)
    {
        var verdict = analyzer.Analyze(timestamps, values, now);
        return verdict.Skipped != SkipReason.None || verdict.Errored ? 0 : (double)verdict.YesVotes / analyzer.Settings.Selected.Count;
    }
}

/// <summary>Horizon's ensemble (or one detector of it), with the metric's roll-up history grown row by row.</summary>
internal sealed class EnsembleStream(EnsembleDetector detector, long fullDuration) : WindowedStream(fullDuration)
{
    private const int MinSlotSeconds = 600; // the analyzer's defaults: Analyzer:RollupSlotSeconds,
    private const int RetentionSlots = 2016; // and 14 days of them (Analyzer:RollupRetention)

    private readonly Judgement _judgement = new();
    // As the analyzer keeps it, except that NoveltyPoints 0 means no novelty filter (nor pre-screen) at all.
    private readonly EnsembleState _state = new(null, detector.Settings.NoveltyPoints > 0 ? NoveltyFilter.For(detector.Settings) : null);

    protected override void Observe(long timestamp, double value) => _state.Rollup?.Add(timestamp, value);

    protected override double Judge(ReadOnlySpan<long> timestamps, ReadOnlySpan<double> values, long now)
    {
        // As the analyzer does: the roll-ups are sized (to the analyzer's default slot, or the
        // sampling interval when coarser) once the series shows its interval, from the points so far.
        if (_state.Rollup is null && RollupHistory.SizedFor(timestamps, MinSlotSeconds, RetentionSlots) is { } sized)
        {
            for (var i = 0; i < timestamps.Length; i++)
            {
                sized.Add(timestamps[i], values[i]);
            }
            _state.Rollup = sized;
        }
        detector.Judge(timestamps, values, _state, MetricMetadata.Default, _judgement);
        return _judgement.Score;
    }

    protected override string Explain()
    {
        var j = _judgement;
        if (j.RawScore <= 0 && j.Drift is null)
        {
            return "";
        }
        var text = new StringBuilder("raw ").Append(j.RawScore.ToString("F3", CultureInfo.InvariantCulture));
        foreach (var score in j.Scores)
        {
            text.Append(CultureInfo.InvariantCulture, $"; {score.Score:F3} {score.Reason(null)}");
        }
        if (j.Screened)
        {
            text.Append("; screened");
        }
        if (j.SeasonalPeriod > 0)
        {
            text.Append(CultureInfo.InvariantCulture, $"; seasonal {j.SeasonalPeriod} s");
        }
        if (j.JudgementRate > 1)
        {
            text.Append(CultureInfo.InvariantCulture, $"; calibrated at {j.JudgementRate:G3}x");
        }
        if (j.RecurringDays > 0)
        {
            text.Append(CultureInfo.InvariantCulture, $"; recurs on {j.RecurringDays} days");
        }
        if (j.Flatline is { Crossed: true } flat)
        {
            text.Append(CultureInfo.InvariantCulture, $"; flatline {flat.Seconds:F0} s");
        }
        if (j.Drift is { } drift)
        {
            text.Append(CultureInfo.InvariantCulture, $"; drift {drift.SlopePerDay:G4} a day");
        }
        return text.ToString();
    }
}

/// <summary>The score tables: all profiles overall (held out and at a fixed threshold when asked), then each category per profile.</summary>
internal static class Report
{
    public static string Build(IReadOnlyList<NabFile> files, IReadOnlyList<string> names, double[][][] scores, bool heldOut = false, double? threshold = null, bool byCategory = false)
    {
        var text = new StringBuilder();
        var results = new Dictionary<(int Config, NabProfile Profile), (NabThresholdScore Best, NabResult[] PerFile)>();
        for (var c = 0; c < names.Count; c++)
        {
            foreach (var profile in NabProfile.All)
            {
                results[(c, profile)] = NabScorer.ScoreCorpus(files, scores[c], profile);
            }
        }
        var windows = files.Sum(f => f.Windows.Count);
        text.AppendLine(CultureInfo.InvariantCulture, $"## NAB scores: {files.Count} files, {windows} windows (threshold optimised per detector and profile over the corpus)");
        text.AppendLine();
        OverallHeader(text, extra: null);
        for (var c = 0; c < names.Count; c++)
        {
            OverallRow(text, names[c], p => results[(c, p)].PerFile, extra: null);
        }
        if (heldOut)
        {
            text.AppendLine();
            text.AppendLine("### Threshold chosen without the file scored (leave one file out)");
            text.AppendLine();
            text.AppendLine("Each file scored at the threshold optimal over the other files; the detectors' settings are as above.");
            text.AppendLine();
            OverallHeader(text, extra: "thresholds (standard)");
            for (var c = 0; c < names.Count; c++)
            {
                var byProfile = NabProfile.All.ToDictionary(p => p, p => NabScorer.ScoreHeldOut(files, scores[c], p));
                var thresholds = byProfile[NabProfile.Standard].Thresholds;
                OverallRow(text, names[c], p => byProfile[p].PerFile, string.Create(CultureInfo.InvariantCulture, $"{thresholds.Min():G4} to {thresholds.Max():G4}"));
            }
        }
        if (byCategory)
        {
            CategoriesHeldOut(text, files, names, scores);
        }
        if (threshold is { } at)
        {
            text.AppendLine();
            text.AppendLine(CultureInfo.InvariantCulture, $"### Scored at threshold {at:G6}");
            text.AppendLine();
            text.AppendLine("Every row scoring at least the threshold is a detection, in every file and profile; no sweep.");
            text.AppendLine();
            OverallHeader(text, extra: null);
            for (var c = 0; c < names.Count; c++)
            {
                var config = scores[c];
                OverallRow(text, names[c], p => [.. files.Select((f, i) => NabScorer.ScoreFile(f, config[i], p, at))], extra: null);
            }
        }
        foreach (var profile in NabProfile.All)
        {
            text.AppendLine();
            text.AppendLine(CultureInfo.InvariantCulture, $"### {profile.Name} (tp {profile.TpWeight}, fn {profile.FnWeight}, fp {profile.FpWeight}) by category");
            text.AppendLine();
            text.AppendLine("| category | detector | threshold | score | windows hit | TP rows | FP rows |");
            text.AppendLine("|---|---|---:|---:|---:|---:|---:|");
            foreach (var category in files.Select(f => f.Category).Distinct())
            {
                for (var c = 0; c < names.Count; c++)
                {
                    var (best, perFile) = results[(c, profile)];
                    var total = Total(perFile.Where((_, f) => files[f].Category == category));
                    var score = total.Windows == 0 ? "-" : total.Normalized.ToString("F2", CultureInfo.InvariantCulture);
                    text.AppendLine(CultureInfo.InvariantCulture, $"| {category} | {names[c]} | {best.Threshold:G6} | {score} | {total.WindowsHit}/{total.Windows} | {total.TruePositiveRows} | {total.FalsePositiveRows} |");
                }
            }
        }
        return text.ToString();
    }

    private static NabResult Total(IEnumerable<NabResult> results) => results.Aggregate((a, b) => a + b);

    // Leave one category out: per configuration, each category at the threshold optimal over the
    // others; then, over all configurations, the one (and its threshold) best on the others.
    private static void CategoriesHeldOut(StringBuilder text, IReadOnlyList<NabFile> files, IReadOnlyList<string> names, double[][][] scores)
    {
        var categories = files.Select(f => f.Category).Distinct().ToList();
        var folds = new IReadOnlyList<NabFold>[names.Count, NabProfile.All.Count];
        for (var c = 0; c < names.Count; c++)
        {
            for (var p = 0; p < NabProfile.All.Count; p++)
            {
                folds[c, p] = NabScorer.ScoreGroupsHeldOut(files, scores[c], NabProfile.All[p], f => f.Category);
            }
        }
        text.AppendLine();
        text.AppendLine("### Leave one category out");
        text.AppendLine();
        text.AppendLine("Each category scored at the threshold optimal over the other categories. *pooled*: the held-out results added up and normalised as one corpus (comparable to the tables above); *mean*: the mean of the categories' own normalised scores (those with windows); then each category's standard score and the threshold it got.");
        text.AppendLine();
        text.AppendLine("| detector | " + string.Join(" | ", NabProfile.All.Select(p => p.Name + " pooled")) + " | standard mean | " + string.Join(" | ", categories.Select(c => c + " (threshold)")) + " |");
        text.AppendLine("|---|" + string.Concat(NabProfile.All.Select(_ => "---:|")) + "---:|" + string.Concat(categories.Select(_ => "---:|")));
        for (var c = 0; c < names.Count; c++)
        {
            var row = Enumerable.Range(0, NabProfile.All.Count).Select(p => folds[c, p]).ToList();
            CategoryRow(text, names[c], row, categories);
        }
        if (names.Count > 1)
        {
            // The protocol proper: for each held-out category, the configuration and threshold that
            // score best on the other categories (by NAB's raw total there, the same files for all).
            var chosen = new List<IReadOnlyList<NabFold>>();
            var picks = new List<string>();
            for (var p = 0; p < NabProfile.All.Count; p++)
            {
                var byFold = new List<NabFold>();
                for (var k = 0; k < categories.Count; k++)
                {
                    var best = Enumerable.Range(0, names.Count).MaxBy(c => folds[c, p][k].Trained);
                    byFold.Add(folds[best, p][k]);
                    if (p == 0)
                    {
                        picks.Add($"{categories[k]}: {names[best]}");
                    }
                }
                chosen.Add(byFold);
            }
            CategoryRow(text, "chosen on the other categories", chosen, categories);
            text.AppendLine();
            text.AppendLine("Chosen (standard): " + string.Join("; ", picks));
        }
    }

    private static void CategoryRow(StringBuilder text, string name, List<IReadOnlyList<NabFold>> byProfile, List<string> categories)
    {
        var pooled = byProfile.Select(folds => Total(folds.Select(f => f.Result)).Normalized.ToString("F2", CultureInfo.InvariantCulture));
        var standard = byProfile[0];
        var withWindows = standard.Where(f => f.Result.Windows > 0).ToList();
        var mean = withWindows.Count == 0 ? double.NaN : withWindows.Average(f => f.Result.Normalized);
        var cells = categories.Select(c => standard.First(f => f.Group == c)).Select(f => f.Result.Windows > 0
            ? string.Create(CultureInfo.InvariantCulture, $"{f.Result.Normalized:F2} ({f.Threshold:G4})")
            : string.Create(CultureInfo.InvariantCulture, $"{f.Result.FalsePositiveRows} FP rows ({f.Threshold:G4})"));
        text.AppendLine(CultureInfo.InvariantCulture, $"| {name} | {string.Join(" | ", pooled)} | {mean:F2} | {string.Join(" | ", cells)} |");
    }

    // | detector | each profile | windows hit (standard) | FP rows (standard) | [extra] |
    private static void OverallHeader(StringBuilder text, string? extra)
    {
        text.AppendLine("| detector | " + string.Join(" | ", NabProfile.All.Select(p => p.Name)) + " | windows hit (standard) | FP rows (standard) |" + (extra is null ? "" : $" {extra} |"));
        text.AppendLine("|---|" + string.Concat(NabProfile.All.Select(_ => "---:|")) + "---:|---:|" + (extra is null ? "" : "---|"));
    }

    // One configuration's row, from its per-file results under each profile.
    private static void OverallRow(StringBuilder text, string name, Func<NabProfile, NabResult[]> perFile, string? extra)
    {
        var cells = NabProfile.All.Select(p => Total(perFile(p)).Normalized.ToString("F2", CultureInfo.InvariantCulture));
        var standard = Total(perFile(NabProfile.Standard));
        text.AppendLine(CultureInfo.InvariantCulture, $"| {name} | {string.Join(" | ", cells)} | {standard.WindowsHit}/{standard.Windows} | {standard.FalsePositiveRows} |{(extra is null ? "" : $" {extra} |")}");
    }
}
