using Horizon.Core.Points;
using Horizon.Core.Statsd;
using Horizon.Storage;
using Microsoft.Extensions.Logging;

namespace Horizon.Ingest;

/// <summary>What every listener shares: the gate points pass, the writer they go to, StatsD's
/// aggregator, the telemetry, and one rate-limited reject log per listener.</summary>
public sealed class IngestServices : IDisposable
{
    private readonly RejectLog[] _rejectLogs;

    /// <summary>Creates the shared services.</summary>
    public IngestServices(PointGate gate, SeriesWriter writer, StatsdAggregator statsd, IngestMetrics metrics, ConnectionMetrics connections, StatsdMetrics statsdMetrics, WriterMetrics writerMetrics,
        ListenerOptions listeners, ILoggerFactory loggerFactory, TimeProvider time)
    {
        Gate = gate;
        Writer = writer;
        Statsd = statsd;
        Metrics = metrics;
        Connections = connections;
        StatsdMetrics = statsdMetrics;
        WriterMetrics = writerMetrics;
        Listeners = listeners;
        LoggerFactory = loggerFactory;
        Time = time;
        IdleSweeper = new IdleSweeper(listeners.IdleTimeout);
        var logger = loggerFactory.CreateLogger("Horizon.Ingest");
        _rejectLogs = [.. Enumerable.Range(0, PointSources.Count).Select(i => new RejectLog(logger, ((PointSource)i).Label()))];
    }

#pragma warning disable CS1591 // self-describing
    public PointGate Gate { get; }
    public SeriesWriter Writer { get; }
    public StatsdAggregator Statsd { get; }
    public IngestMetrics Metrics { get; }
    public ConnectionMetrics Connections { get; }
    public StatsdMetrics StatsdMetrics { get; }
    public WriterMetrics WriterMetrics { get; }
    public ListenerOptions Listeners { get; }
    public ILoggerFactory LoggerFactory { get; }
    public TimeProvider Time { get; }
    public IdleSweeper IdleSweeper { get; }
#pragma warning restore CS1591

    /// <inheritdoc />
    public void Dispose() => IdleSweeper.Dispose();

    /// <summary>The current unix time in seconds.</summary>
    public long NowSeconds() => Time.GetUtcNow().ToUnixTimeSeconds();

    /// <summary>The reject log of a listener.</summary>
    public RejectLog RejectLog(PointSource source) => _rejectLogs[(int)source];

    /// <summary>Adds what one read produced to the counters.</summary>
    public void Count(PointSource source, int received, in Core.Protocols.RejectTally rejects)
    {
        if (received > 0)
        {
            Metrics.PointsReceived.WithLabels(source.Label()).Inc(received);
        }
        if (!rejects.IsEmpty)
        {
            Metrics.AddRejects(source, rejects);
        }
    }
}
