using System.Globalization;
using System.IO.Hashing;
using System.Text;
using Horizon.Analysis.Skyline;

namespace Horizon.Analyzer;

/// <summary>Which part of the metrics this analyzer owns: <c>i/N</c> takes the names whose
/// xxHash64 modulo N is i (0 ≤ i &lt; N), so N analyzers with i = 0..N-1 split the work without
/// talking to each other, and the split is the same in every process and every run.</summary>
public readonly record struct Shard(int Index, int Count)
{
    /// <summary>The whole set.</summary>
    public static Shard All { get; } = new(0, 1);

    /// <summary>Parses <c>i/N</c>.</summary>
    public static Shard Parse(string text)
    {
        var parts = text.Split('/');
        if (parts.Length != 2 || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var i) ||
            !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n < 1 || i >= n)
        {
            throw new ArgumentException($"Analyzer:Shard '{text}' must be i/N with 0 <= i < N, e.g. 0/4.");
        }
        return new Shard(i, n);
    }

    /// <summary>True when this shard owns the key.</summary>
    public bool Owns(ReadOnlySpan<byte> key) => Count == 1 || (int)(XxHash64.HashToUInt64(key) % (ulong)Count) == Index;

    /// <summary>True when this shard owns the key.</summary>
    public bool Owns(string key)
    {
        if (Count == 1)
        {
            return true;
        }
        Span<byte> buffer = stackalloc byte[Encoding.UTF8.GetMaxByteCount(key.Length)];
        return Owns(buffer[..Encoding.UTF8.GetBytes(key, buffer)]);
    }

    /// <inheritdoc />
    public override string ToString() => $"{Index}/{Count}";
}

/// <summary>The analyzer's settings.</summary>
public sealed record AnalyzerOptions
{
    /// <summary>This worker's shard, <c>i/N</c>.</summary>
    public string Shard { get; init; } = "0/1";

    /// <summary>A pass starts when the previous one ends or this long after it started, whichever is
    /// later: 5 s, so passes run back to back at scale and an anomaly waits for at most one pass.</summary>
    public TimeSpan MinPassInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>No pass finished for this long means the analyzer is stalled: /health says so.</summary>
    public TimeSpan StallAfter { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Where the local memory-mapped copies of the series are kept (one folder per shard inside).</summary>
    public string CacheDirectory { get; init; } = "horizon-data/analyzer";

    /// <summary>The current anomalies, rewritten atomically after each pass (Skyline's anomalies.json);
    /// with several shards, each writes its own file with the shard in its name. Empty: no file.</summary>
    public string AnomaliesFile { get; init; } = "horizon-data/anomalies.json";

    /// <summary>Entries kept in the anomaly history list.</summary>
    public int HistoryLength { get; init; } = 10_000;

    /// <summary>Threads analysing series (0: one per core).</summary>
    public int Parallelism { get; init; }

    /// <summary>Keys fetched per pipelined round trip.</summary>
    public int FetchBatch { get; init; } = 2000;

    /// <summary>Skyline's analyzer settings (CONSENSUS, STALE_PERIOD, ...).</summary>
    public SkylineSettings Skyline { get; init; } = new();

    /// <summary>What decides that a metric is anomalous: skyline (consensus), ensemble, or both.</summary>
    public DetectionMode Mode { get; init; } = DetectionMode.Skyline;

    /// <summary>The ensemble's settings (threshold, window, combination, detectors).</summary>
    public Horizon.Analysis.Detection.EnsembleSettings Ensemble { get; init; } = new();

    /// <summary>Seconds per long-term roll-up slot (horizon.rollup.&lt;name&gt;).</summary>
    public int RollupSlotSeconds { get; init; } = 600;

    /// <summary>How much roll-up history is kept per metric (bounded: 4 bytes per slot).</summary>
    public TimeSpan RollupRetention { get; init; } = TimeSpan.FromDays(14);

    /// <summary>Exhaustion forecasts (a metric with a capacity reaching it) nearer than this are reported.</summary>
    public TimeSpan ExhaustionHorizon { get; init; } = TimeSpan.FromDays(7);

    /// <summary>Alerts: webhooks each new finding is sent to (none by default).</summary>
    public AlertOptions Alerts { get; init; } = new();

    /// <summary>The parsed shard.</summary>
    public Shard ParsedShard => Analyzer.Shard.Parse(Shard);

    /// <summary>Fails fast on settings that cannot work.</summary>
    public void Validate()
    {
        _ = ParsedShard;
        Skyline.Validate();
        if (RollupSlotSeconds < 1 || RollupRetention.TotalSeconds < 2 * RollupSlotSeconds || ExhaustionHorizon < TimeSpan.Zero)
        {
            throw new ArgumentException("Analyzer: RollupSlotSeconds must be positive, RollupRetention at least two slots, ExhaustionHorizon not negative.");
        }
        Ensemble.Validate();
        Alerts.Validate();
        if (MinPassInterval < TimeSpan.Zero || HistoryLength < 0 || Parallelism < 0 || FetchBatch < 1)
        {
            throw new ArgumentException("Analyzer: MinPassInterval, HistoryLength and Parallelism must not be negative, FetchBatch positive.");
        }
        if (StallAfter < 2 * MinPassInterval)
        {
            throw new ArgumentException("Analyzer:StallAfter must be at least twice Analyzer:MinPassInterval.");
        }
    }
}
