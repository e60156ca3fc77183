namespace Horizon.Benchmarks.Analysis;

/// <summary>A realistic series: a daily cycle, noise, and timestamps ending now.</summary>
public static class SeriesShapes
{
    public const long Now = 1_763_900_000;

    public static (long[] Timestamps, double[] Values) Daily(int points, int step, int seed = 1)
    {
        var random = new Random(seed);
        var ts = new long[points];
        var values = new double[points];
        for (var i = 0; i < points; i++)
        {
            ts[i] = Now - (long)(points - 1 - i) * step;
            values[i] = 100 + 30 * Math.Sin(2 * Math.PI * ts[i] / 86400.0) + random.NextDouble() * 10;
        }
        return (ts, values);
    }
}
