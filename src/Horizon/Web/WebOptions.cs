using System.Net;

namespace Horizon.Web;

/// <summary>The HTTP endpoint: the page, the API, /metrics for Prometheus, health.</summary>
public sealed record WebOptions
{
    /// <summary>Address to bind (loopback by default).</summary>
    public string Bind { get; init; } = "127.0.0.1";

    /// <summary>Port; 1500 is Skyline's webapp port, clear of Prometheus (9090) and Graphite (80, 2003-2004, 8080).</summary>
    public int Port { get; init; } = 1500;

    /// <summary>The bearer token that write requests (metadata) must carry in
    /// <c>Authorization: Bearer &lt;token&gt;</c>. Empty (the default): writes are refused.</summary>
    public string? WriteToken { get; init; }

    /// <summary>Concurrent HTTP connections (apart from the ingest listeners' bound, so neither can
    /// starve the other of connections).</summary>
    public int MaxConnections { get; init; } = 1000;

    /// <summary>Host names requests may be addressed to (the Host header; a request naming another
    /// is refused with 400, which keeps a web page elsewhere from reaching this API through DNS
    /// rebinding). Empty (the default): localhost, 127.0.0.1, [::1], the bind address and this
    /// machine's host name. <c>*</c> accepts any.</summary>
    public IReadOnlyList<string> AllowedHosts { get; init; } = [];

    /// <summary>The host names in effect.</summary>
    public IReadOnlyList<string> EffectiveAllowedHosts => AllowedHosts.Count > 0
        ? AllowedHosts
        : [.. new[] { "localhost", "127.0.0.1", "[::1]", Dns.GetHostName(), IPAddress.TryParse(Bind, out var a) && a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{Bind}]" : Bind }.Distinct(StringComparer.OrdinalIgnoreCase)];

    /// <summary>Largest metadata document accepted, in bytes.</summary>
    public int MaxMetadataBytes { get; init; } = 16 * 1024;

    /// <summary>Most metrics that can have metadata (entries of horizon.metadata).</summary>
    public int MaxMetadataEntries { get; init; } = 1_000_000;

    /// <summary>Most series one Graphite <c>/render</c> request reads (all its targets together);
    /// beyond it the request is refused with 400 naming the limit, so one wide glob cannot take the
    /// web role's memory.</summary>
    public int GraphiteMaxSeries { get; init; } = 5000;

    /// <summary>Fails fast on settings that cannot work.</summary>
    public void Validate()
    {
        if (Port is < 0 or > 65535 || !IPAddress.TryParse(Bind, out _))
        {
            throw new ArgumentException("Web:Bind must be an IP address and Web:Port 0-65535.");
        }
        if (WriteToken is { Length: > 0 and < 16 })
        {
            throw new ArgumentException("Web:WriteToken must be at least 16 characters (or empty: writes refused).");
        }
        if (MaxMetadataBytes < 256 || MaxMetadataEntries < 1 || MaxConnections < 1 || GraphiteMaxSeries < 1)
        {
            throw new ArgumentException("Web:MaxMetadataBytes must be at least 256, Web:MaxMetadataEntries, Web:MaxConnections and Web:GraphiteMaxSeries at least 1.");
        }
    }
}
