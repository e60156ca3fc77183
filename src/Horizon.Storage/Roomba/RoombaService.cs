using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Horizon.Storage;

/// <summary>Runs Roomba passes one after the other, pausing <see cref="RoombaOptions.Interval"/>
/// between them; a failing store delays the next pass, it never stops the service.</summary>
public sealed partial class RoombaService(Roomba roomba, RoombaOptions options, ILogger<RoombaService> logger) : BackgroundService
{
    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await roomba.RunPassAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is RedisException or TimeoutException or OperationCanceledException)
            {
                Log.PassFailed(logger, e.Message);
            }
            try
            {
                await Task.Delay(options.Interval, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 440, Level = LogLevel.Warning, Message = "Roomba pass failed, retrying after the interval: {Reason}")]
        public static partial void PassFailed(ILogger logger, string reason);
    }
}
