using System.Globalization;
using System.Text;
using Horizon.Algorithms.Evaluation;
using Horizon.Analyzer.Incidents;

namespace Horizon.Nab;

/// <summary>
/// What "not anomalous" feedback would do to a configuration's findings (<c>--teach T</c>): each
/// file replayed in time; a row scoring at least T is a finding unless its last half hour moved
/// like a shape taught before (<see cref="TaughtShapes"/>); the on-call engineer marks every false
/// alarm they see (a finding outside the labelled windows) "not anomalous", which teaches its
/// shape. Counts the false alarms before and after, and what it would have hidden: findings inside
/// windows suppressed, and windows no longer found at all.
/// </summary>
internal static class Teach
{
    public static string Replay(IReadOnlyList<NabFile> files, double[][] scores, double threshold, string name)
    {
        int falseBefore = 0, falseAfter = 0, trueBefore = 0, trueHidden = 0, windowsBefore = 0, windowsAfter = 0, taught = 0, windows = 0;
        for (var f = 0; f < files.Count; f++)
        {
            var file = files[f];
            var shapes = new TaughtShapes([]);
            var hitBefore = new bool[file.Windows.Count];
            var hitAfter = new bool[file.Windows.Count];
            windows += file.Windows.Count;
            for (var i = 0; i < file.Values.Length; i++)
            {
                if (!(scores[f][i] >= threshold))
                {
                    continue;
                }
                var t = file.Timestamps[i];
                var window = -1;
                for (var w = 0; w < file.Windows.Count; w++)
                {
                    window = t >= file.Windows[w].Start && t <= file.Windows[w].End ? w : window;
                }
                var movement = Movement.Of(file.Timestamps.AsSpan(0, i + 1), file.Values.AsSpan(0, i + 1));
                var suppressed = shapes.Match(file.RelativePath, movement) is not null;
                if (window >= 0)
                {
                    trueBefore++;
                    hitBefore[window] = true;
                    trueHidden += suppressed ? 1 : 0;
                    hitAfter[window] |= !suppressed;
                    continue;
                }
                falseBefore++;
                if (!suppressed)
                {
                    falseAfter++;
                    if (movement is not null)
                    {
                        shapes.Add(new TaughtShape($"t{taught++}", file.RelativePath, movement.EndBin, movement.Means.ToArray(), t, "replay", null));
                    }
                }
            }
            windowsBefore += hitBefore.Count(h => h);
            windowsAfter += hitAfter.Count(h => h);
        }
        var c = CultureInfo.InvariantCulture;
        var report = new StringBuilder();
        report.AppendLine(c, $"### \"Not anomalous\" feedback replayed ({name}, threshold {threshold})");
        report.AppendLine();
        report.AppendLine("Every false alarm shown is marked \"not anomalous\"; later findings whose half hour moved like a marked one are not shown.");
        report.AppendLine();
        report.AppendLine("| | before | after |");
        report.AppendLine("|---|---:|---:|");
        report.AppendLine(c, $"| false alarms shown | {falseBefore} | {falseAfter} |");
        report.AppendLine(c, $"| findings inside windows shown | {trueBefore} | {trueBefore - trueHidden} |");
        report.AppendLine(c, $"| windows found (of {windows}) | {windowsBefore} | {windowsAfter} |");
        report.AppendLine(c, $"| shapes taught | | {taught} |");
        return report.ToString();
    }
}
