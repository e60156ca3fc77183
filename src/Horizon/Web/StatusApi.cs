using System.Text.Json;
using Horizon.Analyzer;
using Horizon.Core.Metrics;
using Horizon.Ingest;
using Horizon.Storage;

namespace Horizon.Web;

/// <summary><c>GET /api/status</c>: what this process runs, its store, its listeners' addresses,
/// what the writer holds and the analyzer's last pass.</summary>
public static class StatusApi
{
    // snake_case, as every other endpoint answers (the analyzer's pass as /api/anomalies shows it).
    private static readonly JsonSerializerOptions Json = new(AnomalyPublisher.Json) { WriteIndented = true };

    /// <summary>Maps /api/status for a process of <paramref name="role"/>, and /api/analyzers:
    /// every analyzer's state, from the store (any role answers it).</summary>
    public static void MapStatus(this WebApplication app, HorizonRole role)
    {
        app.MapGet("/api/analyzers", async (StoreConnection store, AnalyzerOptions options, TimeProvider time) =>
        {
            var nowMs = time.GetUtcNow().ToUnixTimeMilliseconds();
            var passes = (await store.Database.HashGetAllAsync(Horizon.Core.StoreKeys.AnalyzerPasses))
                .ToDictionary(e => (string)e.Name!, e => JsonDocument.Parse((string)e.Value!).RootElement, StringComparer.Ordinal);
            var members = (await AnalyzerMembership.ReadAsync(store)).OrderBy(m => m.Member, StringComparer.Ordinal).Select(m => new
            {
                m.Member,
                m.Host,
                m.Pid,
                m.StartedAt,
                HeartbeatAgeSeconds = Math.Round((nowMs - m.HeartbeatMs) / 1000.0, 1),
                Alive = m.AliveAt(nowMs, options.LeaseTimeout),
                m.Owned,
                m.LastPassAt,
            }).ToList();
            // Fixed shards (i/N) have no lease; their passes say how they are.
            return Results.Json(new { lease_timeout_seconds = options.LeaseTimeout.TotalSeconds, members, passes }, Json);
        });
        app.MapGet("/api/status", (IServiceProvider sp) => Results.Json(new
        {
            role = role.ToString().ToLowerInvariant(),
            version = BuildInfo.Version,
            commit = BuildInfo.Commit,
            runtime = BuildInfo.Runtime,
            store = sp.GetRequiredService<StoreConnection>().Description,
            connected = sp.GetRequiredService<StoreConnection>().Multiplexer.IsConnected,
            listeners = sp.GetRequiredService<BoundEndpoints>().Describe(),
            series_at_start = sp.GetRequiredService<StoreConnection>().SeriesAtStart,
            known_metrics = sp.GetService<MetricRegistry>()?.Count,
            buffered_points = sp.GetService<SeriesWriter>()?.BufferedPoints,
            in_flight_points = sp.GetService<SeriesWriter>()?.InFlightPoints,
            analyzer = sp.GetService<AnalyzerService>()?.LastPass,
        }, Json));
    }
}
