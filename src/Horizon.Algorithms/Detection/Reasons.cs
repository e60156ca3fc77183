using System.Globalization;

namespace Horizon.Algorithms.Detection;

/// <summary>Why a point was found anomalous, in words people read (the page, alerts, the history):
/// every reason text is built here.</summary>
public static class Reasons
{
    /// <summary>Each detector that scored at least <paramref name="min"/>, the strongest first; then
    /// the flatline, the calibration and the recurrence when they apply.</summary>
    public static List<string> Of(Judgement judgement, string? unit, double calibrationSeconds, double min = 0.25)
    {
        var reasons = judgement.Scores.ToArray().Where(s => s.Score >= min).OrderByDescending(s => s.Score).Select(s => Of(s, unit)).ToList();
        if (judgement.Flatline is { Crossed: true } flat)
        {
            reasons.Add(FormattableString.Invariant($"flatline: held at {flat.Value:G6}{unit} for {flat.Seconds / 3600:F1} h, longer than any run of one value in the roll-ups ({flat.RecordSeconds / 3600:F1} h)"));
        }
        if (judgement.JudgementRate > 1)
        {
            reasons.Add(FormattableString.Invariant($"calibrated: sampled every {calibrationSeconds / judgement.JudgementRate:G3} s, {judgement.JudgementRate:G3}x as often as the {calibrationSeconds:G6} s the threshold is set for, so each deviation is scored by how rare it is per day"));
        }
        if (judgement.Counter)
        {
            reasons.Add("counter: it only grows (restarts from zero), so it is judged by its increase per point; the expected values above are increases");
        }
        if (judgement.RecurringDays > 0)
        {
            reasons.Add(FormattableString.Invariant($"recurs: a like excursion at this time of day on {judgement.RecurringDays} previous days (score damped)"));
        }
        return reasons;
    }

    /// <summary>One detector's view: "level: expected 120, 7.9 sigma up"; "sustained: recent mean
    /// expected 120, 5.2 sigma up"; "volatility: recent mean step expected 1.2, 6.0 sigma up". A model
    /// whose spread collapsed on a flat series can be millions of sigmas out; that reads "over 1000 sigma".</summary>
    public static string Of(DetectorScore score, string? unit) =>
        FormattableString.Invariant($"{score.Detector.Name()}: {score.Detector switch { Detector.Sustained => "recent mean ", Detector.Volatility => "recent mean step ", _ => "" }}expected {score.Expected:G4}{unit}, {(Math.Abs(score.Deviation) < 1000 ? Math.Abs(score.Deviation).ToString("F1", CultureInfo.InvariantCulture) : "over 1000")} sigma {(score.Deviation >= 0 ? "up" : "down")}");

    /// <summary>An exhaustion forecast: the drift and when it reaches the capacity.</summary>
    public static string Exhaustion(DriftFinding drift, string? unit, double? capacity, double secondsToCapacity) =>
        FormattableString.Invariant($"drift: {drift.SlopePerDay:G4}{unit} a day ({drift.TrendZ:F1} sigma over the roll-ups); reaches {capacity:G6}{unit} in {secondsToCapacity / 86400:F1} days");
}
