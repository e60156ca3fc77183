using System.Diagnostics;
using Horizon.Core.Series;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Horizon.Storage;

/// <summary>What happened to one key.</summary>
public enum TrimOutcome : byte
{
    /// <summary>Nothing to remove.</summary>
    Unchanged,

    /// <summary>Expired, duplicate or corrupt points were removed.</summary>
    Trimmed,

    /// <summary>Every point had expired: the key and its set entry were removed.</summary>
    Deleted,

    /// <summary>The key no longer exists; its set entry was removed.</summary>
    Missing,

    /// <summary>Someone rewrote the key between the read and the write; retried next pass.</summary>
    Conflict,
}

/// <summary>Skyline's Roomba: keeps each series to its last FULL_DURATION, removes duplicate
/// timestamps (the last received wins, as in Whisper) and restores time order, deletes keys that
/// went silent. Trimming never loses a point appended meanwhile: the rewrite is a Lua script that
/// replaces only the bytes that were read and keeps whatever was appended after them, and that
/// gives up if the key was rewritten by anyone else in between. It also keeps the unique set
/// whole: every series key with points is in it (<see cref="ReconcileAsync"/>).</summary>
public sealed partial class Roomba
{
    // KEYS[1] series. ARGV[1] length read, ARGV[2] the first bytes read, ARGV[3] their replacement.
    // Returns -1 when the key no longer starts with what was read, 0 when it was deleted, else its
    // new length. One key per script, so it runs unchanged on Redis Cluster.
    private const string TrimScript = """
        local len = redis.call('STRLEN', KEYS[1])
        local expected = tonumber(ARGV[1])
        if len < expected then return -1 end
        if #ARGV[2] > 0 and redis.call('GETRANGE', KEYS[1], 0, #ARGV[2] - 1) ~= ARGV[2] then return -1 end
        local tail = ''
        if len > expected then tail = redis.call('GETRANGE', KEYS[1], expected, -1) end
        local value = ARGV[3] .. tail
        if #value == 0 then
          redis.call('DEL', KEYS[1])
          return 0
        end
        redis.call('SET', KEYS[1], value)
        return #value
        """;

    private const int PrefixCheckBytes = 32;

    private readonly StoreConnection _store;
    private readonly SeriesOptions _series;
    private readonly RoombaOptions _options;
    private readonly RoombaMetrics _metrics;
    private readonly ILogger<Roomba> _logger;
    private readonly TimeProvider _time;
    private readonly NameIndex _names;
    private long _lastReconcile = long.MinValue;

    /// <summary>Creates a Roomba for the given store.</summary>
    public Roomba(StoreConnection store, SeriesOptions series, RoombaOptions options, RoombaMetrics metrics, ILogger<Roomba> logger, TimeProvider? time = null)
    {
        _store = store;
        _series = series;
        _options = options;
        _metrics = metrics;
        _logger = logger;
        _time = time ?? TimeProvider.System;
        _names = store.Names;
    }

    /// <summary>Counts of one pass (<see cref="Indexed"/>: series keys that were missing from the
    /// unique set and were added, when the pass reconciled it).</summary>
    public sealed record PassResult(int Scanned, int Trimmed, int Deleted, int Missing, int Conflicts, TimeSpan Duration, int Indexed = 0);

