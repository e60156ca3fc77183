using System.Globalization;
using System.Text.Json;
using Horizon.Core;
using Horizon.Storage;
using StackExchange.Redis;

namespace Horizon.Analyzer.Incidents;

/// <summary>A saved shape with a name and notes (Oculus's "collections" of known problems): 30
/// points (a metric's minute means, or a drawn shape stretched to 30), matched against every new
/// incident.</summary>
public sealed record SavedShape(string Id, string Name, string? Notes, long CreatedAt, string CreatedBy, string? Metric, float[] Means)
{
    /// <summary>Its shape as a movement (for <see cref="Movement.ShapeCorrelation"/>).</summary>
    public Movement? AsMovement() => Means.Length == Movement.Bins && Array.TrueForAll(Means, float.IsFinite) ? Movement.FromMeans(0, Means) : null;
}

/// <summary>An incident's match with a saved shape: "looks like: cache eviction storm, saved 2026-11-02".</summary>
public sealed record ShapeLikeness(string Id, string Name, long SavedAt, double Correlation, string Metric)
{
    /// <summary>The line alerts and the page show.</summary>
    public override string ToString() =>
        $"looks like: {Name}, saved {DateTimeOffset.FromUnixTimeSeconds(SavedAt).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)}";
}

/// <summary>The collections in the store (<see cref="StoreKeys.Collections"/>), and matching an incident against them.</summary>
public sealed class CollectionStore(StoreConnection store)
{
    /// <summary>An incident metric's half hour looks like a saved shape from this correlation (same direction).</summary>
    public const double MinCorrelation = 0.9;

    /// <summary>Every saved shape (entries that do not parse are skipped), newest first.</summary>
    public async Task<List<SavedShape>> AllAsync()
    {
        var entries = await store.Database.HashGetAllAsync(StoreKeys.Collections);
        return [.. entries.Select(e => IncidentStore.Parse<SavedShape>(e.Value)).OfType<SavedShape>().OrderByDescending(s => s.CreatedAt)];
    }

    /// <summary>Saves a shape.</summary>
    public Task AddAsync(SavedShape shape) => store.Database.HashSetAsync(StoreKeys.Collections, shape.Id, JsonSerializer.Serialize(shape, IncidentStore.Json));

    /// <summary>Deletes one; false when there was none.</summary>
    public Task<bool> DeleteAsync(string id) => store.Database.HashDeleteAsync(StoreKeys.Collections, id);

    /// <summary>The saved shape one of the incident's metrics (with a movement) looks like best, at
    /// least <see cref="MinCorrelation"/>, or null.</summary>
    public static ShapeLikeness? Match(Incident incident, IReadOnlyList<SavedShape> shapes)
    {
        ShapeLikeness? best = null;
        foreach (var shape in shapes)
        {
            if (shape.AsMovement() is not { } saved)
            {
                continue;
            }
            foreach (var member in incident.Metrics)
            {
                if (member.Movement is { } movement && movement.ShapeCorrelation(saved) is var r && r >= MinCorrelation && r > (best?.Correlation ?? 0))
                {
                    best = new ShapeLikeness(shape.Id, shape.Name, shape.CreatedAt, Math.Round(r, 3), member.Metric);
                }
            }
        }
        return best;
    }
}
