using System.Collections.Concurrent;
using Horizon.Algorithms.Detection;
using Horizon.Core;
using Horizon.Storage;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Horizon.Analyzer;

/// <summary>What decides that a metric is anomalous.</summary>
public enum DetectionMode
{
    /// <summary>Skyline's nine algorithms and CONSENSUS (the drop-in behaviour).</summary>
    Skyline,

    /// <summary>Horizon's ensemble (seasonal, robust, forecasting detectors; metadata; drift).</summary>
    Ensemble,

    /// <summary>Both run; either one flags.</summary>
    Both,
}

/// <summary>Per-pass context of the ensemble: metadata, roll-ups and each metric's novelty state.</summary>
public sealed partial class DetectionContext(StoreConnection store, AnalyzerOptions options, ILogger logger)
{
    /// <summary>Metadata is read again after this long even if the version did not move (for
    /// entries written straight into the hash without bumping it).</summary>
    public static readonly TimeSpan MetadataRefresh = TimeSpan.FromMinutes(5);

    private readonly ConcurrentDictionary<string, MetricState> _states = new(StringComparer.Ordinal);
    private IReadOnlyDictionary<string, MetricMetadata> _metadata = new Dictionary<string, MetricMetadata>();
    private RedisValue _metadataVersion = RedisValue.Null;
    private long _metadataLoadedAt = long.MinValue;

    /// <summary>The mode.</summary>
    public DetectionMode Mode => options.Mode;

    /// <summary>Ensemble settings.</summary>
    public EnsembleSettings Ensemble => options.Ensemble;

    /// <summary>Exhaustion forecasts nearer than this are reported.</summary>
    public double ExhaustionHorizonSeconds => options.ExhaustionHorizon.TotalSeconds;

    /// <summary>Metadata entries that did not parse in the last load.</summary>
    public int InvalidMetadata { get; private set; }

    /// <summary>Times the metadata hash was read (once at start, then only when it changed).</summary>
    public long MetadataLoads { get; private set; }

    /// <summary>The metadata of a metric (the default when none is stored).</summary>
    public MetricMetadata MetadataFor(string metric) => _metadata.GetValueOrDefault(metric, MetricMetadata.Default);

    /// <summary>What the analyzer keeps about one metric between passes: the ensemble's state, and
    /// its own bookkeeping (what it judged last, what it found, what of the roll-ups is stored).</summary>
    public sealed class MetricState(EnsembleSettings settings)
    {
        /// <summary>The ensemble's memory of the metric (roll-ups, recent scores, last baseline).</summary>
        public EnsembleState Ensemble { get; } = EnsembleState.For(settings);

        /// <summary>Timestamp of the last judged point.</summary>
        public long JudgedTimestamp { get; set; } = long.MinValue;

        /// <summary>What the last judgement found (null: nothing).</summary>
        public IReadOnlyList<AnomalyRecord> Found { get; set; } = [];

        /// <summary>Whether the last judgement was still abnormal though not reported: its raw score
        /// reached the threshold and the novelty filter held it back (a shift that holds).</summary>
        public bool Abnormal { get; set; }

        /// <summary>Roll-up slots already in the store (end slot), and how many the key holds.</summary>
        public long PersistedEnd { get; set; } = long.MinValue;

        /// <summary>Slots the stored key holds.</summary>
        public long StoredSlots { get; set; }
    }

    /// <summary>The state of a metric, created (empty) on first sight.</summary>
    public MetricState StateFor(string metric) =>
        _states.GetOrAdd(metric, _ => new MetricState(options.Ensemble));

    /// <summary>A metric's roll-up history sized for its sampling (<see cref="RollupHistory.SlotFor"/>),
    /// or null while the series is too short to tell.</summary>
    public RollupHistory? NewRollup(ReadOnlySpan<long> timestamps) => RollupHistory.SizedFor(timestamps, options.RollupSlotSeconds, RetentionSlots);

    // Every metric keeps as many slots as RollupRetention holds at RollupSlotSeconds: the memory
    // bound; a metric with coarser slots covers proportionally more days.
    private int RetentionSlots => (int)Math.Max(2, options.RollupRetention.TotalSeconds / options.RollupSlotSeconds);

