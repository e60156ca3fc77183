namespace Horizon.Storage;

/// <summary>The embedded Garnet server: loopback-only, persisted in a data directory.</summary>
public sealed record EmbeddedStoreOptions
{
    /// <summary>Address to bind (loopback by default).</summary>
    public string Bind { get; init; } = "127.0.0.1";

    /// <summary>RESP port, so redis-cli and Skyline tools can read the series (0: any free port).</summary>
    public int Port { get; init; } = 6389;

    /// <summary>Where the append-only log, checkpoints and spilled log pages are kept.</summary>
    public string DataDirectory { get; init; } = "horizon-data";

    /// <summary>In-memory log size (Garnet --memory). Beyond it, older log pages spill to disk in the data directory.</summary>
    public string MemorySize { get; init; } = "2g";

    /// <summary>Hash index size (Garnet --index); 64 MiB holds about 1M keys without overflow buckets.</summary>
    public string IndexSize { get; init; } = "64m";

    /// <summary>Log page size (Garnet --page).</summary>
    public string PageSize { get; init; } = "4m";

    /// <summary>Keep data across restarts (append-only log plus periodic checkpoints).</summary>
    public bool Persist { get; init; } = true;

    /// <summary>Seconds between automatic checkpoints, which also let the append-only log be truncated.</summary>
    public int CheckpointIntervalSeconds { get; init; } = 300;

    /// <summary>Milliseconds between append-only log commits: how much a crash can lose.</summary>
    public int AofCommitMilliseconds { get; init; } = 100;

    /// <summary>Free space kept on the data directory's disk: below it writes pause (Garnet cannot
    /// recover from a log commit failing on a full disk); they resume at twice this. Garnet writes
    /// in bursts (log pages as they spill, the whole in-memory log at a checkpoint), so the default
    /// (-1) is <see cref="MemorySize"/> plus 256 MiB. 0: no guard.</summary>
    public int DiskReserveMegabytes { get; init; } = -1;

    /// <summary>The reserve in bytes, the default worked out.</summary>
    public long DiskReserveBytes => DiskReserveMegabytes >= 0 ? DiskReserveMegabytes * 1048576L : ParseSize(MemorySize) + (256L << 20);

    /// <summary>Bytes in one of Garnet's size strings: a number with an optional k, m, g or t.</summary>
    public static long ParseSize(string size)
    {
        var text = size.Trim().ToLowerInvariant();
        var multiplier = text.Length > 0 ? text[^1] switch { 'k' => 1L << 10, 'm' => 1L << 20, 'g' => 1L << 30, 't' => 1L << 40, _ => 1L } : 1L;
        var digits = multiplier == 1 ? text : text[..^1];
        return long.TryParse(digits, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) && n > 0
            ? n * multiplier
            : throw new ArgumentException($"Store:Embedded size '{size}' is not a number with an optional k, m, g or t.");
    }

    /// <summary>Fails fast on settings that cannot work.</summary>
    public void Validate()
    {
        if (Port is < 0 or > 65535)
        {
            throw new ArgumentException("Store:Embedded:Port must be 0-65535.");
        }
        if (string.IsNullOrWhiteSpace(DataDirectory))
        {
            throw new ArgumentException("Store:Embedded:DataDirectory must be set.");
        }
        if (CheckpointIntervalSeconds < 0 || AofCommitMilliseconds < 0 || DiskReserveMegabytes < -1)
        {
            throw new ArgumentException("Store:Embedded intervals must not be negative, DiskReserveMegabytes at least -1 (the default).");
        }
        _ = ParseSize(MemorySize);
    }
}
