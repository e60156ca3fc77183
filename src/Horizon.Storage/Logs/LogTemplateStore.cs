using System.Text.Json;
using Horizon.Core;
using StackExchange.Redis;

namespace Horizon.Storage.Logs;

/// <summary>A log template as stored and served: its series (<c>logs.&lt;source&gt;.&lt;id&gt;</c>),
/// source, text, the most severe severity its lines had, when it was first and last seen (Unix
/// seconds), its lines, and a few sample lines (the first, and the latest).</summary>
public sealed record StoredLogTemplate(
    string Series,
    string Source,
    string Id,
    string Template,
    string Severity,
    long FirstSeen,
    long LastSeen,
    long Lines,
    IReadOnlyList<string> Samples);

/// <summary>The templates in the store (<see cref="StoreKeys.LogTemplates"/>), the new ones to
/// judge (<see cref="StoreKeys.LogNewTemplates"/>) and the sources' first sightings.</summary>
public sealed class LogTemplateStore(StoreConnection store)
{
    /// <summary>JSON as stored and served (snake_case).</summary>
    public static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    /// <summary>Saves templates, and marks those listed in <paramref name="newOnes"/> as new,
    /// scored by <paramref name="now"/> (kept a day for the analyzer to pick up).</summary>
    public async Task SaveAsync(IReadOnlyCollection<StoredLogTemplate> templates, IReadOnlyCollection<StoredLogTemplate> newOnes, long now)
    {
        var db = store.Database;
        var tasks = new List<Task>();
        if (templates.Count > 0)
        {
            tasks.Add(db.HashSetAsync(StoreKeys.LogTemplates, [.. templates.Select(t => new HashEntry(t.Series, JsonSerializer.Serialize(t, Json)))]));
        }
        if (newOnes.Count > 0)
        {
            tasks.Add(db.SortedSetAddAsync(StoreKeys.LogNewTemplates, [.. newOnes.Select(t => new SortedSetEntry(t.Series, now))]));
            tasks.Add(db.SortedSetRemoveRangeByScoreAsync(StoreKeys.LogNewTemplates, double.NegativeInfinity, now - 86_400, Exclude.Stop));
        }
        await Task.WhenAll(tasks);
    }

    /// <summary>Every template, or those of one source.</summary>
    public async Task<List<StoredLogTemplate>> AllAsync(string? source = null)
    {
        var all = (await store.Database.HashValuesAsync(StoreKeys.LogTemplates)).Select(Parse).OfType<StoredLogTemplate>();
        return [.. all.Where(t => source is null || t.Source == source)];
    }

    /// <summary>The templates with these series names (missing ones left out).</summary>
    public async Task<List<StoredLogTemplate>> FindAsync(IReadOnlyList<string> series)
    {
        if (series.Count == 0)
        {
            return [];
        }
        var values = await store.Database.HashGetAsync(StoreKeys.LogTemplates, [.. series.Select(s => (RedisValue)s)]);
        return [.. values.Select(Parse).OfType<StoredLogTemplate>()];
    }

    /// <summary>Templates recorded as new in (<paramref name="after"/>, <paramref name="until"/>].</summary>
    public async Task<List<StoredLogTemplate>> NewAsync(long after, long until)
    {
        var members = await store.Database.SortedSetRangeByScoreAsync(StoreKeys.LogNewTemplates, after, until, Exclude.Start);
        return await FindAsync([.. members.Select(m => (string)m!)]);
    }

    /// <summary>When each source was first seen; records <paramref name="seen"/> for sources not
    /// known yet and returns the stored times of all of them.</summary>
    public async Task<Dictionary<string, long>> SourcesAsync(IReadOnlyDictionary<string, long>? seen = null)
    {
        var db = store.Database;
        foreach (var (source, when) in seen ?? new Dictionary<string, long>())
        {
            await db.HashSetAsync(StoreKeys.LogSources, source, when, When.NotExists);
        }
        return (await db.HashGetAllAsync(StoreKeys.LogSources)).ToDictionary(e => (string)e.Name!, e => (long)e.Value, StringComparer.Ordinal);
    }

    private static StoredLogTemplate? Parse(RedisValue value)
    {
        try
        {
            return value.IsNullOrEmpty ? null : JsonSerializer.Deserialize<StoredLogTemplate>((string)value!, Json);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
