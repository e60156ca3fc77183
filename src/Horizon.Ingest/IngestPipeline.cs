using Horizon.Core.Metrics;
using Horizon.Core.Series;
using Horizon.Storage;
using Horizon.Storage.Forwarding;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Horizon.Ingest;

/// <summary>Orders ingest start-up and shutdown around the listeners: the writer starts before any
/// listener, and stops only after every listener has stopped (SIGTERM): then StatsD flushes one
/// last time, the writer stores everything that was accepted and the carbon destinations get it
/// too, before the process exits.</summary>
public sealed partial class IngestPipeline : IHostedLifecycleService, IDisposable
{
    private readonly SeriesWriter _writer;
    private readonly CarbonForwarder _forwarder;
    private readonly StatsdFlusher? _statsd;
    private readonly MetricRegistry _registry;
    private readonly SeriesOptions _series;
    private readonly TimeSpan _drainDeadline;
    private readonly ILogger<IngestPipeline> _logger;
    private readonly IngestMetrics _metrics;
    private readonly WriterMetrics _writerMetrics;
    private readonly Timer _sweep;

    /// <summary>Creates the pipeline and exports its gauges.</summary>
    public IngestPipeline(SeriesWriter writer, CarbonForwarder forwarder, StatsdFlusher? statsd, MetricRegistry registry, SeriesOptions series,
        IngestMetrics metrics, WriterMetrics writerMetrics, IngestOptions ingest, ILogger<IngestPipeline> logger, TimeProvider time)
    {
        _writer = writer;
        _forwarder = forwarder;
        _statsd = statsd;
        _registry = registry;
        _series = series;
        _drainDeadline = ingest.DrainTimeout;
        _logger = logger;
        _metrics = metrics;
        _writerMetrics = writerMetrics;
        metrics.OnScrape(() => metrics.KnownMetrics.Set(registry.Count));
        // Names silent for longer than a series is kept are forgotten, as Roomba forgets their keys.
        _sweep = new Timer(_ => Sweep(time), null, TimeSpan.FromMinutes(10), TimeSpan.FromMinutes(10));
    }

    private void Sweep(TimeProvider time)
    {
        var cutoff = time.GetUtcNow().ToUnixTimeSeconds() - _series.FullDuration - 3600;
        var removed = _registry.Sweep(cutoff);
        if (removed > 0)
        {
            Log.Swept(_logger, removed, _registry.Count);
        }
    }

    /// <inheritdoc />
    public Task StartingAsync(CancellationToken cancellationToken)
    {
        _forwarder.Start();
        _writer.Start();
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc />
    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc />
    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc />
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc />
    public async Task StoppedAsync(CancellationToken cancellationToken)
    {
        // Every listener (Kestrel's and the UDP loops) has stopped by now.
        var flushed = _statsd is null ? 0 : await _statsd.FlushAsync();
        var pending = _writer.BufferedPoints + _writer.InFlightPoints;
        Log.Draining(_logger, pending, flushed);
        await _writer.StopAsync(_drainDeadline);
        // What the writer took was offered to the carbon destinations too: send it on.
        await _forwarder.StopAsync(_drainDeadline);
        Log.Drained(_logger, _writer.BufferedPoints + _writer.InFlightPoints, Total(_metrics.PointsReceived), Total(_writerMetrics.PointsStored), Total(_writerMetrics.PointsDropped));
    }

    private static long Total(Prometheus.Counter counter) =>
        (long)counter.GetAllLabelValues().Sum(labels => counter.WithLabels(labels).Value);

    /// <inheritdoc />
    public void Dispose() => _sweep.Dispose();

    private static partial class Log
    {
        [LoggerMessage(EventId = 450, Level = LogLevel.Information, Message = "Listeners stopped; storing {Pending} accepted points (StatsD's last flush added {Flushed})")]
        public static partial void Draining(ILogger logger, long pending, int flushed);

        [LoggerMessage(EventId = 451, Level = LogLevel.Information, Message = "Writer drained ({Left} points left); since start-up: {Received} points received, {Stored} stored, {Dropped} dropped")]
        public static partial void Drained(ILogger logger, long left, long received, long stored, long dropped);

        [LoggerMessage(EventId = 452, Level = LogLevel.Information, Message = "Forgot {Removed} silent metric names ({Remaining} known)")]
        public static partial void Swept(ILogger logger, int removed, int remaining);
    }
}
