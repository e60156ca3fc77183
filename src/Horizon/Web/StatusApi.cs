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

    /// <summary>Maps /api/status for a process of <paramref name="role"/>.</summary>
    public static void MapStatus(this WebApplication app, HorizonRole role) =>
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
