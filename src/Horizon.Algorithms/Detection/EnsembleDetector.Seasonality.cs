using Horizon.Algorithms.Kernels;
using MathNet.Numerics.Distributions;

namespace Horizon.Algorithms.Detection;

/// <summary>Seasonality from the roll-ups: the period, the residuals judged instead of the values, and recurring excursions.</summary>
public sealed partial class EnsembleDetector
{
    /// <summary>The seasonal period (seconds) to judge against: from metadata, or detected as a lag
    /// (one day, one week) at which the roll-ups correlate strongly with themselves.</summary>
    public long SeasonalPeriod(RollupHistory history, SeasonalityMode mode)
    {
        const long day = 86400, week = 7 * day;
        var slotsPerDay = day / history.SlotSeconds;
        switch (mode)
        {
            case SeasonalityMode.None:
                return 0;
            case SeasonalityMode.Daily:
                return history.Count >= 2 * slotsPerDay ? day : 0;
            case SeasonalityMode.Weekly:
                return history.Count >= WeeklyMinSlots(slotsPerDay) ? week : 0;
        }
        if (history.Count < 3 * slotsPerDay)
        {
            return 0;
        }
        // Around a centred one-day mean: a slow trend (a disk filling) correlates with itself at
        // any lag and is not a cycle; what is left after the day's mean is removed is.
        var cycles = Detrended(history.Slots, (int)slotsPerDay);
        var daily = Autocorrelation(cycles, (int)slotsPerDay);
        var weekly = history.Count >= WeeklyMinSlots(slotsPerDay) ? Autocorrelation(cycles, (int)(7 * slotsPerDay)) : double.NaN;
        // Weekly when it correlates better, or when a week back predicts a slot's cycle better than
        // a day back does: a daily shape whose weekends are the same curve scaled down correlates
        // as well at either lag (correlation ignores the scale), but a day back misses every
        // Saturday and Monday by the difference.
        if (weekly >= _settings.SeasonalCorrelation && (!(daily >= weekly - 0.1) || WeekPredictsBetter(cycles, (int)slotsPerDay)))
        {
            return week;
        }
        return daily >= _settings.SeasonalCorrelation ? day : 0;
    }

    // Whether a week back predicts a slot's cycle with less than half the squared error a day back
    // does, and by more than the previous slot predicts it (the cycle's own wobble from slot to
    // slot: a purely daily metric's two errors differ by no more than noise). On the cycles, not
    // the slots: after a deploy moved the level, a week back misses every slot since by the shift.
    private static bool WeekPredictsBetter(ReadOnlySpan<float> cycles, int slotsPerDay)
    {
        var byWeek = LagError(cycles, 7 * slotsPerDay);
        var byDay = LagError(cycles, slotsPerDay);
        return byWeek < 0.5 * byDay && byDay - byWeek > LagError(cycles, 1);
    }

    private float[] _cycles = [];

    /// <summary>Each slot minus the mean of the <paramref name="span"/> slots centred on it (empty
    /// slots skipped); NaN where that window is not whole or the slot is empty.</summary>
    private ReadOnlySpan<float> Detrended(ReadOnlySpan<float> slots, int span)
    {
        if (_cycles.Length < slots.Length)
        {
            _cycles = new float[slots.Length];
        }
        var result = _cycles.AsSpan(0, slots.Length);
        result.Fill(float.NaN);
        var half = span / 2;
        double sum = 0;
        var count = 0;
        for (var i = 0; i < slots.Length; i++)
        {
            // The window [i - span + 1, i] is centred on slot i - (span - half - 1).
            if (!float.IsNaN(slots[i]))
            {
                sum += slots[i];
                count++;
            }
            var leaving = i - span;
            if (leaving >= 0 && !float.IsNaN(slots[leaving]))
            {
                sum -= slots[leaving];
                count--;
            }
            var centre = i - (span - half - 1);
            if (i >= span - 1 && count > span / 2 && !float.IsNaN(slots[centre]))
            {
                result[centre] = (float)(slots[centre] - (sum / count));
            }
        }
        return result;
    }

    // A week and two days: enough pairs at the week lag. (Two full weeks is more than a 14-day
    // history holds for long, as it drops its oldest quarter when full.)
    private static long WeeklyMinSlots(long slotsPerDay) => 9 * slotsPerDay;

    // The mean squared difference between each slot and the slot lag before (empty slots skipped).
    private static double LagError(ReadOnlySpan<float> slots, int lag)
    {
        double sum = 0;
        var n = 0;
        for (var i = lag; i < slots.Length; i++)
        {
            double d = slots[i] - slots[i - lag];
            if (!double.IsNaN(d))
            {
                sum += d * d;
                n++;
            }
        }
        return n > 0 ? sum / n : double.NaN;
    }

