using System.Text.Json;
using System.Threading.Channels;
using Horizon.Core;
using Horizon.Storage;
using StackExchange.Redis;

namespace Horizon.Analyzer;

/// <summary>A pass, summarised for the log, the status API and <c>horizon.analyzer.passes</c>.</summary>
public sealed record PassSummary(
    string Shard,
    long FinishedAt,
    double DurationSeconds,
    double SyncSeconds,
    double AnalysisSeconds,
    int Metrics,
    int Analysed,
    long Points,
    IReadOnlyDictionary<string, int> Skipped,
    int Errored,
    IReadOnlyDictionary<string, long> Votes,
    int Anomalies,
    long BytesFetched,
    int FullReads);

/// <summary>Publishes each pass: the current anomalies in the hash <c>horizon.anomalies</c> (one
/// field per metric, removed when it stops being anomalous), new anomalies at the head of the
/// bounded list <c>horizon.anomalies.history</c>, the pass summary in <c>horizon.analyzer.passes</c>,
/// and the current anomalies as a JSON file replaced atomically. New findings are published while
/// the pass is still running (<see cref="PublishAsFoundAsync"/>), so an anomaly is visible as soon as
/// its metric is judged rather than when the last metric is.</summary>
public sealed class AnomalyPublisher(StoreConnection store, AnalyzerOptions options, Shard shard)
{
    /// <summary>JSON as written to the store and the file.</summary>
    public static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    private readonly HashSet<string> _current = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _recorded = new(StringComparer.Ordinal);

    /// <summary>The anomalies file of this shard (null when disabled).</summary>
    public string? FilePath { get; } = string.IsNullOrWhiteSpace(options.AnomaliesFile) ? null
        : shard.Count == 1 ? Path.GetFullPath(options.AnomaliesFile)
        : Path.GetFullPath(Path.Combine(Path.GetDirectoryName(options.AnomaliesFile) ?? ".",
            $"{Path.GetFileNameWithoutExtension(options.AnomaliesFile)}-shard-{shard.Index}-of-{shard.Count}{Path.GetExtension(options.AnomaliesFile)}"));

    /// <summary>Publishes findings as the pass makes them, until <paramref name="found"/> completes:
    /// each finding not yet recorded with its timestamp goes into <c>horizon.anomalies</c> and the
    /// history at once. After a failed write (reported to <paramref name="failed"/>) the rest of the
    /// pass's findings are only drained, so an unreachable store costs one timeout, not one per
    /// batch; <see cref="PublishAsync"/> still sees them all as new. Must not overlap
    /// <see cref="PublishAsync"/>.</summary>
    public async Task PublishAsFoundAsync(ChannelReader<AnomalyRecord> found, Action<Exception>? failed = null)
    {
        var batch = new Dictionary<string, AnomalyRecord>(StringComparer.Ordinal);
        while (await found.WaitToReadAsync())
        {
            batch.Clear();
            while (batch.Count < 1000 && found.TryRead(out var record))
            {
                var field = Field(record);
                if (!_recorded.TryGetValue(field, out var ts) || ts != record.Timestamp)
                {
                    batch[field] = record;
                }
            }
            if (batch.Count == 0)
            {
                continue;
            }
            try
            {
                await Task.WhenAll(Writes(store.Database, batch.Values, batch.Values));
            }
            catch (Exception e) when (e is RedisException or TimeoutException)
            {
                failed?.Invoke(e);
                while (await found.WaitToReadAsync())
                {
                    while (found.TryRead(out _))
                    {
                    }
                }
                return;
            }
            foreach (var (field, record) in batch)
            {
                _recorded[field] = record.Timestamp;
            }
        }
    }

    /// <summary>Writes one pass's results.</summary>
    public async Task PublishAsync(IReadOnlyList<AnomalyRecord> anomalies, PassSummary summary)
    {
        var db = store.Database;
        var now = new HashSet<string>(anomalies.Select(Field), StringComparer.Ordinal);
        var gone = _current.Where(m => !now.Contains(m)).Select(m => (RedisValue)m).ToArray();
        // History: an anomaly enters once per (metric, timestamp), not once per pass.
        var fresh = anomalies.Where(a => !_recorded.TryGetValue(Field(a), out var ts) || ts != a.Timestamp).ToList();
        var tasks = Writes(db, anomalies, fresh);
        if (gone.Length > 0)
        {
            tasks.Add(db.HashDeleteAsync(StoreKeys.Anomalies, gone));
        }
        tasks.Add(db.HashSetAsync(StoreKeys.AnalyzerPasses, shard.ToString(), JsonSerializer.Serialize(summary, Json)));
        await Task.WhenAll(tasks);

        _current.Clear();
        _current.UnionWith(now);
        foreach (var metric in _recorded.Keys.Where(m => !now.Contains(m)).ToList())
        {
            _recorded.Remove(metric);
        }
        foreach (var a in anomalies)
        {
            _recorded[Field(a)] = a.Timestamp;
        }
        if (FilePath is not null)
        {
            await WriteFileAsync(FilePath, anomalies, summary);
        }
    }

    // Sets the current findings in the hash and puts the fresh ones at the head of the history.
    private List<Task> Writes(IDatabase db, IReadOnlyCollection<AnomalyRecord> current, IReadOnlyCollection<AnomalyRecord> fresh)
    {
        var tasks = new List<Task>();
        if (current.Count > 0)
        {
            tasks.Add(db.HashSetAsync(StoreKeys.Anomalies, [.. current.Select(a => new HashEntry(Field(a), JsonSerializer.Serialize(a, Json)))]));
        }
        if (fresh.Count > 0 && options.HistoryLength > 0)
        {
            tasks.Add(db.ListLeftPushAsync(StoreKeys.AnomalyHistory, [.. fresh.Select(a => (RedisValue)JsonSerializer.Serialize(a, Json))]));
            tasks.Add(db.ListTrimAsync(StoreKeys.AnomalyHistory, 0, options.HistoryLength - 1));
        }
        return tasks;
    }

    /// <summary>The field of a finding in <c>horizon.anomalies</c>: the metric name for an anomaly,
    /// <c>exhaustion:&lt;name&gt;</c> for an exhaustion forecast.</summary>
    public static string Field(AnomalyRecord record) => record.Kind == FindingKind.Anomaly ? record.Metric : record.Kind.Name() + ":" + record.Metric;

    private static async Task WriteFileAsync(string path, IReadOnlyList<AnomalyRecord> anomalies, PassSummary summary)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var temp = path + ".tmp";
        await using (var stream = File.Create(temp))
        {
            await JsonSerializer.SerializeAsync(stream, new { generated_at = summary.FinishedAt, shard = summary.Shard, anomalies }, Json);
        }
        File.Move(temp, path, overwrite: true);
    }
}
