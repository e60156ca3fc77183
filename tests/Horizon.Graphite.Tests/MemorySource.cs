using Horizon.Graphite;

namespace Horizon.Graphite.Tests;

/// <summary>Stored points by name, fetched the way the web role fetches them from the store.</summary>
internal sealed class MemorySource : ISeriesSource
{
    private readonly SortedDictionary<string, (long[] Times, double[] Values)> _series = new(StringComparer.Ordinal);

    public MemorySource Add(string name, long start, long step, params double[] values)
    {
        _series[name] = ([.. values.Select((_, i) => start + (i * step))], values);
        return this;
    }

    public IReadOnlyList<TimeSeries> Fetch(string pattern, long from, long until)
    {
        var glob = new GraphiteGlob(pattern);
        return [.. _series.Where(e => glob.IsMatch(e.Key))
            .Select(e => Slots.FromPoints(e.Key, e.Value.Times, e.Value.Values, from, until, Slots.StepOf(e.Value.Times), pattern))];
    }
}
