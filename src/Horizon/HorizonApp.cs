using System.Net;
using Horizon.Algorithms.Detection;
using Horizon.Analyzer;
using Horizon.Core.Metrics;
using Horizon.Core.Series;
using Horizon.Ingest;
using Horizon.Storage;
using Horizon.Web;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Prometheus;

namespace Horizon;

/// <summary>What a horizon process runs.</summary>
public enum HorizonRole
{
    /// <summary>Every role in one process, on the embedded store unless one is configured.</summary>
    All,

    /// <summary>Listeners, writer and Roomba.</summary>
    Ingest,

    /// <summary>The analyzer (one shard of it, with --shard i/N).</summary>
    Analyze,

    /// <summary>The HTTP endpoint only.</summary>
    Web,
}

/// <summary>Builds a horizon process for a role: configuration, services, Kestrel endpoints.</summary>
public static class HorizonApp
{
    /// <summary>Command-line switches and the settings they set.</summary>
    public static readonly Dictionary<string, string> SwitchMappings = new(StringComparer.Ordinal)
    {
        ["--redis"] = "Store:Redis",
        ["--data"] = "Store:Embedded:DataDirectory",
        ["--bind"] = "Listeners:Bind",
        ["--web-port"] = "Web:Port",
        ["--shard"] = "Analyzer:Shard",
    };

    /// <summary>Splits the role (first argument, if it is not a switch) from the switches.</summary>
    public static (HorizonRole? Role, string[] Switches) ParseRole(string[] args)
    {
        if (args.Length == 0 || args[0].StartsWith('-'))
        {
            return (args.Contains("--help") || args.Contains("-h") ? null : HorizonRole.All, args);
        }
        HorizonRole? role = args[0] switch
        {
            "all" => HorizonRole.All,
            "ingest" => HorizonRole.Ingest,
            "analyze" or "analyzer" => HorizonRole.Analyze,
            "web" => HorizonRole.Web,
            _ => null,
        };
        return (role, args[1..]);
    }

    /// <summary>Builds the application. <paramref name="configure"/> adds configuration sources
    /// after the standard ones (tests use it for overrides).</summary>
    public static WebApplication Build(HorizonRole role, string[] args, Action<IConfigurationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            Args = args,
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Configuration.Sources.Clear();
        builder.Configuration
            .AddJsonFile(Path.Combine(AppContext.BaseDirectory, "appsettings.json"), optional: true)
            .AddJsonFile(Path.GetFullPath("horizon.json"), optional: true)
            .AddEnvironmentVariables("HORIZON_")
            .AddCommandLine(args, SwitchMappings);
        configure?.Invoke(builder.Configuration);

        builder.Logging.ClearProviders();
        builder.Logging.AddConfiguration(builder.Configuration.GetSection("Logging"));
        builder.Logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "yyyy-MM-dd HH:mm:ss ";
            o.UseUtcTimestamp = true;
        });

        var options = HorizonOptions.Bind(builder.Configuration);
        var services = builder.Services;
        services.AddSingleton(options);
        services.AddSingleton(options.Store);
        services.AddSingleton(options.Series);
        services.AddSingleton(options.Writer);
        services.AddSingleton(options.Roomba);
        services.AddSingleton(options.Listeners);
        services.AddSingleton(options.Statsd);
        services.AddSingleton(options.Ingest);
        services.AddSingleton(options.Analyzer);
        services.AddSingleton(options.Web);
        services.AddSingleton(options.Events);
        services.AddSingleton(options.Forward);
        services.AddSingleton(options.Logs);
        services.AddSingleton<Horizon.Storage.Logs.LogTemplateStore>();
        services.AddSingleton<Horizon.Storage.Events.EventStore>();
        services.AddSingleton<ShapeIndex>();
        services.AddSingleton<GraphiteNames>();
        services.AddSingleton(TimeProvider.System);
        // One registry per host (tests run several hosts in a process); each component creates its
        // own collectors on it (IngestMetrics, WriterMetrics, AnalyzerMetrics, ...).
        services.AddSingleton(_ =>
        {
            var registry = Prometheus.Metrics.NewCustomRegistry();
            DotNetStats.Register(registry);
            BuildInfo.Register(registry);
            return registry;
        });
        services.TryAddSingleton<ConnectionMetrics>();
        services.TryAddSingleton<Horizon.Ingest.Logs.LogMetrics>();
        services.AddSingleton<WebMetrics>();
        // Opened when first needed (at start-up, by the first service that uses the store) and
        // closed by the container after every hosted service has stopped.
        services.AddSingleton(sp => StoreConnection.Open(options.Store, sp.GetRequiredService<ILoggerFactory>(), options.Series.Names()));
        services.Configure<HostOptions>(h => h.ShutdownTimeout = options.Ingest.DrainTimeout + TimeSpan.FromSeconds(30));

        var bound = new BoundEndpoints();
        services.AddSingleton(bound);
        if (role is HorizonRole.All or HorizonRole.Ingest)
        {
            services.AddHorizonIngest();
        }

        if (role is HorizonRole.All or HorizonRole.Analyze)
        {
            services.AddSingleton<AnalyzerMetrics>();
            services.AddSingleton<AlertMetrics>();
            services.AddSingleton<AnalyzerService>();
            services.AddHostedService(sp => sp.GetRequiredService<AnalyzerService>());
        }

        services.AddHostFiltering(h =>
        {
            h.AllowedHosts = [.. options.Web.EffectiveAllowedHosts];
            h.IncludeFailureMessage = false;
        });
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            ListenOptions? web = null;
            var webLimiter = new ConnectionLimiter(options.Web.MaxConnections, kestrel.ApplicationServices.GetRequiredService<ConnectionMetrics>().ConnectionsRefused,
                kestrel.ApplicationServices.GetRequiredService<ILoggerFactory>().CreateLogger("Horizon.Web"));
            kestrel.Listen(IPAddress.Parse(options.Web.Bind), options.Web.Port, lo =>
            {
                web = lo;
                lo.Use(webLimiter.For("web"));
            });
            bound.Add("web", () => web?.IPEndPoint is { Port: > 0 } ep ? ep : null);
            if (role is HorizonRole.All or HorizonRole.Ingest)
            {
                kestrel.ListenForIngest(options.Listeners, bound);
            }
        });

        var app = builder.Build();
        app.UseHostFiltering();
        app.MapMetrics("/metrics", app.Services.GetRequiredService<CollectorRegistry>());
        app.MapAnomalyViews();
        app.MapHealth();
        app.MapStatus(role);
        app.MapSeriesApi(options.Series, options.Analyzer.Ensemble);
        app.MapMetadataApi();
        app.MapIncidentApi();
        app.MapEventApi();
        app.MapDeployApi();
        app.MapSimilarApi();
        app.MapGraphiteApi(options.Series);
        app.MapLogApi();
        app.Lifetime.ApplicationStarted.Register(() =>
        {
            var log = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Horizon");
            // Resolving the store here makes start-up fail fast when it is unreachable.
            log.LogInformation("{Build}: {Role} started; store: {Store}; listening: {Endpoints}",
                BuildInfo.Line, role.ToString().ToLowerInvariant(), app.Services.GetRequiredService<StoreConnection>().Description,
                string.Join(", ", bound.Describe().Select(p => $"{p.Key}={p.Value}")));
        });
        return app;
    }
}
