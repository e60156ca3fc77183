using System.Text.Json;
using Horizon.Analyzer;
using Horizon.Analyzer.Deploys;
using Horizon.Core;
using Horizon.Storage;
using Horizon.Storage.Events;
using StackExchange.Redis;

namespace Horizon.Web;

/// <summary>
/// Deploy verdicts, for the page and for a deploy tool that gates on them. Anyone may read.
/// <list type="bullet">
/// <item><c>GET /api/deploys/{event id}</c>: the verdict (<c>ok</c>, <c>suspect</c>, <c>bad</c>,
/// <c>no_data</c>) with each KPI's level before and after; <c>pending</c> with <c>decides_at</c>
/// until the window has passed (<c>not_decided</c> when no analyzer decided it within an hour of
/// that: none ran, or the deploy was posted late); 404 for an event that is not a deploy or does not exist.</item>
/// <item><c>GET /api/deploys[?from=&amp;until=]</c>: the deploys in the range (a day by default), newest first, each with its verdict.</item>
/// </list>
/// </summary>
public static class DeployApi
{
    /// <summary>Maps the endpoints.</summary>
    public static void MapDeployApi(this WebApplication app)
    {
        app.MapGet("/api/deploys", async (long? from, long? until, EventStore events, StoreConnection store, AnalyzerOptions analyzer, TimeProvider time) =>
        {
            var now = time.GetUtcNow().ToUnixTimeSeconds();
            var deploys = await events.RangeAsync(from ?? now - 86400, until ?? now, [analyzer.Deploys.Tag], 1000);
            var verdicts = await VerdictsAsync(store, analyzer.Deploys, deploys, now);
            return Results.Json(new { count = verdicts.Count, deploys = verdicts.AsEnumerable().Reverse() }, DeployVerdicts.Json);
        });
        app.MapGet("/api/deploys/{id}", async (string id, EventStore events, StoreConnection store, AnalyzerOptions analyzer, TimeProvider time) =>
        {
            var now = time.GetUtcNow().ToUnixTimeSeconds();
            var deploy = await events.FindAsync(id) is { } e && e.HasTags([analyzer.Deploys.Tag]) ? e : null;
            return deploy is null
                ? Results.NotFound(new { id, error = $"no deploy event (tagged '{analyzer.Deploys.Tag}') with this id" })
                : Results.Json((await VerdictsAsync(store, analyzer.Deploys, [deploy], now))[0], DeployVerdicts.Json);
        });
    }

    private static async Task<List<DeployVerdict>> VerdictsAsync(StoreConnection store, DeployOptions options, List<HorizonEvent> deploys, long now)
    {
        if (deploys.Count == 0)
        {
            return [];
        }
        var stored = await store.Database.HashGetAsync(StoreKeys.Deploys, [.. deploys.Select(e => (RedisValue)e.Id)]);
        return [.. deploys.Select((e, i) => (stored[i].IsNull ? null : JsonSerializer.Deserialize<DeployVerdict>((string)stored[i]!, DeployVerdicts.Json))
            ?? DeployVerdicts.Undecided(e, options, now))];
    }
}
