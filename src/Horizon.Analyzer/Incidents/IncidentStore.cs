using System.Text.Json;
using Horizon.Core;
using Horizon.Storage;
using StackExchange.Redis;

namespace Horizon.Analyzer.Incidents;

/// <summary>Reads and writes incidents, their history, acknowledgements and silences in the store
/// (<see cref="StoreKeys.Incidents"/> and the keys beside it). Shared by the analyzer, which writes
/// incidents, and the API, which writes acknowledgements and silences.</summary>
public sealed class IncidentStore(StoreConnection store)
{
    /// <summary>JSON as stored and served (snake_case, like findings).</summary>
    public static JsonSerializerOptions Json => AnomalyPublisher.Json;

    /// <summary>Every stored incident (entries that do not parse are skipped).</summary>
    public async Task<List<Incident>> IncidentsAsync()
    {
        var entries = await store.Database.HashGetAllAsync(StoreKeys.Incidents);
        return [.. entries.Select(e => Parse<Incident>(e.Value)).OfType<Incident>()];
    }

    /// <summary>The open incidents (by <see cref="StoreKeys.IncidentsOpen"/>).</summary>
    public async Task<List<Incident>> OpenIncidentsAsync()
    {
        var ids = await store.Database.SetMembersAsync(StoreKeys.IncidentsOpen);
        if (ids.Length == 0)
        {
            return [];
        }
        var values = await store.Database.HashGetAsync(StoreKeys.Incidents, ids);
        return [.. values.Select(v => Parse<Incident>(v)).OfType<Incident>().Where(i => i.State == IncidentState.Open)];
    }

    /// <summary>Lists these incidents as open (taking up a store written before the open set existed).</summary>
    public Task MarkOpenAsync(IEnumerable<string> ids)
    {
        var values = ids.Select(id => (RedisValue)id).ToArray();
        return values.Length == 0 ? Task.CompletedTask : store.Database.SetAddAsync(StoreKeys.IncidentsOpen, values);
    }

    /// <summary>The version of the incidents (see <see cref="StoreKeys.IncidentsVersion"/>).</summary>
    public async Task<long> VersionAsync() => (long?)await store.Database.StringGetAsync(StoreKeys.IncidentsVersion) ?? 0;

    /// <summary>Takes the incidents' lock for <paramref name="holder"/>, trying for up to
    /// <paramref name="wait"/>; false when another analyzer kept it that long.</summary>
    public async Task<bool> LockAsync(string holder, TimeSpan wait)
    {
        var deadline = DateTime.UtcNow + wait;
        while (!await store.Database.StringSetAsync(StoreKeys.IncidentsLock, holder, TimeSpan.FromSeconds(30), When.NotExists))
        {
            if (DateTime.UtcNow >= deadline)
            {
                return false;
            }
            await Task.Delay(50);
        }
        return true;
    }

    /// <summary>Gives the lock back if <paramref name="holder"/> still holds it.</summary>
    public Task UnlockAsync(string holder) => store.Database.ScriptEvaluateAsync(
        "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0",
        [StoreKeys.IncidentsLock], [holder]);

    /// <summary>One incident, or null.</summary>
    public async Task<Incident?> IncidentAsync(string id) => Parse<Incident>(await store.Database.HashGetAsync(StoreKeys.Incidents, id));

    /// <summary>The newest <paramref name="count"/> history entries.</summary>
    public async Task<List<IncidentEvent>> HistoryAsync(int count)
    {
        var entries = await store.Database.ListRangeAsync(StoreKeys.IncidentHistory, 0, Math.Max(0, count - 1));
        return [.. entries.Select(e => Parse<IncidentEvent>(e)).OfType<IncidentEvent>()];
    }

    /// <summary>The acknowledgements.</summary>
    public async Task<Dictionary<string, Acknowledgement>> AcknowledgementsAsync()
    {
        var entries = await store.Database.HashGetAllAsync(StoreKeys.IncidentAcknowledgements);
        var acks = new Dictionary<string, Acknowledgement>(StringComparer.Ordinal);
        foreach (var e in entries)
        {
            if (Parse<Acknowledgement>(e.Value) is { } ack)
            {
                acks[e.Name!] = ack;
            }
        }
        return acks;
    }

    /// <summary>The silences (ended ones too, until they are deleted).</summary>
    public async Task<List<Silence>> SilencesAsync()
    {
        var entries = await store.Database.HashGetAllAsync(StoreKeys.Silences);
        return [.. entries.Select(e => Parse<Silence>(e.Value)).OfType<Silence>()];
    }

