namespace Horizon.Storage;

/// <summary>Where series live: an external Redis (standalone or Cluster) when
/// <see cref="Redis"/> is set, otherwise an embedded Garnet server started in-process.</summary>
public sealed record StoreOptions
{
    /// <summary>A StackExchange.Redis connection string, e.g. <c>127.0.0.1:6379</c> or several
    /// cluster nodes separated by commas. Empty: use the embedded store.</summary>
    public string? Redis { get; init; }

    /// <summary>Settings of the embedded store.</summary>
    public EmbeddedStoreOptions Embedded { get; init; } = new();

    /// <summary>True when no external Redis is configured.</summary>
    public bool UsesEmbedded => string.IsNullOrWhiteSpace(Redis);
}
