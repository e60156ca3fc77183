using Horizon.Algorithms.Skyline;

namespace Horizon.Analyzer;

/// <summary>The analyzer's settings.</summary>
public sealed record AnalyzerOptions
{
    /// <summary>This worker's shard: <c>i/N</c> (fixed), or <c>auto</c> (the live analyzers split
    /// the metrics by rendezvous hashing and take over a dead one's share; see <see cref="AnalyzerMembership"/>).</summary>
    public string Shard { get; init; } = "0/1";

    /// <summary>With <c>Shard=auto</c>: a member whose lease was not renewed for this long is dead
    /// and its metrics go to the others (renewed every third of it).</summary>
    public TimeSpan LeaseTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>With <c>Shard=auto</c>: this analyzer's member id (default: host name, process id
    /// and a random part, new at each start).</summary>
    public string MemberId { get; init; } = "";

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

    /// <summary>Whether the analyzer keeps every metric's recent shapes in memory for similarity
    /// search (<c>/api/similar</c>): about 1 KB per metric.</summary>
    public bool ShapeIndex { get; init; } = true;

    /// <summary>Keys fetched per pipelined round trip.</summary>
    public int FetchBatch { get; init; } = 2000;

    /// <summary>Skyline's analyzer settings (CONSENSUS, STALE_PERIOD, ...).</summary>
    public SkylineSettings Skyline { get; init; } = new();

    /// <summary>What decides that a metric is anomalous: skyline (consensus), ensemble, or both.</summary>
    public DetectionMode Mode { get; init; } = DetectionMode.Skyline;

    /// <summary>The ensemble's settings (threshold, window, combination, detectors).</summary>
    public Horizon.Algorithms.Detection.EnsembleSettings Ensemble { get; init; } = new();

    /// <summary>Seconds per long-term roll-up slot (horizon.rollup.&lt;name&gt;).</summary>
    public int RollupSlotSeconds { get; init; } = 600;

    /// <summary>How much roll-up history is kept per metric (bounded: 4 bytes per slot).</summary>
    public TimeSpan RollupRetention { get; init; } = TimeSpan.FromDays(14);

    /// <summary>Exhaustion forecasts (a metric with a capacity reaching it) nearer than this are reported.</summary>
    public TimeSpan ExhaustionHorizon { get; init; } = TimeSpan.FromDays(7);

    /// <summary>Alerts: webhooks each new finding is sent to, Alertmanagers incidents are sent to (none by default).</summary>
    public AlertOptions Alerts { get; init; } = new();

    /// <summary>How findings group into incidents.</summary>
    public Incidents.IncidentOptions Incidents { get; init; } = new();

    /// <summary>The verdict after each deploy.</summary>
    public Deploys.DeployOptions Deploys { get; init; } = new();

    /// <summary>The parsed shard.</summary>
    public Shard ParsedShard => Analyzer.Shard.Parse(Shard, MemberId);

    /// <summary>Fails fast on settings that cannot work.</summary>
    public void Validate()
    {
        _ = ParsedShard;
        if (LeaseTimeout < TimeSpan.FromSeconds(1))
        {
            throw new ArgumentException("Analyzer:LeaseTimeout must be at least a second.");
        }
        Skyline.Validate();
        if (RollupSlotSeconds < 1 || RollupRetention.TotalSeconds < 2 * RollupSlotSeconds || ExhaustionHorizon < TimeSpan.Zero)
        {
            throw new ArgumentException("Analyzer: RollupSlotSeconds must be positive, RollupRetention at least two slots, ExhaustionHorizon not negative.");
        }
        Ensemble.Validate();
        Alerts.Validate();
        Incidents.Validate();
        Deploys.Validate();
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