    /// <summary>One pass over every key in the unique set, after reconciling the set with the
    /// keyspace when that is due (the first pass, then every <see cref="RoombaOptions.ReconcileInterval"/>).</summary>
    public async Task<PassResult> RunPassAsync(CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var db = _store.Database;
        var now = _time.GetUtcNow().ToUnixTimeSeconds();
        var indexed = 0;
        if (_lastReconcile == long.MinValue || (_options.ReconcileInterval > TimeSpan.Zero && now - _lastReconcile >= _options.ReconcileInterval.TotalSeconds))
        {
            indexed = await ReconcileAsync(cancellationToken);
            _lastReconcile = now;
        }
        var rewriteBefore = now - _series.FullDuration - (long)_options.Grace.TotalSeconds;
        int scanned = 0, trimmed = 0, deleted = 0, missing = 0, conflicts = 0;
        var page = new List<RedisKey>(_options.ScanBatch);
        using var gate = new SemaphoreSlim(_options.Parallelism);

        async Task ProcessPageAsync(List<RedisKey> keys)
        {
            // The first point is enough to decide: series are appended in time order, and a key
            // whose oldest point is recent needs no rewrite yet.
            var heads = keys.Select(k => db.StringGetRangeAsync(k, 0, SeriesCodec.MaxPointSize - 1)).ToArray();
            await Task.WhenAll(heads);
            var work = new List<Task<TrimOutcome>>();
            for (var i = 0; i < keys.Count; i++)
            {
                byte[]? head = heads[i].Result;
                var status = SeriesCodec.TryReadPoint(head, out var firstTs, out _, out _);
                if (head is { Length: > 0 } && status == PointReadStatus.Ok && firstTs > rewriteBefore)
                {
                    continue;
                }
                var key = keys[i];
                await gate.WaitAsync(cancellationToken);
                work.Add(Task.Run(async () =>
                {
                    try
                    {
                        return await TrimKeyAsync(key, now);
                    }
                    finally
                    {
                        gate.Release();
                    }
                }, cancellationToken));
            }
            foreach (var outcome in await Task.WhenAll(work))
            {
                switch (outcome)
                {
                    case TrimOutcome.Trimmed: trimmed++; break;
                    case TrimOutcome.Deleted: deleted++; break;
                    case TrimOutcome.Missing: missing++; break;
                    case TrimOutcome.Conflict: conflicts++; break;
                }
            }
        }

        await foreach (var member in _store.ScanNamesAsync(pageSize: _options.ScanBatch, cancellationToken: cancellationToken))
        {
            page.Add((byte[])member!);
            scanned++;
            if (page.Count == _options.ScanBatch)
            {
                await ProcessPageAsync(page);
                page = new List<RedisKey>(_options.ScanBatch);
            }
        }
        if (page.Count > 0)
        {
            await ProcessPageAsync(page);
        }
        var duration = Stopwatch.GetElapsedTime(started);
        _metrics.Runs.Inc();
        _metrics.Duration.Set(duration.TotalSeconds);
        _metrics.KeysScanned.Inc(scanned);
        _metrics.Conflicts.Inc(conflicts);
        Log.Pass(_logger, scanned, trimmed, deleted, missing, conflicts, duration.TotalSeconds);
        return new PassResult(scanned, trimmed, deleted, missing, conflicts, duration, indexed);
    }

    /// <summary>Scans the keyspace of every primary for series keys (<c>metrics.*</c>) and adds
    /// those holding a string but missing from the unique set: a crash can leave points stored
    /// whose name never reached the set, and nothing would judge, trim or delete them. Returns how
    /// many were added (also counted in <c>horizon_roomba_index_repaired_total</c>).</summary>
    public async Task<int> ReconcileAsync(CancellationToken cancellationToken)
    {
        var db = _store.Database;
        var pattern = GlobEscape(_series.FullNamespace) + "*";
        var added = 0;
        var seen = 0;
        var batch = new List<RedisKey>(_options.ScanBatch);
        async Task AddMissingAsync()
        {
            // Each set the keys belong in (Both mode: two) is checked on its own.
            foreach (var (set, keys) in _names.Group(batch.Select(k => (byte[])k!)))
            {
                var members = await db.SetContainsAsync(set, [.. keys.Select(k => (RedisValue)k)]);
                var missing = keys.Where((_, i) => !members[i]).ToList();
                if (missing.Count == 0)
                {
                    continue;
                }
                // Only series: a key of another type under the namespace is not one.
                var types = await Task.WhenAll(missing.Select(k => db.KeyTypeAsync(k)));
                var series = missing.Where((_, i) => types[i] == RedisType.String).Select(k => (RedisValue)k).ToArray();
                if (series.Length > 0)
                {
                    added += (int)await db.SetAddAsync(set, series);
                }
            }
            batch.Clear();
        }
        foreach (var server in _store.Multiplexer.GetServers().Where(s => !s.IsReplica))
        {
            await foreach (var key in server.KeysAsync(db.Database, pattern, _options.ScanBatch).WithCancellation(cancellationToken))
            {
                seen++;
                if (!_names.IsIndexKey(key.ToString()))
                {
                    batch.Add(key);
                }
                if (batch.Count == _options.ScanBatch)
                {
                    await AddMissingAsync();
                }
            }
        }
        if (batch.Count > 0)
        {
            await AddMissingAsync();
        }
        _metrics.IndexRepaired.Inc(added);
        if (added > 0)
        {
            Log.Indexed(_logger, added, seen);
        }
        // Every series key is now in this process's index: the store's names are indexed its way.
        await db.StringSetAsync(_names.Mark, _names.ModeName);
        return added;
    }

    // The namespace is matched literally: glob characters in it are escaped.
    private static string GlobEscape(string literal)
    {
        var escaped = new System.Text.StringBuilder(literal.Length);
        foreach (var c in literal)
        {
            if (c is '*' or '?' or '[' or ']' or '\\')
            {
                escaped.Append('\\');
            }
            escaped.Append(c);
        }
        return escaped.ToString();
    }