    /// <summary>Before a pass: reloads metadata if it changed, and restores the roll-ups of metrics
    /// seen for the first time.</summary>
    public async Task PrepareAsync(IEnumerable<string> metrics)
    {
        var db = store.Database;
        await LoadMetadataAsync(db);

        var fresh = metrics.Where(m => !_states.ContainsKey(m)).ToList();
        foreach (var chunk in fresh.Chunk(options.FetchBatch))
        {
            var stored = await Task.WhenAll(chunk.Select(m => db.StringGetAsync(StoreKeys.Rollup(m))));
            for (var i = 0; i < chunk.Length; i++)
            {
                var state = StateFor(chunk[i]);
                if (!stored[i].HasValue)
                {
                    continue;
                }
                var bytes = (byte[])stored[i]!;
                var slot = RollupHistory.StoredSlotSeconds(bytes);
                var rollup = RollupHistory.IsAutoSlot(slot, options.RollupSlotSeconds) ? new RollupHistory(slot, RetentionSlots) : null;
                if (rollup is not null && rollup.TryLoad(bytes))
                {
                    state.Ensemble.Rollup = rollup;
                    state.PersistedEnd = rollup.EndSlot;
                    state.StoredSlots = rollup.Count;
                }
            }
        }
    }

    // Reads horizon.metadata (in pages: HSCAN) when its version moved, or every MetadataRefresh.
    private async Task LoadMetadataAsync(IDatabase db)
    {
        var version = await db.StringGetAsync(StoreKeys.MetadataVersion);
        var now = Environment.TickCount64;
        if (MetadataLoads > 0 && version == _metadataVersion && now - _metadataLoadedAt < MetadataRefresh.TotalMilliseconds)
        {
            return;
        }
        var parsed = new Dictionary<string, MetricMetadata>(StringComparer.Ordinal);
        var invalid = 0;
        await foreach (var entry in db.HashScanAsync(StoreKeys.Metadata, pageSize: 1000))
        {
            try
            {
                parsed[entry.Name!] = MetricMetadata.Parse(entry.Value!);
            }
            catch (Exception e) when (e is ArgumentException or System.Text.Json.JsonException)
            {
                invalid++;
                Log.BadMetadata(logger, entry.Name!, e.Message);
            }
        }
        _metadata = parsed;
        InvalidMetadata = invalid;
        _metadataVersion = version;
        _metadataLoadedAt = now;
        MetadataLoads++;
    }

    /// <summary>After a pass: appends newly closed roll-up slots to <c>horizon.rollup.&lt;name&gt;</c>
    /// (rewriting a key that grew past its retention), and forgets metrics no longer present.</summary>
    public async Task PersistAsync(IReadOnlySet<string> present)
    {
        var db = store.Database;
        var writes = new List<Task>();
        foreach (var (metric, state) in _states)
        {
            if (!present.Contains(metric))
            {
                _states.TryRemove(metric, out _);
                continue;
            }
            var rollup = state.Ensemble.Rollup;
            if (rollup is null || rollup.Count == 0 || rollup.EndSlot <= state.PersistedEnd)
            {
                continue;
            }
            var key = StoreKeys.Rollup(metric);
            var contiguous = state.PersistedEnd != long.MinValue && state.PersistedEnd >= rollup.FirstSlot;
            if (contiguous && state.StoredSlots + (rollup.EndSlot - state.PersistedEnd) <= RetentionSlots * 5 / 4)
            {
                writes.Add(db.StringAppendAsync(key, rollup.Serialize(state.PersistedEnd, withHeader: false)));
                state.StoredSlots += rollup.EndSlot - state.PersistedEnd;
            }
            else
            {
                writes.Add(db.StringSetAsync(key, rollup.Serialize(rollup.FirstSlot, withHeader: true)));
                state.StoredSlots = rollup.Count;
            }
            // A metric that stops reporting loses its roll-ups once they are all past retention.
            writes.Add(db.KeyExpireAsync(key, TimeSpan.FromSeconds((double)RetentionSlots * rollup.SlotSeconds)));
            state.PersistedEnd = rollup.EndSlot;
            if (writes.Count >= options.FetchBatch)
            {
                await Task.WhenAll(writes);
                writes.Clear();
            }
        }
        await Task.WhenAll(writes);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 510, Level = LogLevel.Warning, Message = "Metadata of {Metric} in horizon.metadata ignored: {Reason}")]
        public static partial void BadMetadata(ILogger logger, string metric, string reason);
    }
}
