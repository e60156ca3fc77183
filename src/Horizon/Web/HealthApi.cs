using System.Globalization;
using Horizon.Analyzer;
using Horizon.Ingest;
using Horizon.Storage;

namespace Horizon.Web;

/// <summary>One thing /health looks at.</summary>
/// <param name="Name">store, writer, disk, listener:&lt;name&gt;, analyzer.</param>
/// <param name="Ok">Whether it is as it should be.</param>
/// <param name="Detail">What was seen.</param>
public sealed record HealthCheck(string Name, bool Ok, string Detail);

/// <summary>
/// Liveness and readiness. <c>/health/live</c> answers while the process serves HTTP (restart it
/// when this fails). <c>/health</c> (also <c>/health/ready</c>) answers 200 only when everything this
/// process runs is working: the store reachable and taking writes, every enabled listener bound,
/// the embedded store's disk not full, the analyzer finishing passes; otherwise 503, with each check
/// and what it saw.
/// </summary>
public static class HealthApi
{
    /// <summary>Writes failing for longer than this make the process unready.</summary>
    public static readonly TimeSpan WriteFailureGrace = TimeSpan.FromSeconds(10);

    /// <summary>Maps /health/live, /health and /health/ready.</summary>
    public static void MapHealth(this WebApplication app)
    {
        app.MapGet("/health/live", () => Results.Text("ok"));
        app.MapGet("/health", Ready);
        app.MapGet("/health/ready", Ready);
    }

    private static IResult Ready(IServiceProvider services)
    {
        var checks = Checks(services);
        var ok = checks.All(c => c.Ok);
        return Results.Json(new { status = ok ? "ok" : "unhealthy", checks }, statusCode: ok ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable);
    }

    /// <summary>The checks of what this process runs.</summary>
    public static List<HealthCheck> Checks(IServiceProvider services)
    {
        var c = CultureInfo.InvariantCulture;
        var store = services.GetRequiredService<StoreConnection>();
        var checks = new List<HealthCheck>
        {
            new("store", store.Multiplexer.IsConnected, store.Multiplexer.IsConnected ? store.Description : $"not connected: {store.Description}"),
        };
        if (store.DiskGuard is { } disk)
        {
            checks.Add(new("disk", !disk.Full, string.Create(c, $"{disk.FreeBytes / 1048576.0:F0} MB free (reserve {disk.ReserveBytes / 1048576.0:F0} MB){(disk.Full ? ": writes paused" : "")}")));
        }
        if (services.GetService<SeriesWriter>() is { } writer)
        {
            var failing = writer.FailingFor;
            var ok = failing is null || failing < WriteFailureGrace;
            checks.Add(new("writer", ok, failing is null
                ? string.Create(c, $"{writer.BufferedPoints} points buffered, {writer.InFlightPoints} in flight")
                : string.Create(c, $"writes failing for {failing.Value.TotalSeconds:F0} s; {writer.BufferedPoints} points buffered, {writer.InFlightPoints} in flight")));
            var listeners = services.GetRequiredService<ListenerOptions>();
            var metrics = services.GetRequiredService<IngestMetrics>();
            var bound = services.GetRequiredService<BoundEndpoints>();
            var logs = services.GetRequiredService<Horizon.Ingest.Logs.LogOptions>();
            foreach (var (name, endpoint) in listeners.Named().Concat(logs.Named()))
            {
                if (!endpoint.Enabled)
                {
                    continue;
                }
                var up = metrics.ListenerUp.WithLabels(name).Value == 1;
                checks.Add(new($"listener:{name}", up, up ? bound[name]?.ToString() ?? "binding" : "could not bind (see the log)"));
            }
        }
        if (services.GetService<AnalyzerService>() is { } analyzer)
        {
            var since = analyzer.SinceLastPass;
            var stalled = analyzer.Stalled ? " (stalled)" : "";
            checks.Add(new("analyzer", !analyzer.Stalled, analyzer.Passes == 0
                ? string.Create(c, $"first pass running for {since.TotalSeconds:F0} s{stalled}")
                : string.Create(c, $"last pass finished {since.TotalSeconds:F0} s ago{stalled}")));
        }
        return checks;
    }
}
