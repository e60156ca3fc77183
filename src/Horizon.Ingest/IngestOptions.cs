namespace Horizon.Ingest;

/// <summary>Settings of the ingest role as a whole.</summary>
public sealed record IngestOptions
{
    /// <summary>At shutdown, how long to keep trying to store what was accepted before giving up
    /// (counting what is left as dropped).</summary>
    public TimeSpan DrainTimeout { get; init; } = TimeSpan.FromSeconds(30);
}
