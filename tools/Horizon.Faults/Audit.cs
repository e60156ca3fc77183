using System.Diagnostics;
using Horizon.Core;
using Horizon.Core.Series;
using StackExchange.Redis;

namespace Horizon.Faults;

/// <summary>What a run left in the store, point by point.</summary>
/// <param name="Sent">Points handed to Horizon (their write completed).</param>
/// <param name="Stored">Distinct sent points found in the store.</param>
/// <param name="Lost">Sent points not found.</param>
/// <param name="Duplicated">Extra copies of points found more than once.</param>
/// <param name="Reordered">Points stored after a point with a later timestamp of the same series.</param>
/// <param name="LostBeforeFault">Lost points sent more than the allowed window before the fault.</param>
/// <param name="OldestLostSeconds">How long before the fault the earliest lost point was sent
/// (negative: after it); 0 when nothing was lost.</param>
/// <param name="Unindexed">Series keys with points missing from the unique set.</param>
/// <param name="UnsentStored">Points whose write failed but which were stored anyway.</param>
public sealed record AuditResult(long Sent, long Stored, long Lost, long Duplicated, long Reordered, long LostBeforeFault,
    double OldestLostSeconds, long Unindexed, long UnsentStored)
{
    /// <summary>The first reorder seen, for the report: key, point numbers around it.</summary>
    public string? FirstReorder { get; init; }
}

/// <summary>Reads every series of a <see cref="NumberedPoints"/> back and accounts for each point.</summary>
public static class Audit
{
    /// <summary>Audits the store behind <paramref name="db"/>. A lost point sent more than
    /// <paramref name="window"/> before <paramref name="faultAt"/> (a Stopwatch timestamp) counts in
    /// <see cref="AuditResult.LostBeforeFault"/>; with no fault time every lost point does.</summary>
    public static async Task<AuditResult> RunAsync(IDatabase db, NumberedPoints stream, long? faultAt = null, TimeSpan window = default)
    {
        var next = stream.Next;
        var found = new byte[next]; // copies of each point found (saturating)
        long duplicated = 0, reordered = 0, unindexed = 0;
        string? firstReorder = null;
        var uniqueSet = StoreKeys.UniqueMetrics();
        for (var i = 0; i < stream.Names; i++)
        {
            var key = StoreKeys.Series($"{stream.Prefix}.m{i}");
            byte[]? raw = await db.StringGetAsync(key);
            if (raw is null)
            {
                continue;
            }
            if (!await db.SetContainsAsync(uniqueSet, key))
            {
                unindexed++;
            }
            var (timestamps, values) = SeriesCodec.DecodeAll(raw, out _);
            var count = timestamps.Length;
            for (var p = 0; p < count; p++)
            {
                if (p > 0 && timestamps[p] < timestamps[p - 1])
                {
                    reordered++;
                    firstReorder ??= $"{key}: ..., {string.Join(", ", values[Math.Max(0, p - 3)..Math.Min(count, p + 3)])}, ...";
                }
                var seq = (long)values[p];
                if (seq < 0 || seq >= next)
                {
                    continue;
                }
                if (found[seq] > 0)
                {
                    duplicated++;
                }
                found[seq] = (byte)Math.Min(255, found[seq] + 1);
            }
        }
        long stored = 0, lost = 0, lostBefore = 0, unsentStored = 0;
        long? earliestLost = null;
        for (var seq = 0L; seq < next; seq++)
        {
            var sentAt = stream.SentAt(seq);
            if (sentAt is null)
            {
                unsentStored += found[seq] > 0 ? 1 : 0;
                continue;
            }
            if (found[seq] > 0)
            {
                stored++;
                continue;
            }
            lost++;
            earliestLost = earliestLost is null ? sentAt : Math.Min(earliestLost.Value, sentAt.Value);
            if (faultAt is null || Stopwatch.GetElapsedTime(sentAt.Value, faultAt.Value) > window)
            {
                lostBefore++;
            }
        }
        var oldest = earliestLost is null ? 0 : faultAt is null ? double.NaN : Stopwatch.GetElapsedTime(earliestLost.Value, faultAt.Value).TotalSeconds;
        return new AuditResult(stream.Sent, stored, lost, duplicated, reordered, lostBefore, oldest, unindexed, unsentStored) { FirstReorder = firstReorder };
    }
}
