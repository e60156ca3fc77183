using Horizon.Core.Series;
using Horizon.Storage;
using StackExchange.Redis;

namespace Horizon.Analyzer;

/// <summary>What one sync did.</summary>
public sealed record SyncResult(int Keys, int NewKeys, int Appended, int Unchanged, int FullReads, int Removed, long BytesFetched, TimeSpan Duration, TimeSpan Membership = default, TimeSpan Waiting = default, int NotSeries = 0);

/// <summary>Brings the local copy up to date without re-reading the series: for a known key it
/// asks only for the bytes past what it holds, starting a few bytes early so that the overlap can
/// be compared with the local copy. Roomba's trim (or any rewrite, delete, re-creation) shifts the
/// content, so the overlap no longer matches and the key is read whole; otherwise the new bytes are
/// appended. One GETRANGE per key per pass, pipelined.</summary>
public sealed class SeriesSync(StoreConnection store, LocalSeriesCache cache, Shard shard, int batchSize = 2000)
{
    /// <summary>Bytes re-read before the local end, to detect rewrites; more than one whole point.</summary>
    public const int Overlap = 32;

    private readonly byte[] _local = new byte[Overlap];

    /// <summary>The shard synced (in <c>auto</c> mode it changes as analyzers come and go).</summary>
    public Shard Shard { get; set; } = shard;

    /// <summary>Syncs every key this shard owns.</summary>
    public async Task<SyncResult> SyncAsync(CancellationToken cancellationToken)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var db = store.Database;
        var mine = new HashSet<string>(StringComparer.Ordinal);
        long fetched = 0;
        // SSCAN, not SMEMBERS: a set of millions of names read whole passed the store's timeout.
        await foreach (var member in store.ScanNamesAsync(pageSize: 10_000, cancellationToken: cancellationToken))
        {
            var key = (string)member!;
            fetched += key.Length;
            if (Shard.Owns(key))
            {
                mine.Add(key);
            }
        }
        var membership = System.Diagnostics.Stopwatch.GetElapsedTime(started);
        var waiting = TimeSpan.Zero;
        var removed = 0;
        foreach (var key in cache.Keys.Where(k => !mine.Contains(k)).ToList())
        {
            cache.Remove(key);
            removed++;
        }

        int newKeys = 0, appended = 0, unchanged = 0, fullReads = 0, notSeries = 0;
        var keys = mine.ToList();
        var reread = new List<string>();
        for (var start = 0; start < keys.Count; start += batchSize)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var batch = keys.GetRange(start, Math.Min(batchSize, keys.Count - start));
            var requests = new Task<RedisValue>[batch.Count];
            var entries = new LocalSeriesCache.Entry?[batch.Count];
            for (var i = 0; i < batch.Count; i++)
            {
                var entry = cache.Find(batch[i]);
                entries[i] = entry;
                requests[i] = entry is null
                    ? db.StringGetAsync(batch[i])
                    : db.StringGetRangeAsync(batch[i], Math.Max(0, entry.Length - Overlap), -1);
            }
            var waitStarted = System.Diagnostics.Stopwatch.GetTimestamp();
            notSeries += await WhenAllAsync(requests);
            waiting += System.Diagnostics.Stopwatch.GetElapsedTime(waitStarted);
            for (var i = 0; i < batch.Count; i++)
            {
                byte[]? bytes = requests[i].IsCompletedSuccessfully ? (byte[]?)requests[i].Result : null;
                fetched += bytes?.Length ?? 0;
                var entry = entries[i];
                if (entry is null)
                {
                    if (bytes is not null)
                    {
                        cache.Replace(batch[i], bytes);
                        newKeys++;
                    }
                    continue;
                }
                var overlap = cache.CopyLast(entry, _local);
                if (bytes is null || bytes.Length < overlap || !bytes.AsSpan(0, overlap).SequenceEqual(_local.AsSpan(0, overlap)))
                {
                    reread.Add(batch[i]);
                    continue;
                }
                var tail = bytes.AsSpan(overlap);
                if (tail.IsEmpty)
                {
                    unchanged++;
                    continue;
                }
                // APPEND is atomic, so what arrived is whole points; anything else means the key
                // changed in a way the overlap did not show.
                SeriesCodec.Count(tail, out var status, out var consumed);
                if (status != PointReadStatus.Ok || consumed != tail.Length)
                {
                    reread.Add(batch[i]);
                    continue;
                }
                cache.Append(entry, tail);
                appended++;
            }
        }
        for (var start = 0; start < reread.Count; start += batchSize)
        {
            var batch = reread.GetRange(start, Math.Min(batchSize, reread.Count - start));
            var requests = batch.Select(k => db.StringGetAsync(k)).ToArray();
            await WhenAllAsync(requests);
            for (var i = 0; i < batch.Count; i++)
            {
                byte[]? bytes = requests[i].IsCompletedSuccessfully ? (byte[]?)requests[i].Result : null;
                if (bytes is null)
                {
                    cache.Remove(batch[i]);
                    removed++;
                    continue;
                }
                fetched += bytes.Length;
                cache.Replace(batch[i], bytes);
                fullReads++;
            }
        }
        return new SyncResult(mine.Count, newKeys, appended, unchanged, fullReads, removed, fetched, System.Diagnostics.Stopwatch.GetElapsedTime(started), membership, waiting, notSeries);
    }

    // Waits for every read. A key of another type in the set (WRONGTYPE) is no series: its read is
    // left faulted, read as absent, and counted; any other failure fails the sync.
    private static async Task<int> WhenAllAsync(Task<RedisValue>[] requests)
    {
        try
        {
            await Task.WhenAll(requests);
            return 0;
        }
        catch (Exception) when (requests.All(r => !r.IsFaulted || StoreErrors.IsWrongType(r.Exception!.GetBaseException())))
        {
            return requests.Count(r => r.IsFaulted);
        }
    }
}
