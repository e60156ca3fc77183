namespace Horizon.Analyzer.Incidents;

/// <summary>A movement someone marked "not anomalous" (stored in <c>horizon.profiles</c>, a JSON
/// list per metric): the metric's half hour of minute means when it was flagged.</summary>
public sealed record TaughtShape(string Id, string Metric, long EndBin, float[] Means, long At, string By, string? Incident);

/// <summary>
/// What people taught the analyzer is normal, per metric (as earthgecko's Ionosphere keeps
/// feature profiles of false positives): a later finding of the metric whose last half hour moved
/// like a taught one is not reported. Like means: the shapes correlate (at least
/// <see cref="MinCorrelation"/>, in the same direction, a minute of lag allowed), the range
/// (max - min) is within a factor <see cref="MaxSpreadRatio"/> of the taught one, and the mean is
/// within the taught range of the taught mean. A burst three times as large, or the same burst
/// at a new level, is still reported.
/// </summary>
public sealed class TaughtShapes
{
    /// <summary>Shapes correlate at least this much.</summary>
    public const double MinCorrelation = 0.9;

    /// <summary>Ranges within this factor of each other.</summary>
    public const double MaxSpreadRatio = 1.5;

    /// <summary>Shapes kept per metric (the oldest go first).</summary>
    public const int PerMetric = 50;

    private readonly Dictionary<string, List<(TaughtShape Shape, Movement Movement)>> _byMetric = new(StringComparer.Ordinal);

    /// <summary>No shapes.</summary>
    public static TaughtShapes None { get; } = new([]);

    /// <summary>The shapes to match against.</summary>
    public TaughtShapes(IEnumerable<TaughtShape> shapes)
    {
        foreach (var shape in shapes)
        {
            Add(shape);
        }
    }

    /// <summary>Metrics with shapes.</summary>
    public int Metrics => _byMetric.Count;

    /// <summary>Adds one (a replay teaches as it goes).</summary>
    public void Add(TaughtShape shape)
    {
        if (!_byMetric.TryGetValue(shape.Metric, out var list))
        {
            _byMetric[shape.Metric] = list = [];
        }
        list.Add((shape, Movement.FromMeans(shape.EndBin, shape.Means)));
        if (list.Count > PerMetric)
        {
            list.RemoveAt(0);
        }
    }

    /// <summary>The taught shape a metric's movement matches, or null.</summary>
    public TaughtShape? Match(string metric, Movement? movement)
    {
        if (movement is null || !_byMetric.TryGetValue(metric, out var list))
        {
            return null;
        }
        var (level, spread) = LevelAndSpread(movement.Means);
        foreach (var (shape, taught) in list)
        {
            var (taughtLevel, taughtSpread) = LevelAndSpread(taught.Means);
            if (spread <= taughtSpread * MaxSpreadRatio && spread * MaxSpreadRatio >= taughtSpread
                && Math.Abs(level - taughtLevel) <= taughtSpread
                && movement.ShapeCorrelation(taught) >= MinCorrelation)
            {
                return shape;
            }
        }
        return null;
    }

    private static (double Level, double Spread) LevelAndSpread(ReadOnlySpan<float> means)
    {
        double sum = 0, min = double.MaxValue, max = double.MinValue;
        foreach (var m in means)
        {
            sum += m;
            min = Math.Min(min, m);
            max = Math.Max(max, m);
        }
        return (sum / means.Length, max - min);
    }
}
