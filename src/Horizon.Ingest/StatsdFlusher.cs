using Horizon.Core.Points;
using Horizon.Core.Protocols;
using Horizon.Core.Statsd;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Horizon.Ingest;

/// <summary>Flushes StatsD's aggregates to the writer every flush interval, stamped with the flush
/// time as StatsD's Graphite backend does, and once more at shutdown.</summary>
public sealed partial class StatsdFlusher(IngestServices services, StatsdOptions options, ILogger<StatsdFlusher> logger) : BackgroundService
{
    private readonly SemaphoreSlim _flushing = new(1, 1);

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

    /// <summary>Flushes now. Returns the number of points handed to the writer.</summary>
    public async Task<int> FlushAsync()
    {
        await _flushing.WaitAsync();
        try
        {
            var rejects = default(RejectTally);
            var outputs = services.Statsd.Flush(ref rejects);
            var timestamp = services.NowSeconds();
            var writer = services.Writer;
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
                handed++;
                if (batch.IsFull)
                {
                    await writer.SubmitAsync(batch);
                    batch = writer.Pool.Rent(PointSource.StatsdFlush);
                }
            }
            await writer.SubmitAsync(batch);
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
