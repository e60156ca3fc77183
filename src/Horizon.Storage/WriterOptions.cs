using Horizon.Core.Series;

namespace Horizon.Storage;

/// <summary>How accepted points are buffered and written.</summary>
public sealed record WriterOptions
{
    /// <summary>Points per batch handed from a listener to the writer.</summary>
    public int BatchSize { get; init; } = 1024;

    /// <summary>Bound on accepted points waiting for the store (each TCP connection that waits for
    /// room holds one more batch). When it is reached, TCP listeners stop reading (back-pressure)
    /// and UDP listeners drop and count.</summary>
    public int MaxBufferedPoints { get; init; } = 1 << 20;

    /// <summary>Points gathered into one pipelined write (one APPEND per distinct key).</summary>
    public int FlushPoints { get; init; } = 16384;

    /// <summary>Pipelined writes awaiting the store's replies at once.</summary>
    public int MaxInFlightFlushes { get; init; } = 4;

    /// <summary>Send flushes over Horizon's own RESP connection (each flush one buffer of commands,
    /// pipelined in the order sent, its replies parsed without a task per command) when the store
    /// is a single node reached over plain TCP. Off, or with several endpoints, TLS, or a
    /// node that answers MOVED (a cluster), StackExchange.Redis sends them.</summary>
    public bool DirectConnections { get; init; } = true;

    /// <summary>How often a name is added to the unique set again even if it is known, so that a
    /// set emptied meanwhile (store restarted without data, Roomba deleted a silent key) heals.
    /// Must be shorter than FULL_DURATION.</summary>
    public TimeSpan UniqueSetRefresh { get; init; } = TimeSpan.FromHours(1);

    /// <summary>Longest pause between retries while the store is failing.</summary>
    public TimeSpan MaxRetryDelay { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Fails fast on settings that cannot work.</summary>
    public void Validate(SeriesOptions series)
    {
        if (BatchSize < 1 || FlushPoints < 1 || MaxInFlightFlushes < 1)
        {
            throw new ArgumentException("Writer:BatchSize, FlushPoints and MaxInFlightFlushes must be positive.");
        }
        if (MaxBufferedPoints < BatchSize)
        {
            throw new ArgumentException("Writer:MaxBufferedPoints must hold at least one batch.");
        }
        if (UniqueSetRefresh <= TimeSpan.Zero || UniqueSetRefresh.TotalSeconds >= series.FullDuration)
        {
            throw new ArgumentException("Writer:UniqueSetRefresh must be positive and shorter than Series:FullDuration.");
        }
    }
}
