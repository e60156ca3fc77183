using System.Text.Json;
using Horizon.Core;
using StackExchange.Redis;

namespace Horizon.Storage.Events;

/// <summary>Events in the store: the sorted set <see cref="StoreKeys.Events"/>, each member an
/// event's JSON scored by its time, kept for <see cref="EventOptions.Retention"/> and at most
/// <see cref="EventOptions.MaxEvents"/>.</summary>
public sealed class EventStore(StoreConnection store, EventOptions options)
{
    /// <summary>JSON as stored and served (snake_case).</summary>
    public static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    /// <summary>Stores an event, and drops those past the retention (or beyond the most kept).</summary>
    public async Task AddAsync(HorizonEvent e, long now)
    {
        var db = store.Database;
        await Task.WhenAll(
            db.SortedSetAddAsync(StoreKeys.Events, JsonSerializer.Serialize(e, Json), e.When),
            db.SortedSetRemoveRangeByScoreAsync(StoreKeys.Events, double.NegativeInfinity, now - options.Retention.TotalSeconds, Exclude.Stop),
            db.SortedSetRemoveRangeByRankAsync(StoreKeys.Events, 0, -options.MaxEvents - 1));
    }

    /// <summary>Events from <paramref name="from"/> to <paramref name="until"/> (Unix seconds, both
    /// included) carrying every one of <paramref name="tags"/>, oldest first, at most <paramref name="limit"/> (the newest kept).</summary>
    public async Task<List<HorizonEvent>> RangeAsync(long from, long until, IReadOnlyCollection<string>? tags = null, int limit = 10_000)
    {
        var members = await store.Database.SortedSetRangeByScoreAsync(StoreKeys.Events, from, until);
        var events = members.Select(Parse).OfType<HorizonEvent>().Where(e => tags is null || e.HasTags(tags)).ToList();
        return events.Count > limit ? events[^limit..] : events;
    }

    /// <summary>The event with this id, or null.</summary>
    public async Task<HorizonEvent?> FindAsync(string id) => (await FindMemberAsync(id))?.Event;

    /// <summary>Removes an event; false when there is none with that id.</summary>
    public async Task<bool> DeleteAsync(string id) =>
        await FindMemberAsync(id) is { } found && await store.Database.SortedSetRemoveAsync(StoreKeys.Events, found.Member);

    // Events are kept by time, not id: a lookup by id reads them all (at most MaxEvents).
    private async Task<(RedisValue Member, HorizonEvent Event)?> FindMemberAsync(string id)
    {
        foreach (var member in await store.Database.SortedSetRangeByRankAsync(StoreKeys.Events))
        {
            if (Parse(member) is { } e && e.Id == id)
            {
                return (member, e);
            }
        }
        return null;
    }

    private static HorizonEvent? Parse(RedisValue value)
    {
        try
        {
            return value.IsNullOrEmpty ? null : JsonSerializer.Deserialize<HorizonEvent>((string)value!, Json);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
