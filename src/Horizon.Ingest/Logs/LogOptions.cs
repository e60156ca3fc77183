using Horizon.Core.Logs;

namespace Horizon.Ingest.Logs;

/// <summary>Log input (section <c>Logs</c>): the listeners, the templates and their series, and
/// the live tail's window. Every listener binds to <see cref="ListenerOptions.Bind"/> (loopback by
/// default).</summary>
public sealed record LogOptions
{
    /// <summary>Whether logs are received at all (the listeners, the templating, the tail).</summary>
    public bool Enabled { get; init; } = true;

    /// <summary>Syslog over UDP (RFC 5424 or 3164, one message per datagram).</summary>
    public EndpointOptions SyslogUdp { get; init; } = new() { Port = 5140 };

    /// <summary>Syslog over TCP (octet-counted or newline-ended frames).</summary>
    public EndpointOptions SyslogTcp { get; init; } = new() { Port = 5140 };

    /// <summary>Plain text lines over TCP; the source is the peer's address, or the name a first
    /// line <c>source=&lt;name&gt;</c> gives.</summary>
    public EndpointOptions PlainTcp { get; init; } = new() { Port = 5141 };

    /// <summary>JSON lines over TCP (an object per line; see <see cref="JsonLogLine"/>).</summary>
    public EndpointOptions JsonTcp { get; init; } = new() { Port = 5142 };

    /// <summary>Longest accepted line or message in bytes.</summary>
    public int MaxLineLength { get; init; } = 16 * 1024;

    /// <summary>Blocks of received lines waiting to be grouped (each up to 256 KiB): a full queue
    /// slows TCP senders and drops UDP datagrams (counted).</summary>
    public int QueueBlocks { get; init; } = 64;

    /// <summary>Prefix of the template series: <c>logs.&lt;source&gt;.&lt;template id&gt;</c>.</summary>
    public string SeriesPrefix { get; init; } = "logs.";

    /// <summary>How often each template's line count becomes a point (StatsD's flush interval).</summary>
    public TimeSpan FlushInterval { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>A template with no lines in an interval gets a 0 for this long after its last line,
    /// so a rate that stops is seen; after that its series rests.</summary>
    public TimeSpan ZeroFillFor { get; init; } = TimeSpan.FromHours(1);

    /// <summary>Drain's similarity threshold: the share of words that must agree.</summary>
    public double Similarity { get; init; } = 0.5;

    /// <summary>Drain's tree depth (4 routes a line by its length and first two words).</summary>
    public int Depth { get; init; } = 4;

    /// <summary>Templates kept over all sources; beyond it a line joins its closest template or
    /// none (counted).</summary>
    public int MaxTemplates { get; init; } = 20_000;

    /// <summary>Sources kept; lines of further sources are grouped under <c>other</c>.</summary>
    public int MaxSources { get; init; } = 1_000;

    /// <summary>A source's new templates are findings once the source has been seen this long
    /// (before that, everything it says is new).</summary>
    public TimeSpan NewTemplateAfter { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>New templates at least this severe (or of unknown severity) are findings.</summary>
    public string NewTemplateSeverity { get; init; } = "warning";

    /// <summary>Bytes of recent lines kept for the live tail.</summary>
    public long TailBytes { get; init; } = 64L << 20;

    /// <summary>Recent lines kept for the live tail.</summary>
    public int TailLines { get; init; } = 200_000;

    /// <summary>How far back a newly opened tail starts (within what is kept).</summary>
    public TimeSpan TailWindow { get; init; } = TimeSpan.FromMinutes(15);

    /// <summary>Live-tail clients at once; more are refused (503).</summary>
    public int MaxTailClients { get; init; } = 32;

    /// <summary>A tail client further behind than this many lines skips ahead (the skipped lines
    /// counted): a slow browser loses lines and never slows ingest.</summary>
    public int TailClientLag { get; init; } = 20_000;

    /// <summary>The severity <see cref="NewTemplateSeverity"/> names.</summary>
    public LogSeverity NewTemplateThreshold => LogSeverities.TryParse(NewTemplateSeverity, out var s) ? s : LogSeverity.Warning;

    /// <summary>Each listener with its name in metrics and logs.</summary>
    public IEnumerable<(string Name, EndpointOptions Endpoint)> Named() =>
        [("syslog_udp", Enabled ? SyslogUdp : SyslogUdp with { Enabled = false }), ("syslog_tcp", Enabled ? SyslogTcp : SyslogTcp with { Enabled = false }),
         ("logs_plain", Enabled ? PlainTcp : PlainTcp with { Enabled = false }), ("logs_json", Enabled ? JsonTcp : JsonTcp with { Enabled = false })];

    /// <summary>Fails fast on settings that cannot work.</summary>
    public void Validate()
    {
        foreach (var (name, e) in new[] { ("SyslogUdp", SyslogUdp), ("SyslogTcp", SyslogTcp), ("PlainTcp", PlainTcp), ("JsonTcp", JsonTcp) })
        {
            if (e.Port is < 0 or > 65535)
            {
                throw new ArgumentException($"Logs:{name}:Port must be 0-65535.");
            }
        }
        if (MaxLineLength is < 256 or > 128 * 1024)
        {
            throw new ArgumentException("Logs:MaxLineLength must be 256-131072 bytes.");
        }
        if (Similarity is <= 0 or > 1 || Depth < 3 || MaxTemplates < 1 || MaxSources < 1 || QueueBlocks < 1)
        {
            throw new ArgumentException("Logs: Similarity in (0, 1], Depth >= 3, MaxTemplates, MaxSources and QueueBlocks >= 1.");
        }
        if (FlushInterval < TimeSpan.FromSeconds(1) || ZeroFillFor < TimeSpan.Zero || NewTemplateAfter < TimeSpan.Zero || TailWindow <= TimeSpan.Zero)
        {
            throw new ArgumentException("Logs: FlushInterval >= 1s; ZeroFillFor and NewTemplateAfter not negative; TailWindow positive.");
        }
        if (TailBytes < MaxLineLength * 4L || TailLines < 100 || MaxTailClients < 1 || TailClientLag < 100)
        {
            throw new ArgumentException("Logs: TailBytes >= 4 x MaxLineLength, TailLines >= 100, MaxTailClients >= 1, TailClientLag >= 100.");
        }
        if (!LogSeverities.TryParse(NewTemplateSeverity, out _))
        {
            throw new ArgumentException($"Logs:NewTemplateSeverity '{NewTemplateSeverity}' is not a severity (emerg, alert, crit, err, warning, notice, info, debug).");
        }
        if (string.IsNullOrEmpty(SeriesPrefix) || SeriesPrefix.Contains(' ', StringComparison.Ordinal))
        {
            throw new ArgumentException("Logs:SeriesPrefix must be non-empty, without spaces.");
        }
    }
}