    /// <summary>Pearson correlation of the slot series with itself <paramref name="lag"/> slots later (empty slots skipped).</summary>
    public static double Autocorrelation(ReadOnlySpan<float> slots, int lag)
    {
        double sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;
        var n = 0;
        for (var i = lag; i < slots.Length; i++)
        {
            double a = slots[i - lag], b = slots[i];
            if (double.IsNaN(a) || double.IsNaN(b))
            {
                continue;
            }
            n++;
            sx += a;
            sy += b;
            sxx += a * a;
            syy += b * b;
            sxy += a * b;
        }
        if (n < 10)
        {
            return double.NaN;
        }
        var cov = sxy - (sx * sy / n);
        var varX = sxx - (sx * sx / n);
        var varY = syy - (sy * sy / n);
        return varX > 0 && varY > 0 ? cov / Math.Sqrt(varX * varY) : double.NaN;
    }

    private double[] _recent = [];

    /// <summary>The last points' residuals from their seasonal baselines, in place, as
    /// <see cref="Deseasonalise"/> computes them for the newest points (periods before only);
    /// false when a slot has too few periods to tell.</summary>
    private bool Residuals(ReadOnlySpan<long> timestamps, Span<double> values, RollupHistory history, long period)
    {
        var baselines = new SlotBaselines(history, period, forward: false, stackalloc double[PeriodsBack], DayLevels(history, period, timestamps[0]));
        for (var i = 0; i < values.Length; i++)
        {
            var baseline = baselines.At(timestamps[i]);
            if (double.IsNaN(baseline))
            {
                return false;
            }
            values[i] -= baseline;
        }
        return true;
    }

    /// <summary>The seasonal baseline of each point's slot, for ascending timestamps: the metric's
    /// level now (the mean of the history's last day of slots) plus the median of the
    /// slot's shape up to four periods before, completed (<c>forward</c>) by periods after it that
    /// the history has closed; NaN with fewer than two (one for a weekly period). A slot's shape in
    /// a period is its mean less the mean of the day of slots before it, so the periods agree on
    /// the shape whatever the level was then: after a deploy moved the level, the periods before
    /// and after it no longer split the slots of a day between two levels (with the slots' own
    /// means, two periods of four on each side put half the shift in the baselines from the
    /// deploy's time of day on, a held shift in the residuals two and three days later). A slot's
    /// baseline is found once for all its points, and moving to the next slot takes no division.</summary>
    private ref struct SlotBaselines(RollupHistory history, long period, bool forward, Span<double> same, ReadOnlySpan<double> levels)
    {
        private readonly Span<double> _same = same;
        private readonly ReadOnlySpan<double> _levels = levels;
        private readonly double _now = levels[^1];
        private readonly ReadOnlySpan<float> _slots = history.Slots;
        private readonly long _first = history.FirstSlot;
        private readonly long _seconds = history.SlotSeconds;
        private readonly long _back = period / history.SlotSeconds;
        private readonly int _need = period >= 7 * 86400 ? 1 : 2;
        private long _slot = long.MinValue;
        private long _start, _end; // the current slot's time range (none yet)
        private double _baseline = double.NaN;

        /// <summary>Where the slot of the last <see cref="At"/> ends.</summary>
        public readonly long End => _end;

        public double At(long t)
        {
            if (t >= _start && t < _end)
            {
                return _baseline;
            }
            _slot = t >= _end && t < _end + _seconds && _slot != long.MinValue ? _slot + 1 : history.SlotOf(t);
            _start = _slot * _seconds;
            _end = _start + _seconds;
            _baseline = Find(_slot - _first);
            return _baseline;
        }

        private readonly double Find(long at)
        {
            var count = 0;
            for (var k = 1; k <= _same.Length; k++)
            {
                if (Shape(at - (k * _back)) is var shape && !double.IsNaN(shape))
                {
                    _same[count++] = shape;
                }
            }
            // A point early in the window has few periods before it in the history, but closed slots
            // after it (all before the judged point): they complete its baseline, so old residuals are
            // as steady as recent ones and do not widen the spread judged against.
            for (var k = 1; forward && k <= _same.Length && count < _same.Length; k++)
            {
                if (Shape(at + (k * _back)) is var shape && !double.IsNaN(shape))
                {
                    _same[count++] = shape;
                }
            }
            return count < _need ? double.NaN : Selection.MedianOfFew(_same[..count]) + _now;
        }

        // Slot j's mean less the level of the day before it: NaN outside the history, for an empty
        // slot or for a day too empty to give a level.
        private readonly double Shape(long j) => (ulong)j < (ulong)_slots.Length ? _slots[(int)j] - _levels[(int)j] : double.NaN;
    }

    // Periods before (and, completing, after) a slot its seasonal baseline takes the median of.
    private const int PeriodsBack = 4;

    private double[] _dayLevels = [];

