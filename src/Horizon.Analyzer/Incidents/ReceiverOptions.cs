using System.Text.Json.Serialization;

namespace Horizon.Analyzer.Incidents;

/// <summary>What a receiver speaks.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<ReceiverKind>))]
public enum ReceiverKind
{
    /// <summary>A generic webhook: Alertmanager's webhook JSON (version 4), which tools that take
    /// Alertmanager's notifications already read.</summary>
    Webhook,

    /// <summary>A Slack incoming webhook: Block Kit (header, the reasons, a button to the page), text escaped.</summary>
    Slack,

    /// <summary>A Mattermost incoming webhook: the message as Markdown text, metric names escaped and
    /// kept from mentioning anyone.</summary>
    Mattermost,

    /// <summary>PagerDuty's Events API v2 (<c>https://events.pagerduty.com/v2/enqueue</c>): trigger
    /// and resolve, the incident id as the dedup key.</summary>
    PagerDuty,

    /// <summary>E-mail over SMTP (<see cref="ReceiverOptions.Url"/> <c>smtp://host:port</c>, STARTTLS
    /// when the server offers it, or <c>smtps://</c>), from <see cref="ReceiverOptions.From"/> to
    /// <see cref="ReceiverOptions.To"/>.</summary>
    Email,
}

/// <summary>One incident receiver and its route (<c>Analyzer:Alerts:IncidentReceivers:N</c>): it gets
/// the incidents that have a metric matching <see cref="Metric"/> (a glob), an owner equal to
/// <see cref="Owner"/>, at least <see cref="MinSeverity"/> and <see cref="MinScore"/>; each of what is set.</summary>
public sealed record ReceiverOptions
{
    /// <summary>A name for logs and metrics (default: the kind and the position).</summary>
    public string Name { get; init; } = "";

    /// <summary>What it speaks.</summary>
    public ReceiverKind Kind { get; init; } = ReceiverKind.Webhook;

    /// <summary>Where to POST (for PagerDuty, its events endpoint); for e-mail the SMTP server,
    /// <c>smtp://host:port</c> or <c>smtps://host:port</c>.</summary>
    public string Url { get; init; } = "";

    /// <summary>E-mail: the sender address.</summary>
    public string From { get; init; } = "";

    /// <summary>E-mail: the recipients.</summary>
    public IReadOnlyList<string> To { get; init; } = [];

    /// <summary>E-mail: the SMTP user (empty: no authentication) and password.</summary>
    public string Username { get; init; } = "";

    /// <summary>E-mail: the SMTP password.</summary>
    public string Password { get; init; } = "";

    /// <summary>PagerDuty: the integration's routing key.</summary>
    public string RoutingKey { get; init; } = "";

    /// <summary>Only incidents with a metric matching this glob (<c>*</c> any run, <c>?</c> one).</summary>
    public string? Metric { get; init; }

    /// <summary>Only incidents with this owner among their metrics' owners.</summary>
    public string? Owner { get; init; }

    /// <summary>Only incidents whose peak score reaches this (those of Skyline's votes alone, with no
    /// score, always): where a receiver pages people, it can hear of fewer than the page shows.</summary>
    public double MinScore { get; init; }

    /// <summary>Only incidents at least this severe: <c>warning</c> (all) or <c>critical</c>.</summary>
    public string MinSeverity { get; init; } = "warning";

    /// <summary>Messages that may wait for this receiver; beyond it the least severe are dropped (counted).</summary>
    public int QueueLength { get; init; } = 1000;

    /// <summary>At most this many messages a minute to it (the rest wait, the most severe first).</summary>
    public int PerMinute { get; init; } = 30;

    /// <summary>Fails fast on settings that cannot work; <paramref name="where"/> names it (<c>IncidentReceivers:0</c>).</summary>
    public void Validate(string where)
    {
        var schemes = Kind == ReceiverKind.Email ? new[] { "smtp", "smtps" } : ["http", "https"];
        if (!Uri.TryCreate(Url, UriKind.Absolute, out var uri) || !schemes.Contains(uri.Scheme))
        {
            throw new ArgumentException($"Analyzer:Alerts:{where}: '{Url}' is not an {string.Join(" or ", schemes)} URL.");
        }
        if (Kind == ReceiverKind.Email && (!MimeKit.MailboxAddress.TryParse(From, out _) || To.Count == 0 || !To.All(t => MimeKit.MailboxAddress.TryParse(t, out _))))
        {
            throw new ArgumentException($"Analyzer:Alerts:{where}: an e-mail receiver needs a From address and at least one To address.");
        }
        if (Kind == ReceiverKind.PagerDuty && RoutingKey.Length == 0)
        {
            throw new ArgumentException($"Analyzer:Alerts:{where}: a PagerDuty receiver needs its RoutingKey.");
        }
        if (MinSeverity is not ("warning" or "critical") || !(MinScore >= 0) || QueueLength < 1 || PerMinute < 1)
        {
            throw new ArgumentException($"Analyzer:Alerts:{where}: MinSeverity is warning or critical, MinScore not negative, QueueLength and PerMinute at least 1.");
        }
    }
}
