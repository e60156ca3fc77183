using System.Collections.Concurrent;
using System.Net;
using Horizon.Core.Metrics;
using Horizon.Core.Points;
using Horizon.Core.Series;
using Horizon.Core.Statsd;
using Horizon.Ingest.Logs;
using Horizon.Storage;
using Horizon.Storage.Events;
using Horizon.Storage.Forwarding;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Horizon.Ingest;

/// <summary>Where each listener ended up listening (ports may be 0 in configuration).</summary>
public sealed class BoundEndpoints
{
    private readonly ConcurrentDictionary<string, Func<IPEndPoint?>> _endpoints = new();

    /// <summary>Records how to find a listener's endpoint once it is bound.</summary>
    public void Add(string listener, Func<IPEndPoint?> endpoint) => _endpoints[listener] = endpoint;

    /// <summary>The endpoint of a listener, or null when it is disabled or not bound yet.</summary>
    public IPEndPoint? this[string listener] => _endpoints.TryGetValue(listener, out var f) ? f() : null;

    /// <summary>All listeners and their endpoints.</summary>
    public IReadOnlyDictionary<string, string> Describe() =>
        _endpoints.ToDictionary(p => p.Key, p => p.Value()?.ToString() ?? "(not bound)");
}

/// <summary>Registration of the ingest role.</summary>
public static class IngestHosting
{
    /// <summary>Registers the writer, the gate, StatsD, the UDP listeners, Roomba and the pipeline.
    /// The options records must be registered already.</summary>
    public static IServiceCollection AddHorizonIngest(this IServiceCollection services)
    {
        services.AddSingleton(sp =>
        {
            var series = sp.GetRequiredService<SeriesOptions>();
            return new MetricRegistry(series.FullNamespace, new SkipList(series.SkipList), series.MaxMetrics, sp.GetRequiredService<TimeProvider>())
            {
                EventPrefix = sp.GetService<EventOptions>()?.MetricPrefix ?? "",
            };
        });
        services.AddSingleton(sp => new PointGate(sp.GetRequiredService<MetricRegistry>(), sp.GetRequiredService<SeriesOptions>()));
        services.AddSingleton(sp => new StatsdAggregator(sp.GetRequiredService<StatsdOptions>(), sp.GetRequiredService<MetricRegistry>()));
        services.TryAddSingleton<WriterMetrics>();
        services.TryAddSingleton<IngestMetrics>();
        services.TryAddSingleton<StatsdMetrics>();
        services.TryAddSingleton<ConnectionMetrics>();
        services.TryAddSingleton<RoombaMetrics>();
        services.AddSingleton<CarbonForwarder>();
        services.AddSingleton(sp => new EventPoints(sp.GetRequiredService<EventStore>(), sp.GetRequiredService<EventOptions>(),
            sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<EventPoints>>()));
        services.AddSingleton<SeriesWriter>();
        services.AddSingleton<IngestServices>();
        services.TryAddSingleton<BoundEndpoints>();
        services.AddSingleton<Roomba>();

        static bool StatsdOn(IServiceProvider sp) => sp.GetRequiredService<ListenerOptions>().StatsdEnabled;
        static bool LogsOn(IServiceProvider sp) => sp.GetService<LogOptions>() is { Enabled: true };
        services.AddSingleton<StatsdFlusher>();
        services.AddSingleton<StatsdAdmin>();
        // First: its StartingAsync starts the writer before any listener, its StoppedAsync drains
        // after all of them.
        services.AddSingleton<IHostedService>(sp => new IngestPipeline(
            sp.GetRequiredService<SeriesWriter>(),
            sp.GetRequiredService<CarbonForwarder>(),
            StatsdOn(sp) ? sp.GetRequiredService<StatsdFlusher>() : null,
            sp.GetRequiredService<MetricRegistry>(),
            sp.GetRequiredService<SeriesOptions>(),
            sp.GetRequiredService<IngestMetrics>(),
            sp.GetRequiredService<WriterMetrics>(),
            sp.GetRequiredService<IngestOptions>(),
            sp.GetRequiredService<ILogger<IngestPipeline>>(),
            sp.GetRequiredService<TimeProvider>()));
        // Logs: after the point pipeline, so at shutdown the last counts reach the writer before it drains.
        services.TryAddSingleton<LogMetrics>();
        services.TryAddSingleton<Horizon.Storage.Logs.LogTemplateStore>();
        services.AddSingleton(sp => ActivatorUtilities.CreateInstance<LogPipeline>(sp));
        services.AddSingleton<IHostedService>(sp => LogsOn(sp) ? sp.GetRequiredService<LogPipeline>() : new NothingService());
        services.AddSingleton<IHostedService>(sp => LogsOn(sp)
            ? UdpListenerOrNothing(sp, "syslog_udp", sp.GetRequiredService<LogOptions>().SyslogUdp, _ => new SyslogDatagramHandler(sp.GetRequiredService<LogPipeline>(), sp.GetRequiredService<TimeProvider>()))
            : new NothingService());
        services.AddSingleton<IHostedService>(sp => StatsdOn(sp) ? sp.GetRequiredService<StatsdFlusher>() : new NothingService());
        services.AddSingleton<IHostedService>(sp => UdpListenerOrNothing(sp, "statsd_udp", sp.GetRequiredService<ListenerOptions>().StatsdUdp, s => new StatsdDatagramHandler(s)));
        services.AddSingleton<IHostedService>(sp => UdpListenerOrNothing(sp, "msgpack", sp.GetRequiredService<ListenerOptions>().Msgpack, s => new MsgpackDatagramHandler(s)));
        services.AddSingleton<IHostedService>(sp => sp.GetRequiredService<RoombaOptions>().Enabled
            ? ActivatorUtilities.CreateInstance<RoombaService>(sp)
            : new NothingService());
        return services;
    }

