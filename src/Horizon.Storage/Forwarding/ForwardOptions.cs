namespace Horizon.Storage.Forwarding;

/// <summary>Carbon destinations every accepted point is also sent to (a shop's carbon-cache or
/// carbon-relay keeps its long-term whisper files; one relay destination then feeds both).</summary>
public sealed record ForwardOptions
{
    /// <summary>Destinations: <c>host:port</c> or <c>tcp://host:port</c> (carbon plaintext), or
    /// <c>pickle://host:port</c> (carbon's pickle protocol, as carbon-relay sends). None: nothing is forwarded.</summary>
    public IReadOnlyList<string> Destinations { get; init; } = [];

    /// <summary>Points waiting for one destination; beyond it new points for that destination are
    /// dropped and counted (<c>horizon_forward_points_total{outcome="dropped"}</c>): a destination
    /// that is down never slows ingest or the store.</summary>
    public int QueuePoints { get; init; } = 1_000_000;

    /// <summary>Longest wait for a destination's connection before trying again later.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>The destinations, parsed.</summary>
    public IReadOnlyList<ForwardDestination> Parsed => [.. Destinations.Select(ForwardDestination.Parse)];

    /// <summary>Fails fast on settings that cannot work.</summary>
    public void Validate()
    {
        _ = Parsed;
        if (QueuePoints < 1 || ConnectTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentException("Forward:QueuePoints must be positive and Forward:ConnectTimeout more than zero.");
        }
    }
}

/// <summary>One carbon destination.</summary>
public sealed record ForwardDestination(string Host, int Port, bool Pickle)
{
    /// <summary>Its name in logs and metrics: <c>tcp://host:port</c> or <c>pickle://host:port</c>.</summary>
    public override string ToString() => $"{(Pickle ? "pickle" : "tcp")}://{Host}:{Port}";

    /// <summary>Parses <c>host:port</c>, <c>tcp://host:port</c> or <c>pickle://host:port</c>.</summary>
    public static ForwardDestination Parse(string text)
    {
        var s = text.Trim();
        var pickle = s.StartsWith("pickle://", StringComparison.OrdinalIgnoreCase);
        s = pickle ? s["pickle://".Length..] : s.StartsWith("tcp://", StringComparison.OrdinalIgnoreCase) ? s["tcp://".Length..] : s;
        var colon = s.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(s[(colon + 1)..], out var port) || port is < 1 or > 65535 || s.Contains('/', StringComparison.Ordinal))
        {
            throw new ArgumentException($"Forward:Destinations entry '{text}' is not host:port, tcp://host:port or pickle://host:port.");
        }
        return new ForwardDestination(s[..colon].Trim('[', ']'), port, pickle);
    }
}
