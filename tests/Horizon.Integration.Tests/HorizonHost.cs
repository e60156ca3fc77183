using System.Net;
using System.Net.Http;
using Horizon.Analyzer;
using Horizon.Ingest;
using Horizon.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;

namespace Horizon.Integration.Tests;

/// <summary>A whole horizon process (role "all") hosted in the test process: real Kestrel and UDP
/// listeners on free loopback ports, writing to a real redis-server or to the embedded Garnet.</summary>
public sealed class HorizonHost : IAsyncDisposable
{
    private static readonly HttpClient Http = new();
    private readonly WebApplication _app;
    private readonly string? _ownedDataDirectory;
    private readonly string _workDirectory;
    private readonly bool _ownsWorkDirectory;
    private bool _stopped;

    private HorizonHost(WebApplication app, string? ownedDataDirectory, string workDirectory, bool ownsWorkDirectory)
    {
        _app = app;
        _ownedDataDirectory = ownedDataDirectory;
        _workDirectory = workDirectory;
        _ownsWorkDirectory = ownsWorkDirectory;
    }

    /// <summary>A temporary folder of this host (analyzer cache, anomalies file).</summary>
    public string WorkDirectory => _workDirectory;

    /// <summary>Starts a host on <paramref name="redis"/> (null: the embedded store in
    /// <paramref name="dataDirectory"/>, a fresh temporary one by default).</summary>
    public static async Task<HorizonHost> StartAsync(string? redis, IDictionary<string, string?>? overrides = null, string? dataDirectory = null,
        HorizonRole role = HorizonRole.All, string? workDirectory = null)
    {
        var ownsWork = workDirectory is null;
        workDirectory ??= Path.Combine(Path.GetTempPath(), "horizon-work-" + Guid.NewGuid().ToString("N"));
        string? owned = null;
        if (redis is null && dataDirectory is null)
        {
            owned = dataDirectory = Path.Combine(Path.GetTempPath(), "horizon-data-" + Guid.NewGuid().ToString("N"));
        }
        var settings = new Dictionary<string, string?>
        {
            ["Store:Redis"] = redis ?? "",
            ["Store:Embedded:Port"] = "0",
            ["Store:Embedded:DataDirectory"] = dataDirectory ?? "unused",
            ["Store:Embedded:MemorySize"] = "256m",
            ["Store:Embedded:IndexSize"] = "16m",
            ["Store:Embedded:PageSize"] = "1m",
            ["Listeners:Plaintext:Port"] = "0",
            ["Listeners:Pickle:Port"] = "0",
            ["Listeners:StatsdUdp:Port"] = "0",
            ["Listeners:StatsdTcp:Port"] = "0",
            ["Listeners:StatsdAdmin:Port"] = "0",
            ["Listeners:Msgpack:Port"] = "0",
            ["Listeners:UdpReceiveLoops"] = "2",
            ["Logs:SyslogUdp:Port"] = "0",
            ["Logs:SyslogTcp:Port"] = "0",
            ["Logs:PlainTcp:Port"] = "0",
            ["Logs:JsonTcp:Port"] = "0",
            // StatsD flushes its own counters into the store every interval; tests that want
            // StatsD turn it on, the others get a store holding only what they wrote.
            ["Listeners:StatsdUdp:Enabled"] = "false",
            ["Listeners:StatsdTcp:Enabled"] = "false",
            ["Web:Port"] = "0",
            ["Roomba:Enabled"] = "false",
            ["Statsd:FlushInterval"] = "00:00:01",
            ["Analyzer:CacheDirectory"] = Path.Combine(workDirectory, "analyzer"),
            ["Analyzer:AnomaliesFile"] = Path.Combine(workDirectory, "anomalies.json"),
            ["Analyzer:MinPassInterval"] = "00:00:01",
            ["Logging:LogLevel:Default"] = "Warning",
            ["Web:WriteToken"] = TestSupport.WriteToken,
        };
        foreach (var (k, v) in overrides ?? new Dictionary<string, string?>())
        {
            settings[k] = v;
        }
        var app = HorizonApp.Build(role, [], c => c.AddInMemoryCollection(settings));
        await app.StartAsync();
        return new HorizonHost(app, owned, workDirectory, ownsWork);
    }

    /// <summary>The application's services.</summary>
    public IServiceProvider Services => _app.Services;

    /// <summary>The store connection Horizon writes through.</summary>
    public StoreConnection Store => Services.GetRequiredService<StoreConnection>();

    /// <summary>The store's database, for assertions.</summary>
    public IDatabase Db => Store.Database;

    /// <summary>The series writer's collectors.</summary>
    public WriterMetrics WriterMetrics => Services.GetRequiredService<WriterMetrics>();

    /// <summary>The ingest listeners' collectors.</summary>
    public IngestMetrics IngestMetrics => Services.GetRequiredService<IngestMetrics>();

    /// <summary>The TCP connection collectors.</summary>
    public ConnectionMetrics ConnectionMetrics => Services.GetRequiredService<ConnectionMetrics>();

    /// <summary>The StatsD flusher's collectors.</summary>
    public StatsdMetrics StatsdMetrics => Services.GetRequiredService<StatsdMetrics>();

    /// <summary>Roomba's collectors.</summary>
    public RoombaMetrics RoombaMetrics => Services.GetRequiredService<RoombaMetrics>();

    /// <summary>The analyzer's collectors.</summary>
    public AnalyzerMetrics AnalyzerMetrics => Services.GetRequiredService<AnalyzerMetrics>();

    /// <summary>Where a listener listens ("plaintext", "pickle", "statsd_udp", "statsd_tcp", "msgpack", "web").</summary>
    public IPEndPoint Endpoint(string listener) =>
        Services.GetRequiredService<BoundEndpoints>()[listener] ?? throw new InvalidOperationException($"{listener} is not bound");

    /// <summary>GET /metrics over HTTP.</summary>
    public Task<string> ScrapeAsync() => Http.GetStringAsync($"http://{Endpoint("web")}/metrics");

    /// <summary>Stops the host as SIGTERM would.</summary>
    public async Task StopAsync()
    {
        if (!_stopped)
        {
            _stopped = true;
            await _app.StopAsync();
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        await _app.DisposeAsync();
        foreach (var dir in new[] { _ownedDataDirectory, _ownsWorkDirectory ? _workDirectory : null })
        {
            try
            {
                if (dir is not null && Directory.Exists(dir))
                {
                    Directory.Delete(dir, recursive: true);
                }
            }
            catch (IOException)
            {
            }
        }
    }
}
