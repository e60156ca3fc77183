using Horizon.Algorithms.Kernels;
using MathNet.Numerics.Distributions;

namespace Horizon.Algorithms.Detection;

/// <summary>Findings from the long-term roll-ups: a flatline, and a slow drift towards the capacity.</summary>
public sealed partial class EnsembleDetector
{
    // ---- flatline -------------------------------------------------------------------------------

    // A run start this rare makes fewer than one false flatline per 10,000 metric-days (issue 20's
    // aim) even for a metric sampled every second whose every point starts a run (86,400 a day).
    private const double FlatlineRarity = 1e-9;

    /// <summary>How long the last value has been held exactly (through the roll-ups when the run is
    /// older than the points given), against the longest run of one value in the roll-ups before it.
    /// Uses and updates the run measured at the history's previous judgement.</summary>
    private FlatlineFinding? Flatline(ReadOnlySpan<long> t, ReadOnlySpan<double> v, RollupHistory history, RollupResults rollups)
    {
        var value = v[^1];
        if (v.Length < 2 || v[^2] != value || !double.IsFinite(value))
        {
            return null;
        }
        // Walk back over the points not seen before; a run measured earlier resumes where it was. A
        // gap of more than ten sampling intervals ends a run: a collector that was away says nothing
        // about the value holding meanwhile.
        var cached = rollups.FlatRun;
        var interval = RollupHistory.MedianInterval(t);
        var gap = 10 * interval;
        var i = v.Length - 1;
        while (i > 0 && v[i - 1] == value && t[i] - t[i - 1] <= gap && t[i - 1] > cached.CheckedUntil)
        {
            i--;
        }
        long start;
        if (i > 0 && v[i - 1] == value && t[i] - t[i - 1] <= gap && cached.Value == value)
        {
            start = cached.Start;
        }
        else
        {
            start = t[i];
            if (i == 0)
            {
                // Held through every point given: the roll-ups tell how long before that.
                var f = (float)value;
                var slot = history.SlotOf(start) - 1;
                while (history.At(slot) == f)
                {
                    slot--;
                }
                start = Math.Min(start, (slot + 1) * history.SlotSeconds);
            }
        }
        var prior = cached.Value == value && cached.Start == start
            ? (t[^1] == cached.CheckedUntil ? cached.PriorCheck : cached.CheckedUntil)
            : long.MinValue;
        rollups.FlatRun = (value, start, t[^1], prior);
        var seconds = (double)(t[^1] - start);
        if (seconds < _settings.FlatlineMinSeconds)
        {
            return null;
        }
        var before = (int)Math.Clamp(history.SlotOf(start) - history.FirstSlot, 0, history.Count);
        if (before * (double)history.SlotSeconds < 2 * 86400.0)
        {
            return null;
        }
        if (rollups.FlatRecord.FirstSlot != history.FirstSlot || rollups.FlatRecord.Before != before)
        {
            rollups.FlatRecord = (history.FirstSlot, before, LongestRun(history.Slots[..before]));
        }
        // The longest run the roll-ups show, with what it may have covered of the slots at either
        // end (a run of L whole slots of points every interval lasted up to L slots plus a slot
        // less one interval at each end).
        var slots = rollups.FlatRecord.Slots;
        var record = slots > 0 ? (slots * (double)history.SlotSeconds) + (2.0 * Math.Max(0, history.SlotSeconds - interval)) : 0;
        // Reported on the first judgement of the run past the record: the one that passed it, or,
        // for an analyzer that was not judging then (just started), the first it makes.
        // A metric that rests at this value between bursts (an error count at 0) has quiet spells
        // as its habit, and their record keeps being broken: past the record, the spell must also be
        // rarer than one in FlatlineRarity if each point left the value independently at the rate
        // the points before the run did.
        if (!(seconds > record) || Math.Pow(RestingShare(t, v, value, start, _settings.Window), seconds / interval) >= FlatlineRarity)
        {
            return null;
        }
        return new FlatlineFinding(value, seconds, record, prior == long.MinValue || prior - start <= record);
    }

    // The share of the last (at most) window points before the run that equal its value: the
    // metric's recent habit, not that of every point given (a FULL_DURATION longer than the
    // window may reach back to before a deploy moved where it rests).
    private static double RestingShare(ReadOnlySpan<long> t, ReadOnlySpan<double> v, double value, long start, int window)
    {
        var end = t.BinarySearch(start);
        end = end < 0 ? ~end : end;
        var before = v[Math.Max(0, end - window)..end];
        var equal = 0;
        foreach (var x in before)
        {
            equal += x == value ? 1 : 0;
        }
        return before.Length == 0 ? 0 : (double)equal / before.Length;
    }

    // The longest run of one (non-empty) slot mean.
    private static long LongestRun(ReadOnlySpan<float> slots)
    {
        long longest = 0, run = 0;
        for (var i = 0; i < slots.Length; i++)
        {
            run = i > 0 && slots[i] == slots[i - 1] && !float.IsNaN(slots[i]) ? run + 1 : 1;
            longest = Math.Max(longest, run);
        }
        return longest;
    }

    // ---- drift ----------------------------------------------------------------------------------

    /// <summary>A slow trend: the median of the last quarter of the roll-ups against the first
    /// quarter, in robust sigmas of the quarters' own spread; with a capacity, when it is reached.</summary>
    private DriftFinding? Drift(RollupHistory history, RollupResults rollups, double last, MetricMetadata metadata)
    {
        if (history.Days < _settings.DriftMinDays)
        {
            return null;
        }
        if (rollups.DriftAt != history.EndSlot)
        {
            rollups.DriftAt = history.EndSlot;
            rollups.Drift = DriftStatistics(history);
        }
        var (m1, m2, z) = rollups.Drift;
        if (!(Math.Abs(z) >= _settings.DriftZ))
        {
            return null;
        }
        // Quarters' centres are 3/4 of the history apart.
        var slopePerDay = (m2 - m1) / (0.75 * history.Days);
        var level = double.IsFinite(last) ? last : m2;
        // A drift has a non-zero slope; it reaches the capacity only when heading towards it.
        double? eta = null;
        if (metadata.Capacity is { } capacity)
        {
            var left = capacity - level;
            eta = left == 0 ? 0 : Math.Sign(left) == Math.Sign(slopePerDay) ? left / slopePerDay * 86400 : null;
        }
        return new DriftFinding(slopePerDay, z, level, eta);
    }

    private (double First, double Recent, double Z) DriftStatistics(RollupHistory history)
    {
        var slots = history.Slots;
        var quarter = slots.Length / 4;
        Ensure(slots.Length);
        var first = Known(slots[..quarter], _y);
        var recent = Known(slots[^quarter..], _steps);
        if (first.Length < quarter / 2 || recent.Length < quarter / 2)
        {
            return (double.NaN, double.NaN, double.NaN);
        }
        var (m1, s1) = Robust(first);
        var (m2, s2) = Robust(recent);
        return (m1, m2, (m2 - m1) / Math.Sqrt((s1 * s1) + (s2 * s2)));
    }

    private static Span<double> Known(ReadOnlySpan<float> slots, double[] into)
    {
        var n = 0;
        foreach (var v in slots)
        {
            if (!float.IsNaN(v))
            {
                into[n++] = v;
            }
        }
        return into.AsSpan(0, n);
    }
}
