namespace Horizon.Algorithms.Detection;

/// <summary>Counters: a raw counter (collectd's, a process's request total) only grows, and drops
/// back towards zero when its process restarts. Its level says nothing (it is always a record) and a
/// restart is a huge drop that is normal; what it measures is its increase per point. A window that
/// looks like one is judged on those increases.</summary>
public sealed partial class EnsembleDetector
{
    private double[] _rates = [];

    /// <summary>Whether the last <paramref name="points"/> values are a counter: at least half the
    /// steps up, none down except restarts (a drop to at most a tenth of the previous value), and
    /// restarts at most one step in twenty. A noisy gauge fails at its first ordinary step down; a
    /// sparse series (mostly flat) fails on the steps up.</summary>
    internal static bool IsCounter(ReadOnlySpan<double> values, int points)
    {
        var v = values[^Math.Min(values.Length, points + 1)..];
        if (v.Length < 3)
        {
            return false;
        }
        int up = 0, restarts = 0;
        for (var i = 1; i < v.Length; i++)
        {
            var step = v[i] - v[i - 1];
            if (step > 0)
            {
                up++;
            }
            else if (step < 0)
            {
                if (!(v[i] >= 0 && v[i] <= 0.1 * v[i - 1]))
                {
                    return false;
                }
                restarts++;
            }
        }
        var steps = v.Length - 1;
        return 2 * up >= steps && 20 * restarts <= steps;
    }

    /// <summary>The increase per sampling interval of a counter: the step, or after a restart the value
    /// itself (what was counted since the restart), divided by the intervals it spans (a counter
    /// that kept counting while its collector was away comes back with hours of increase in one
    /// step). One fewer than the values.</summary>
    private ReadOnlySpan<double> Rates(ReadOnlySpan<long> timestamps, ReadOnlySpan<double> values)
    {
        if (_rates.Length < values.Length - 1)
        {
            _rates = new double[values.Length - 1];
        }
        var rates = _rates.AsSpan(0, values.Length - 1);
        var interval = (double)Math.Max(1, RollupHistory.MedianInterval(timestamps));
        for (var i = 1; i < values.Length; i++)
        {
            var increase = values[i] >= values[i - 1] ? values[i] - values[i - 1] : values[i];
            rates[i - 1] = increase / Math.Max(1.0, Math.Round((timestamps[i] - timestamps[i - 1]) / interval));
        }
        return rates;
    }
}
