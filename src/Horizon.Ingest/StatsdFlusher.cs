using System.Diagnostics;
using Horizon.Core.Points;
using Horizon.Core.Protocols;
using Horizon.Core.Statsd;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Horizon.Ingest;

/// <summary>Flushes StatsD's aggregates to the writer every flush interval, stamped with the flush
/// time as StatsD's Graphite backend does, with the backend's reports on itself
/// (<c>graphiteStats.*</c>), and once more at shutdown.</summary>
public sealed partial class StatsdFlusher(IngestServices services, StatsdOptions options, ILogger<StatsdFlusher> logger) : BackgroundService
{
    private readonly SemaphoreSlim _flushing = new(1, 1);
    private double _lastException = services.NowSeconds();
    private double _lastFlush = services.NowSeconds();
    private double _flushTime;
    private double _flushLength;

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.FlushInterval, services.Time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                await FlushAsync();
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>The Graphite backend's status as StatsD's admin <c>stats</c> reports it: the last
    /// flush and the last store failure (Unix seconds), the last flush's milliseconds and bytes.</summary>
    public (double LastFlush, double LastException, double FlushTime, double FlushLength) BackendStatus =>
        (_lastFlush, _lastException, _flushTime, _flushLength);

    /// <summary>Flushes now. Returns the number of points handed to the writer.</summary>
    public async Task<int> FlushAsync()
    {
        await _flushing.WaitAsync();
        try
        {
            var rejects = default(RejectTally);
            var timestamp = services.NowSeconds();
            var started = Stopwatch.GetTimestamp();
            var statsd = services.Statsd;
            var outputs = statsd.Flush(timestamp, ref rejects);
            var writer = services.Writer;
            // StatsD's Graphite backend reports on itself in each flush: how long naming it took,
            // and the last flush's hand-over (here: to the writer; an exception: the store failing).
            if (writer.FailingFor is not null)
            {
                _lastException = timestamp;
            }
            statsd.EmitOwn(StatsdOwnStat.CalculationTime, Math.Floor(Stopwatch.GetElapsedTime(started).TotalMilliseconds), outputs, ref rejects);
            statsd.EmitOwn(StatsdOwnStat.LastException, _lastException, outputs, ref rejects);
            statsd.EmitOwn(StatsdOwnStat.LastFlush, _lastFlush, outputs, ref rejects);
            statsd.EmitOwn(StatsdOwnStat.FlushTime, _flushTime, outputs, ref rejects);
            statsd.EmitOwn(StatsdOwnStat.FlushLength, _flushLength, outputs, ref rejects);
            var handing = Stopwatch.GetTimestamp();
            long length = 0;
            var batch = writer.Pool.Rent(PointSource.StatsdFlush);
            var handed = 0;
            foreach (var output in outputs)
            {
                if (output.Key.IsSkipped)
                {
                    rejects.Add(RejectReason.SkipListed);
                    continue;
                }
                batch.Add(output.Key, timestamp, output.Value);
                length += CarbonEncoding.PlaintextLength(output.Key.Name, output.Value, timestamp); // the bytes StatsD's Graphite backend would send
                handed++;
                if (batch.IsFull)
                {
                    await writer.SubmitAsync(batch);
                    batch = writer.Pool.Rent(PointSource.StatsdFlush);
                }
            }
            await writer.SubmitAsync(batch);
            _flushTime = Math.Floor(Stopwatch.GetElapsedTime(handing).TotalMilliseconds);
            _flushLength = length;
            _lastFlush = services.NowSeconds();
            services.Count(PointSource.StatsdFlush, outputs.Count, rejects);
            services.StatsdMetrics.Flushes.Inc();
            services.StatsdMetrics.FlushPoints.Set(handed);
            services.StatsdMetrics.Keys.Set(services.Statsd.KeyCount);
            Log.Flushed(logger, handed, services.Statsd.KeyCount);
            return handed;
        }
        finally
        {
            _flushing.Release();
        }
    }

    /// <inheritdoc />
    public override void Dispose()
    {
        _flushing.Dispose();
        base.Dispose();
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 430, Level = LogLevel.Debug, Message = "StatsD flush: {Points} points from {Keys} keys")]
        public static partial void Flushed(ILogger logger, int points, int keys);
    }
}