    private static IHostedService UdpListenerOrNothing(IServiceProvider sp, string name, EndpointOptions endpoint, Func<IngestServices, IDatagramHandler> handler)
    {
        var options = sp.GetRequiredService<ListenerOptions>();
        if (!endpoint.Enabled)
        {
            return new NothingService();
        }
        var ingest = sp.GetRequiredService<IngestServices>();
        var up = ingest.Metrics.ListenerUp.WithLabels(name);
        try
        {
            var listener = new UdpListener(name, new IPEndPoint(IPAddress.Parse(options.Bind), endpoint.Port), () => handler(ingest), ingest);
            sp.GetRequiredService<BoundEndpoints>().Add(name, () => listener.LocalEndPoint);
            up.Set(1);
            return listener;
        }
        catch (System.Net.Sockets.SocketException e)
        {
            ReportBindFailure(sp.GetRequiredService<ILoggerFactory>(), name, $"udp://{options.Bind}:{endpoint.Port}", e.Message);
            up.Set(0);
            return new NothingService();
        }
    }

    private static void ReportBindFailure(ILoggerFactory loggers, string name, string address, string reason) =>
        loggers.CreateLogger("Horizon.Ingest").LogError(
            "{Listener}: cannot listen on {Address} ({Reason}); the other listeners run without it (horizon_listener_up{{listener=\"{Listener}\"}} is 0)",
            name, address, reason, name);

    /// <summary>Adds the TCP listeners to Kestrel. A port that is taken is reported and skipped,
    /// so one conflict does not stop the other listeners.</summary>
    public static void ListenForIngest(this KestrelServerOptions kestrel, ListenerOptions options, BoundEndpoints bound)
    {
        var address = IPAddress.Parse(options.Bind);
        var services = kestrel.ApplicationServices;
        var metrics = services.GetRequiredService<IngestMetrics>();
        var limiter = new ConnectionLimiter(options.MaxConnections, services.GetRequiredService<ConnectionMetrics>().ConnectionsRefused, services.GetRequiredService<ILoggerFactory>().CreateLogger("Horizon.Ingest"));
        void Listen<THandler>(string name, EndpointOptions endpoint) where THandler : ConnectionHandler
        {
            if (!endpoint.Enabled)
            {
                return;
            }
            if (endpoint.Port != 0 && PortTaken(address, endpoint.Port, out var reason))
            {
                ReportBindFailure(services.GetRequiredService<ILoggerFactory>(), name, $"tcp://{options.Bind}:{endpoint.Port}", reason);
                metrics.ListenerUp.WithLabels(name).Set(0);
                return;
            }
            metrics.ListenerUp.WithLabels(name).Set(1);
            ListenOptions? listenOptions = null;
            kestrel.Listen(address, endpoint.Port, lo =>
            {
                listenOptions = lo;
                lo.Use(limiter.For(name));
                lo.UseConnectionHandler<THandler>();
            });
            bound.Add(name, () => listenOptions?.IPEndPoint is { Port: > 0 } ep ? ep : null);
        }
        Listen<PlaintextConnectionHandler>("plaintext", options.Plaintext);
        Listen<PickleConnectionHandler>("pickle", options.Pickle);
        Listen<StatsdTcpConnectionHandler>("statsd_tcp", options.StatsdTcp);
        Listen<StatsdAdminConnectionHandler>("statsd_admin", options.StatsdAdminIfStatsd);
        if (services.GetService<LogOptions>() is { Enabled: true } logs)
        {
            Listen<SyslogTcpConnectionHandler>("syslog_tcp", logs.SyslogTcp);
            Listen<PlainLogConnectionHandler>("logs_plain", logs.PlainTcp);
            Listen<JsonLogConnectionHandler>("logs_json", logs.JsonTcp);
        }
    }

    private static bool PortTaken(IPAddress address, int port, out string reason)
    {
        var probe = new System.Net.Sockets.TcpListener(address, port);
        try
        {
            probe.Start();
            reason = "";
            return false;
        }
        catch (System.Net.Sockets.SocketException e)
        {
            reason = e.Message;
            return true;
        }
        finally
        {
            probe.Stop();
        }
    }

    private sealed class NothingService : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
