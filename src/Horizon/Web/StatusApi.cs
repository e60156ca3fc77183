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
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    /// <summary>Maps /api/status for a process of <paramref name="role"/>.</summary>
    public static void MapStatus(this WebApplication app, HorizonRole role) =>
        app.MapGet("/api/status", (IServiceProvider sp) => Results.Json(new
        {
            role = role.ToString().ToLowerInvariant(),
            store = sp.GetRequiredService<StoreConnection>().Description,
            connected = sp.GetRequiredService<StoreConnection>().Multiplexer.IsConnected,
            listeners = sp.GetRequiredService<BoundEndpoints>().Describe(),
            knownMetrics = sp.GetService<MetricRegistry>()?.Count,
            bufferedPoints = sp.GetService<SeriesWriter>()?.BufferedPoints,
            inFlightPoints = sp.GetService<SeriesWriter>()?.InFlightPoints,
            analyzer = sp.GetService<AnalyzerService>()?.LastPass,
        }, Json));
}
