namespace Horizon.Ingest;

/// <summary>The ingest listeners. Everything binds to loopback unless configured otherwise.</summary>
public sealed record ListenerOptions
{
    /// <summary>Address every listener binds to.</summary>
    public string Bind { get; init; } = "127.0.0.1";

    /// <summary>Carbon plaintext, TCP.</summary>
    public EndpointOptions Plaintext { get; init; } = new() { Port = 2003 };

    /// <summary>Carbon pickle (carbon-relay's format), TCP.</summary>
    public EndpointOptions Pickle { get; init; } = new() { Port = 2024 };

    /// <summary>StatsD over UDP.</summary>
    public EndpointOptions StatsdUdp { get; init; } = new() { Port = 8125 };

    /// <summary>StatsD over TCP.</summary>
    public EndpointOptions StatsdTcp { get; init; } = new() { Port = 8125 };

    /// <summary>StatsD's management interface, TCP (runs when a StatsD listener does).</summary>
    public EndpointOptions StatsdAdmin { get; init; } = new() { Port = 8126 };

    /// <summary>Skyline's msgpack datagrams, UDP.</summary>
    public EndpointOptions Msgpack { get; init; } = new() { Port = 2025 };

    /// <summary>Longest accepted line (plaintext and StatsD TCP), newline excluded.</summary>
    public int MaxLineLength { get; init; } = 4096;

    /// <summary>Largest accepted pickle frame (carbon's own limit is 1 MiB).</summary>
    public int MaxPickleFrameBytes { get; init; } = 1 << 20;

    /// <summary>Receive loops per UDP port (sockets sharing the port with SO_REUSEPORT); 0 = one per core.</summary>
    public int UdpReceiveLoops { get; init; }

    /// <summary>Socket receive buffer per UDP socket, so bursts wait in the kernel instead of being dropped.</summary>
    public int UdpReceiveBufferBytes { get; init; } = 16 << 20;

    /// <summary>Concurrent TCP connections across the ingest TCP listeners together (HTTP has its
    /// own bound, Web:MaxConnections); beyond it a new connection is closed at once and counted.</summary>
    public int MaxConnections { get; init; } = 10_000;

    /// <summary>An ingest TCP connection that sends nothing for this long is closed (clients
    /// reconnect when they next send). Zero: never.</summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Each listener with the name it has in metrics and logs.</summary>
    public IEnumerable<(string Name, EndpointOptions Endpoint)> Named() =>
        [("plaintext", Plaintext), ("pickle", Pickle), ("statsd_udp", StatsdUdp), ("statsd_tcp", StatsdTcp), ("statsd_admin", StatsdAdminIfStatsd), ("msgpack", Msgpack)];

    /// <summary>Whether a StatsD listener runs (and so the aggregation, its flush and its admin port).</summary>
    public bool StatsdEnabled => StatsdUdp.Enabled || StatsdTcp.Enabled;

    /// <summary>The admin endpoint, disabled when no StatsD listener runs.</summary>
    public EndpointOptions StatsdAdminIfStatsd => StatsdEnabled ? StatsdAdmin : StatsdAdmin with { Enabled = false };

    /// <summary>The number of UDP loops to run.</summary>
    public int EffectiveUdpLoops => UdpReceiveLoops > 0 ? UdpReceiveLoops : Math.Max(1, Environment.ProcessorCount);

    /// <summary>Fails fast on settings that cannot work.</summary>
    public void Validate()
    {
        if (!System.Net.IPAddress.TryParse(Bind, out _))
        {
            throw new ArgumentException($"Listeners:Bind '{Bind}' is not an IP address.");
        }
        foreach (var (name, e) in new[] { ("Plaintext", Plaintext), ("Pickle", Pickle), ("StatsdUdp", StatsdUdp), ("StatsdTcp", StatsdTcp), ("StatsdAdmin", StatsdAdmin), ("Msgpack", Msgpack) })
        {
            if (e.Port is < 0 or > 65535)
            {
                throw new ArgumentException($"Listeners:{name}:Port must be 0-65535.");
            }
        }
        if (MaxLineLength < 64 || MaxPickleFrameBytes < 1024 || UdpReceiveLoops < 0 || MaxConnections < 1 || IdleTimeout < TimeSpan.Zero)
        {
            throw new ArgumentException("Listeners: MaxLineLength >= 64, MaxPickleFrameBytes >= 1024, UdpReceiveLoops >= 0, MaxConnections >= 1, IdleTimeout not negative.");
        }
    }
}
