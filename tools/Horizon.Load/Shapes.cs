using System.IO.Hashing;

namespace Horizon.Load;

/// <summary>The kinds of series the harness simulates.</summary>
public enum ShapeKind
{
    /// <summary>Gaussian noise around a level.</summary>
    Noise,

    /// <summary>A daily cycle with noise (and a batch-job spike every day at 01:00).</summary>
    Daily,

    /// <summary>A per-second rate that counts up, flushed like StatsD counters.</summary>
    Counter,

    /// <summary>Noise with short spikes now and then in its history.</summary>
    Spiky,

    /// <summary>Noise whose level shifted once in its history.</summary>
    LevelShift,

    /// <summary>A slow drift: up for 14 days (a disk filling), then down as slowly, never a jump.</summary>
    Drift,
}

/// <summary>Deterministic series: the value of metric i at time t is a pure function, so the
/// harness can check every value it reads back without remembering what it sent.</summary>
public static class Shapes
{
    /// <summary>Every kind, in order.</summary>
    public static readonly ShapeKind[] All = Enum.GetValues<ShapeKind>();

    /// <summary>The metric's name.</summary>
    public static string Name(string prefix, ShapeKind kind, int index) =>
        $"{prefix}.{kind.ToString().ToLowerInvariant()}.m{index:D7}";

    /// <summary>The kind of metric i in a mix of every kind.</summary>
    public static ShapeKind KindOf(int index, ShapeKind? only) => only ?? All[index % All.Length];

    /// <summary>Uniform in [0, 1), a hash of (metric, t, salt).</summary>
    public static double Unit(int metric, long t, int salt = 0)
    {
        Span<byte> key = stackalloc byte[16];
        BitConverter.TryWriteBytes(key, ((long)metric << 8) | (uint)salt);
        BitConverter.TryWriteBytes(key[8..], t);
        return (XxHash64.HashToUInt64(key) >> 11) * (1.0 / (1UL << 53));
    }

    /// <summary>Standard normal, from two hashed uniforms (Box-Muller).</summary>
    public static double Gaussian(int metric, long t)
    {
        var u1 = Math.Max(Unit(metric, t, 1), 1e-300);
        var u2 = Unit(metric, t, 2);
        return Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }

    /// <summary>The value of metric <paramref name="metric"/> at unix time <paramref name="t"/>,
    /// rounded to 4 decimals (as real metrics are rarely full doubles).</summary>
    public static double Value(ShapeKind kind, int metric, long t)
    {
        var level = 50 + metric % 200;
        var noise = Gaussian(metric, t);
        double v = kind switch
        {
            ShapeKind.Noise => level + 5 * noise,
            ShapeKind.Daily => level + 0.5 * level * Math.Sin(2 * Math.PI * (t % 86400) / 86400 + metric % 24) + 3 * noise
                + (t % 86400 is >= 3600 and < 3900 ? 4 * level : 0),
            ShapeKind.Counter => Math.Floor(20 + metric % 80 + 5 * noise),
            ShapeKind.Spiky => level + 5 * noise + (Unit(metric, t / 3600, 3) < 0.1 && t % 3600 < 180 ? 40 * 5 : 0),
            ShapeKind.LevelShift => level + 5 * noise + (t % 86400 > 43200 + metric % 3600 ? 60 : 0),
            _ => 10 + 50.0 * Triangle(t, 28 * 86400) + 0.5 * noise,
        };
        return Math.Round(v, 4);
    }

    /// <summary>0 to 1 and back over <paramref name="period"/> seconds, continuous: a sawtooth's
    /// drop back to 0 would be a real anomaly in a shape meant to be clean.</summary>
    private static double Triangle(long t, long period)
    {
        var phase = (double)(t % period) / period;
        return phase < 0.5 ? 2 * phase : 2 - (2 * phase);
    }

    /// <summary>The injected anomaly: far outside what the shape ever does.</summary>
    public static double Anomalous(ShapeKind kind, int metric, long t) => Value(kind, metric, t) + 100 * 5 + 10 * (50 + metric % 200);
}
