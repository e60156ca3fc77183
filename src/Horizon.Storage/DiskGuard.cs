using Microsoft.Extensions.Logging;

namespace Horizon.Storage;

/// <summary>
/// Watches the free space of the embedded store's data directory. Garnet cannot recover from its
/// log failing to commit on a full disk (it stops answering writes until restarted, and the points
/// waiting for it are lost then), so writes stop before that: below the reserve the writer pauses
/// (listeners then slow down or drop, counted) and resumes once twice the reserve is free.
/// </summary>
public sealed partial class DiskGuard : IDisposable
{
    private readonly string _directory;
    private readonly long _reserve;
    private readonly ILogger _logger;
    private readonly Timer _timer;
    private readonly Lock _lock = new();
    private TaskCompletionSource _room = Completed();
    private volatile bool _full;

    /// <summary>Checks <paramref name="directory"/>'s file system every <paramref name="interval"/>.</summary>
    public DiskGuard(string directory, long reserveBytes, TimeSpan interval, ILogger logger)
    {
        _directory = directory;
        _reserve = reserveBytes;
        _logger = logger;
        Check();
        _timer = new Timer(_ => Check(), null, interval, interval);
    }

    /// <summary>True while less than the reserve is free: writes wait.</summary>
    public bool Full => _full;

    /// <summary>Bytes free at the last check.</summary>
    public long FreeBytes { get; private set; }

    /// <summary>The reserve kept free.</summary>
    public long ReserveBytes => _reserve;

    /// <summary>Completes at once while there is room, else when there is again.</summary>
    public Task WaitForRoomAsync()
    {
        lock (_lock)
        {
            return _room.Task;
        }
    }

    /// <summary>Looks at the free space now.</summary>
    public void Check()
    {
        long free;
        try
        {
            free = new DriveInfo(_directory).AvailableFreeSpace;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return;
        }
        FreeBytes = free;
        lock (_lock)
        {
            if (!_full && free < _reserve)
            {
                _full = true;
                _room = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                Log.Full(_logger, _directory, free / 1048576.0, _reserve / 1048576.0);
            }
            else if (_full && free >= 2 * _reserve)
            {
                _full = false;
                _room.SetResult();
                Log.Room(_logger, _directory, free / 1048576.0);
            }
        }
    }

    private static TaskCompletionSource Completed()
    {
        var done = new TaskCompletionSource();
        done.SetResult();
        return done;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _timer.Dispose();
        lock (_lock)
        {
            _room.TrySetResult();
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 110, Level = LogLevel.Error, Message = "The embedded store's disk ({Directory}) has {FreeMb:F0} MB free, under the {ReserveMb:F0} MB reserve: writes are paused until space is freed (points wait in the buffer, then TCP senders are slowed and UDP points dropped)")]
        public static partial void Full(ILogger logger, string directory, double freeMb, double reserveMb);

        [LoggerMessage(EventId = 111, Level = LogLevel.Information, Message = "The embedded store's disk ({Directory}) has {FreeMb:F0} MB free again: writes resume")]
        public static partial void Room(ILogger logger, string directory, double freeMb);
    }
}
