using System.Text.Json;
using Horizon.Core;
using Horizon.Storage;
using StackExchange.Redis;

namespace Horizon.Analyzer;

/// <summary>One analyzer's lease in <see cref="StoreKeys.Analyzers"/> (as stored and served).</summary>
public sealed record AnalyzerMember(string Member, string Host, int Pid, long StartedAt, long HeartbeatMs, int Owned, long LastPassAt)
{
    /// <summary>Alive: its heartbeat is younger than the lease.</summary>
    public bool AliveAt(long nowMs, TimeSpan lease) => nowMs - HeartbeatMs <= (long)lease.TotalMilliseconds;
}

/// <summary>Analyzers that split the metrics among themselves (<c>Analyzer:Shard=auto</c>): each
/// renews its lease in the store every third of <see cref="AnalyzerOptions.LeaseTimeout"/> (from its
/// own timer, so a long pass does not lose it) and, before each pass, reads who is alive and takes
/// its rendezvous share (<see cref="Shard.Auto"/>). A member that stops (or is stopped) renewing is
/// dead after the lease, and the others take its names on their next pass; one that leaves cleanly
/// removes its lease at once. One that joins takes its share from the others the same way, so N
/// changes without restarting anyone.</summary>
public sealed class AnalyzerMembership(StoreConnection store, string member, TimeSpan lease, TimeProvider time)
{
    /// <summary>JSON as stored (snake_case).</summary>
    public static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    private readonly long _startedAt = time.GetUtcNow().ToUnixTimeSeconds();
    private int _owned;
    private long _lastPassAt;

    /// <summary>This member's id.</summary>
    public string Member { get; } = member;

    /// <summary>A member id for this process: the host name, the process id and a random part.</summary>
    public static string NewId() => $"{Environment.MachineName}-{Environment.ProcessId}-{Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(2))}";

    /// <summary>What the last pass owned and when it ended, carried in the next heartbeats.</summary>
    public void Passed(int owned, long at)
    {
        Volatile.Write(ref _owned, owned);
        Interlocked.Exchange(ref _lastPassAt, at);
    }

    /// <summary>Renews the lease.</summary>
    public Task HeartbeatAsync() => store.Database.HashSetAsync(StoreKeys.Analyzers, Member, JsonSerializer.Serialize(
        new AnalyzerMember(Member, Environment.MachineName, Environment.ProcessId, _startedAt, time.GetUtcNow().ToUnixTimeMilliseconds(),
            Volatile.Read(ref _owned), Interlocked.Read(ref _lastPassAt)), Json));

    /// <summary>Renews the lease every third of it until <paramref name="stopping"/>; a failed
    /// renewal is tried again at the next tick (the lease outlives two misses).</summary>
    public async Task RunAsync(CancellationToken stopping)
    {
        using var timer = new PeriodicTimer(lease / 3, time);
        try
        {
            do
            {
                try
                {
                    await HeartbeatAsync();
                }
                catch (Exception e) when (e is RedisException or TimeoutException)
                {
                    // Tried again at the next tick.
                }
            }
            while (await timer.WaitForNextTickAsync(stopping));
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>This member's share now: renews the lease, reads the live members, and removes
    /// leases dead for ten times the lease (a crashed member's, so the hash does not grow).</summary>
    public async Task<Shard> ShareAsync()
    {
        await HeartbeatAsync();
        var nowMs = time.GetUtcNow().ToUnixTimeMilliseconds();
        var all = await ReadAsync(store);
        var stale = all.Where(m => nowMs - m.HeartbeatMs > 10 * (long)lease.TotalMilliseconds).Select(m => (RedisValue)m.Member).ToArray();
        if (stale.Length > 0)
        {
            await store.Database.HashDeleteAsync(StoreKeys.Analyzers, stale);
            await store.Database.HashDeleteAsync(StoreKeys.AnalyzerPasses, [.. stale.Select(m => (RedisValue)$"auto:{m}")]);
        }
        return Shard.Auto(Member, all.Where(m => m.AliveAt(nowMs, lease)).Select(m => m.Member));
    }

    /// <summary>Removes the lease and the last pass's summary (a clean stop: the others take over
    /// on their next pass, and the page does not warn about a member that left).</summary>
    public Task LeaveAsync() => Task.WhenAll(
        store.Database.HashDeleteAsync(StoreKeys.Analyzers, Member),
        store.Database.HashDeleteAsync(StoreKeys.AnalyzerPasses, $"auto:{Member}"));

    /// <summary>Every lease in the store.</summary>
    public static async Task<List<AnalyzerMember>> ReadAsync(StoreConnection store)
    {
        var list = new List<AnalyzerMember>();
        foreach (var entry in await store.Database.HashGetAllAsync(StoreKeys.Analyzers))
        {
            try
            {
                if (JsonSerializer.Deserialize<AnalyzerMember>((string)entry.Value!, Json) is { } m)
                {
                    list.Add(m);
                }
            }
            catch (JsonException)
            {
            }
        }
        return list;
    }
}