    /// <summary>Writes what a pass changed: the incidents (and which are open), the events at the
    /// head of the bounded history, and removes the <paramref name="expired"/> resolved incidents.
    /// Returns the incidents' version after the write.</summary>
    public async Task<long> SaveAsync(IReadOnlyCollection<Incident> changed, IReadOnlyList<IncidentEvent> events, int historyLength, IEnumerable<string> expired)
    {
        var db = store.Database;
        var tasks = new List<Task>();
        if (changed.Count > 0)
        {
            tasks.Add(db.HashSetAsync(StoreKeys.Incidents, [.. changed.Select(i => new HashEntry(i.Id, JsonSerializer.Serialize(i, Json)))]));
            var (open, resolved) = (changed.Where(i => i.State == IncidentState.Open).Select(i => (RedisValue)i.Id).ToArray(),
                changed.Where(i => i.State != IncidentState.Open).Select(i => (RedisValue)i.Id).ToArray());
            if (open.Length > 0)
            {
                tasks.Add(db.SetAddAsync(StoreKeys.IncidentsOpen, open));
            }
            if (resolved.Length > 0)
            {
                tasks.Add(db.SetRemoveAsync(StoreKeys.IncidentsOpen, resolved));
            }
        }
        if (events.Count > 0 && historyLength > 0)
        {
            tasks.Add(db.ListLeftPushAsync(StoreKeys.IncidentHistory, [.. events.Select(e => (RedisValue)JsonSerializer.Serialize(e, Json))]));
            tasks.Add(db.ListTrimAsync(StoreKeys.IncidentHistory, 0, historyLength - 1));
        }
        var gone = expired.Select(id => (RedisValue)id).ToArray();
        if (gone.Length > 0)
        {
            tasks.Add(db.HashDeleteAsync(StoreKeys.Incidents, gone));
            tasks.Add(db.HashDeleteAsync(StoreKeys.IncidentAcknowledgements, gone));
        }
        var version = db.StringIncrementAsync(StoreKeys.IncidentsVersion);
        tasks.Add(version);
        await Task.WhenAll(tasks);
        return await version;
    }

    /// <summary>Stores an acknowledgement (the analyzer applies it on its next pass).</summary>
    public Task AcknowledgeAsync(string id, Acknowledgement ack) =>
        store.Database.HashSetAsync(StoreKeys.IncidentAcknowledgements, id, JsonSerializer.Serialize(ack, Json));

    /// <summary>Stores a silence.</summary>
    public Task SilenceAsync(Silence silence) =>
        store.Database.HashSetAsync(StoreKeys.Silences, silence.Id, JsonSerializer.Serialize(silence, Json));

    /// <summary>Deletes a silence; false when there was none.</summary>
    public Task<bool> UnsilenceAsync(string id) => store.Database.HashDeleteAsync(StoreKeys.Silences, id);

    /// <summary>The taught shapes' version (null: none written yet).</summary>
    public async Task<string?> ProfilesVersionAsync() => (string?)await store.Database.StringGetAsync(StoreKeys.ProfilesVersion);

    /// <summary>Every taught shape.</summary>
    public async Task<List<TaughtShape>> ProfilesAsync()
    {
        var entries = await store.Database.HashGetAllAsync(StoreKeys.Profiles);
        return [.. entries.SelectMany(e => Parse<List<TaughtShape>>(e.Value) ?? [])];
    }

    /// <summary>A metric's taught shapes.</summary>
    public async Task<List<TaughtShape>> ProfilesAsync(string metric) => Parse<List<TaughtShape>>(await store.Database.HashGetAsync(StoreKeys.Profiles, metric)) ?? [];

    /// <summary>Adds shapes to their metrics' lists (at most <see cref="TaughtShapes.PerMetric"/> each,
    /// the oldest dropped) and bumps the version. Each list is rewritten only if nobody changed it
    /// since it was read (a transaction on its old value, tried again otherwise), so two people
    /// teaching one metric at the same moment both keep their shape.</summary>
    public async Task TeachAsync(IReadOnlyList<TaughtShape> shapes)
    {
        var db = store.Database;
        foreach (var group in shapes.GroupBy(s => s.Metric))
        {
            for (var attempt = 0; ; attempt++)
            {
                var old = await db.HashGetAsync(StoreKeys.Profiles, group.Key);
                var list = Parse<List<TaughtShape>>(old) ?? [];
                list.AddRange(group);
                var write = db.CreateTransaction();
                write.AddCondition(old.IsNull ? Condition.HashNotExists(StoreKeys.Profiles, group.Key) : Condition.HashEqual(StoreKeys.Profiles, group.Key, old));
                _ = write.HashSetAsync(StoreKeys.Profiles, group.Key, JsonSerializer.Serialize(list.TakeLast(TaughtShapes.PerMetric).ToList(), Json));
                if (await write.ExecuteAsync())
                {
                    break;
                }
                if (attempt == 100)
                {
                    throw new InvalidOperationException($"the taught shapes of {group.Key} kept changing under 100 tries");
                }
            }
        }
        await db.StringIncrementAsync(StoreKeys.ProfilesVersion);
    }

    /// <summary>Forgets a metric's taught shapes; false when it had none.</summary>
    public async Task<bool> ForgetAsync(string metric)
    {
        var removed = await store.Database.HashDeleteAsync(StoreKeys.Profiles, metric);
        if (removed)
        {
            await store.Database.StringIncrementAsync(StoreKeys.ProfilesVersion);
        }
        return removed;
    }

    /// <summary>A stored JSON value as <typeparamref name="T"/>, or null when it is missing or does not parse.</summary>
    internal static T? Parse<T>(RedisValue value) where T : class
    {
        if (value.IsNullOrEmpty)
        {
            return null;
        }
        try
        {
            return JsonSerializer.Deserialize<T>((string)value!, Json);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
