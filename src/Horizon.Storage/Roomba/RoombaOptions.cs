namespace Horizon.Storage;

/// <summary>Roomba settings (Skyline's ROOMBA_* settings).</summary>
public sealed record RoombaOptions
{
    /// <summary>Run Roomba in this process. With several ingest processes on one store, one is enough.</summary>
    public bool Enabled { get; init; } = true;

    /// <summary>Pause between passes over every series.</summary>
    public TimeSpan Interval { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>A series is rewritten once its oldest point is this much older than FULL_DURATION
    /// (Skyline's ROOMBA_GRACE_TIME, 600 s), so each key is rewritten about once per grace period
    /// rather than on every pass; stored history therefore spans FULL_DURATION to FULL_DURATION + grace.</summary>
    public TimeSpan Grace { get; init; } = TimeSpan.FromSeconds(600);

    /// <summary>Keys examined per pipelined round trip.</summary>
    public int ScanBatch { get; init; } = 1000;

    /// <summary>Rewrites running at once.</summary>
    public int Parallelism { get; init; } = 8;

    /// <summary>How often a pass also scans the keyspace for series keys missing from the unique
    /// set (left by a crash, or by an older writer) and adds them; the first pass after start-up
    /// always does. Zero: only at start-up.</summary>
    public TimeSpan ReconcileInterval { get; init; } = TimeSpan.FromHours(1);

    /// <summary>Fails fast on settings that cannot work.</summary>
    public void Validate()
    {
        if (Interval <= TimeSpan.Zero || Grace < TimeSpan.Zero || ScanBatch < 1 || Parallelism < 1 || ReconcileInterval < TimeSpan.Zero)
        {
            throw new ArgumentException("Roomba:Interval must be positive, Roomba:Grace and ReconcileInterval not negative, ScanBatch and Parallelism positive.");
        }
    }
}