    /// <summary>Trims one key to the points newer than <c>now - FULL_DURATION</c>.</summary>
    public async Task<TrimOutcome> TrimKeyAsync(RedisKey key, long now)
    {
        var db = _store.Database;
        byte[]? raw = await db.StringGetAsync(key);
        if (raw is null || raw.Length == 0)
        {
            await ForgetAsync(key);
            return TrimOutcome.Missing;
        }
        var keepAfter = now - _series.FullDuration;
        var (replacement, removed, corrupt) = Rewrite(raw, keepAfter);
        if (corrupt)
        {
            _metrics.Corrupt.Inc();
            Log.Corrupt(_logger, key.ToString());
        }
        if (removed == 0)
        {
            return TrimOutcome.Unchanged;
        }
        var prefix = raw.AsMemory(0, Math.Min(PrefixCheckBytes, raw.Length));
        var result = (long)await db.ScriptEvaluateAsync(TrimScript, [key], [raw.Length, prefix, replacement]);
        if (result < 0)
        {
            return TrimOutcome.Conflict;
        }
        _metrics.PointsRemoved.Inc(removed);
        if (result == 0)
        {
            await ForgetAsync(key);
            _metrics.KeysDeleted.Inc();
            return TrimOutcome.Deleted;
        }
        _metrics.KeysTrimmed.Inc();
        return TrimOutcome.Trimmed;
    }

    // Removes the index entries of a deleted key. The sets live in other hash slots on a cluster,
    // so this cannot be part of the script; if a writer re-created the key in between, add it back.
    private async Task ForgetAsync(RedisKey key)
    {
        var db = _store.Database;
        var sets = _names.SetsOf((byte[])key!).ToList();
        foreach (var set in sets)
        {
            await db.SetRemoveAsync(set, (byte[])key!);
        }
        if (await db.KeyExistsAsync(key))
        {
            foreach (var set in sets)
            {
                await db.SetAddAsync(set, (byte[])key!);
            }
        }
    }

    /// <summary>The bytes a series should hold: the points newer than <paramref name="keepAfter"/>,
    /// one per timestamp (the last received), in time order, each kept byte for byte as it was
    /// written. Also the number of points removed and whether a corrupt tail was cut off.</summary>
    public static (byte[] Replacement, int Removed, bool Corrupt) Rewrite(ReadOnlySpan<byte> raw, long keepAfter)
    {
        var points = new List<(long Ts, int Offset, int Length, int Order)>();
        var pos = 0;
        var corrupt = false;
        var total = 0;
        var inOrder = true;
        var last = long.MinValue;
        while (pos < raw.Length)
        {
            var status = SeriesCodec.TryReadPoint(raw[pos..], out var ts, out _, out var n);
            if (status != PointReadStatus.Ok)
            {
                corrupt = true;
                break;
            }
            total++;
            if (ts > keepAfter)
            {
                inOrder &= ts > last;
                last = Math.Max(last, ts);
                points.Add((ts, pos, n, points.Count));
            }
            pos += n;
        }
        if (!inOrder)
        {
            // Time order, and of equal timestamps the last one received.
            points.Sort((a, b) => a.Ts != b.Ts ? a.Ts.CompareTo(b.Ts) : b.Order.CompareTo(a.Order));
            var unique = new List<(long Ts, int Offset, int Length, int Order)>(points.Count);
            foreach (var p in points)
            {
                if (unique.Count == 0 || unique[^1].Ts != p.Ts)
                {
                    unique.Add(p);
                }
            }
            points = unique;
        }
        var replacement = new byte[points.Sum(p => p.Length)];
        var w = 0;
        foreach (var p in points)
        {
            raw.Slice(p.Offset, p.Length).CopyTo(replacement.AsSpan(w));
            w += p.Length;
        }
        var removed = total - points.Count + (corrupt ? 1 : 0);
        return (replacement, removed, corrupt);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 300, Level = LogLevel.Information, Message = "Roomba pass: {Scanned} keys, {Trimmed} trimmed, {Deleted} deleted, {Missing} missing, {Conflicts} conflicts in {Seconds:F1} s")]
        public static partial void Pass(ILogger logger, int scanned, int trimmed, int deleted, int missing, int conflicts, double seconds);

        [LoggerMessage(EventId = 302, Level = LogLevel.Warning, Message = "{Added} series keys held points but were missing from the name index (of {Seen} keys scanned); added, so they are judged, trimmed and deleted again")]
        public static partial void Indexed(ILogger logger, int added, int seen);

        [LoggerMessage(EventId = 301, Level = LogLevel.Warning, Message = "Series {Key} holds bytes that are not msgpack points; the valid points before them are kept, the rest removed")]
        public static partial void Corrupt(ILogger logger, string key);
    }
}
