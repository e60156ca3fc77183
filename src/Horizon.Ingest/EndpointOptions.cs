namespace Horizon.Ingest;

/// <summary>One TCP or UDP listener.</summary>
public sealed record EndpointOptions
{
    /// <summary>Whether the listener runs.</summary>
    public bool Enabled { get; init; } = true;

    /// <summary>Port (0: any free port, reported in the log).</summary>
    public int Port { get; init; }
}