    /// <summary>For each slot of the history and the open one after them, the mean of the (non-empty)
    /// slots of the day before it (NaN with fewer than half a day's): the level a slot's seasonal
    /// shape is measured from, and, last, the metric's level now. Only from the earliest slot a
    /// baseline of points from <paramref name="first"/> on looks at (<see cref="PeriodsBack"/> periods before it): the
    /// slots before that are not summed (NaN).</summary>
    private ReadOnlySpan<double> DayLevels(RollupHistory history, long period, long first)
    {
        var slots = history.Slots;
        var day = (int)Math.Max(1, 86400 / history.SlotSeconds);
        // One more than the slots: the open slot after them, where the judged point is.
        if (_dayLevels.Length < slots.Length + 1)
        {
            _dayLevels = new double[Math.Max(slots.Length + 1, 256)];
        }
        var levels = _dayLevels.AsSpan(0, slots.Length + 1);
        var from = (int)Math.Clamp(history.SlotOf(first) - history.FirstSlot - (PeriodsBack * (period / history.SlotSeconds)), 0, slots.Length);
        levels[..from].Fill(double.NaN);
        double sum = 0;
        var n = 0;
        var start = Math.Max(0, from - day);
        for (var j = start; j < levels.Length; j++)
        {
            // The day before slot j: slots j - day .. j - 1.
            if (j >= from)
            {
                levels[j] = n >= day / 2 ? sum / n : double.NaN;
            }
            if (j == slots.Length)
            {
                break;
            }
            if (!float.IsNaN(slots[j]))
            {
                sum += slots[j];
                n++;
            }
            if (j - day >= start && !float.IsNaN(slots[j - day]))
            {
                sum -= slots[j - day];
                n--;
            }
        }
        return levels;
    }

    /// <summary>y = value minus its slot's baseline (<see cref="SlotBaselines"/>): the level now plus
    /// the slot's shape one, two, ... periods before (up to 4), completed for older points by the
    /// same slot one, two, ... periods after them where the history has closed it (the judged
    /// point's open slot never: it has only the periods before);
    /// false when the judged point has fewer than two such slots (one for a weekly period, which a
    /// two-week history holds only once).</summary>
    private bool Deseasonalise(ReadOnlySpan<long> timestamps, ReadOnlySpan<double> values, RollupHistory history, long period, Span<double> y)
    {
        var baselines = new SlotBaselines(history, period, forward: true, stackalloc double[PeriodsBack], DayLevels(history, period, timestamps[0]));
        var baseline = double.NaN;
        var known = false;
        for (var i = 0; i < values.Length;)
        {
            var found = baselines.At(timestamps[i]);
            known = !double.IsNaN(found);
            // A slot without enough history keeps the last known baseline.
            baseline = known ? found : baseline;
            // The slot's points, in a loop of their own (no test of the slot per point).
            var end = i + 1;
            while (end < values.Length && timestamps[end] < baselines.End)
            {
                end++;
            }
            for (; i < end; i++)
            {
                y[i] = values[i] - baseline;
            }
        }
        if (!known)
        {
            return false;
        }
        // Points before the first known baseline take the first one.
        var first = 0;
        while (double.IsNaN(y[first]))
        {
            first++;
        }
        for (var i = 0; i < first; i++)
        {
            y[i] = values[i] - (values[first] - y[first]);
        }
        return true;
    }

    /// <summary>
    /// How many of the previous days show an excursion like this one (same direction, comparable
    /// size) at the same time of day, within a few roll-up slots: a batch job at 01:00 every day
    /// is normal even when the series is too noisy, or the job too short, for the day-lag
    /// correlation to call the metric seasonal. 0 unless it recurs on at least two days (or on the
    /// one day held: a job seen the night before is damped, not new) and on at least half of the
    /// days held. <paramref name="points"/>: how many points the excursion spans (one, or the
    /// sustained detector's recent mean), for how much a slot mean dilutes it.
    /// </summary>
    private int Recurrence(ReadOnlySpan<long> timestamps, RollupHistory history, double excess, int points, in Window w)
    {
        var span = timestamps[^1] - timestamps[0];
        if (span <= 0 || excess == 0)
        {
            return 0;
        }
        // A slot mean dilutes an excursion shorter than its slot over the slot's points; noise
        // shrinks likewise.
        var perSlot = Math.Max(1.0, history.SlotSeconds / (span / (double)(timestamps.Length - 1)));
        var need = Math.Max(0.5 * Math.Abs(excess) * Math.Min(1.0, points / perSlot), 3 * w.Sigma / Math.Sqrt(perSlot));
        var direction = Math.Sign(excess);
        var slotsPerDay = 86400 / history.SlotSeconds;
        var slot = history.SlotOf(timestamps[^1]);
        int held = 0, recurring = 0;
        for (var day = 1; day <= _settings.RecurrenceDays; day++)
        {
            var centre = slot - (day * slotsPerDay);
            if (centre + _settings.RecurrenceSlots < history.FirstSlot)
            {
                break;
            }
            var best = double.NegativeInfinity;
            for (var j = -_settings.RecurrenceSlots; j <= _settings.RecurrenceSlots; j++)
            {
                var v = history.At(centre + j);
                if (!float.IsNaN(v))
                {
                    best = Math.Max(best, direction * (v - w.Median));
                }
            }
            if (best > double.NegativeInfinity)
            {
                held++;
                recurring += best >= need ? 1 : 0;
            }
        }
        return recurring >= Math.Min(2, held) && 2 * recurring >= held ? recurring : 0;
    }
}
