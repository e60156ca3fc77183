using System.Globalization;
using System.Runtime.InteropServices;
using Horizon.Algorithms.Detection;
using Horizon.Algorithms.Kernels;

namespace Horizon.Analyzer.Deploys;

/// <summary>One KPI after one deploy: its level before and after, how many of its usual spreads
/// it moved, and what that makes it.</summary>
public sealed record KpiVerdict(string Metric, string Verdict, double? Before, double? After, double? Spread, double? Spreads, string Reason);

/// <summary>A deploy's verdict: the worst of its KPIs' (<c>ok</c>, <c>suspect</c>, <c>bad</c>;
/// <c>no_data</c> when no KPI had points on both sides; <c>pending</c> until the window ends).</summary>
public sealed record DeployVerdict(string EventId, string What, long When, string Verdict, long DecidesAt, long? DecidedAt,
    IReadOnlyList<KpiVerdict> Kpis, int KpisLeftOut = 0)
{
    /// <summary>Verdicts from best to worst.</summary>
    public static readonly string[] Order = ["no_data", "ok", "suspect", "bad"];
}

/// <summary>Compares a KPI's points after a deploy with the stretch before it: the median after
/// against the median before, in units of the robust spread before (1.4826 x the median absolute
/// deviation, at least 0.1 % of the level so a flat KPI is not "infinitely" moved by noise), counted
/// only in the KPI's bad direction (its metadata; both by default).</summary>
public static class DeployJudge
{
    /// <summary>Fewest points on each side for a judgement.</summary>
    public const int MinBefore = 10;

    /// <summary>See <see cref="MinBefore"/>.</summary>
    public const int MinAfter = 3;

    /// <summary>Judges one KPI from its (timestamp-ordered) points.</summary>
    /// <param name="expected">For a seasonal KPI, the change the same time a period ago saw over
    /// the same stretches (from its roll-ups) and where it comes from: the move counted is the part
    /// beyond it.</param>
    public static KpiVerdict Judge(string metric, ReadOnlySpan<long> ts, ReadOnlySpan<double> vs, long when, DeployOptions options, BadDirection direction,
        (double Change, string From)? expected = null)
    {
        var before = new List<double>();
        var after = new List<double>();
        var from = when - (long)options.Baseline.TotalSeconds;
        var until = when + (long)options.Window.TotalSeconds;
        for (var i = 0; i < ts.Length; i++)
        {
            if (ts[i] >= from && ts[i] < when)
            {
                before.Add(vs[i]);
            }
            else if (ts[i] >= when && ts[i] <= until)
            {
                after.Add(vs[i]);
            }
        }
        if (before.Count < MinBefore || after.Count < MinAfter)
        {
            return new KpiVerdict(metric, "no_data", null, null, null, null,
                string.Create(CultureInfo.InvariantCulture, $"{metric}: {before.Count} points before and {after.Count} after, too few to judge"));
        }
        var scratch = new double[before.Count];
        var level = Selection.Median(CollectionsMarshal.AsSpan(before), scratch);
        var mad = Selection.AbsoluteDeviationMedian(CollectionsMarshal.AsSpan(before), level, new double[before.Count], scratch);
        var spread = Math.Max(1.4826 * mad, Math.Max(Math.Abs(level) * 1e-3, 1e-9));
        var now = Selection.Median(CollectionsMarshal.AsSpan(after), new double[after.Count]);
        var moved = (now - level - (expected?.Change ?? 0)) / spread;
        var counted = direction switch
        {
            BadDirection.Up => Math.Max(moved, 0),
            BadDirection.Down => Math.Max(-moved, 0),
            _ => Math.Abs(moved),
        };
        var verdict = counted >= options.BadSpreads ? "bad" : counted >= options.SuspectSpreads ? "suspect" : "ok";
        var reason = string.Create(CultureInfo.InvariantCulture,
            $"{metric}: {now:G4} after vs {level:G4} ± {spread:G3} before{(expected is { } e ? $", {e.Change:+0.###;-0.###} expected from {e.From}" : "")} ({moved:+0.0;-0.0} spreads{(direction == BadDirection.Both ? "" : ", bad " + direction.ToString().ToLowerInvariant())})");
        return new KpiVerdict(metric, verdict, level, now, spread, Math.Round(moved, 2), reason);
    }

    /// <summary>The worst of the KPIs' verdicts.</summary>
    public static string Worst(IEnumerable<KpiVerdict> kpis) =>
        kpis.Select(k => k.Verdict).DefaultIfEmpty("no_data").MaxBy(v => Array.IndexOf(DeployVerdict.Order, v))!;
}
