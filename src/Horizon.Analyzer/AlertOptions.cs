namespace Horizon.Analyzer;

/// <summary>Where and when the analyzer sends alerts (<c>Analyzer:Alerts</c>).</summary>
public sealed record AlertOptions
{
    /// <summary>URLs each new finding is POSTed to as JSON <c>{"text": ..., "anomaly": {...}}</c>, the
    /// text escaped for Slack (what Slack's incoming webhooks, and tools that accept their payload,
    /// show). Redirects are not followed.</summary>
    public IReadOnlyList<string> Webhooks { get; init; } = [];

    /// <summary>The same for Mattermost's incoming webhooks (text escaped as Markdown, no mentions).</summary>
    public IReadOnlyList<string> MattermostWebhooks { get; init; } = [];

    /// <summary>Every receiver with the format of its text.</summary>
    public IEnumerable<(string Url, AlertFormat Format)> Receivers =>
        Webhooks.Select(u => (u, AlertFormat.Slack)).Concat(MattermostWebhooks.Select(u => (u, AlertFormat.Mattermost)));

    /// <summary>Prometheus Alertmanagers (base URLs, e.g. <c>http://127.0.0.1:9093</c>) that every open
    /// incident is sent to through the v2 API (<c>POST /api/v2/alerts</c>), again every
    /// <see cref="AlertmanagerResend"/> while it is open, and as resolved when it resolves; routing,
    /// grouping, inhibition and silences then live in Alertmanager.</summary>
    public IReadOnlyList<string> Alertmanagers { get; init; } = [];

    /// <summary>Receivers of incidents (a webhook in Alertmanager's shape, Slack, PagerDuty), each with
    /// its route: a message when an incident opens, escalates and resolves.</summary>
    public IReadOnlyList<Incidents.ReceiverOptions> IncidentReceivers { get; init; } = [];

    /// <summary>How often open incidents are sent to Alertmanager again (each is valid for three times this).</summary>
    public TimeSpan AlertmanagerResend { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>The address people reach Horizon's page at (for links in alerts: <c>generatorURL</c>,
    /// Slack buttons), e.g. <c>https://horizon.example.com</c>. Empty: no links.</summary>
    public string ExternalUrl { get; init; } = "";

    /// <summary>A metric alerted about is not alerted about again (same kind) for this long.</summary>
    public TimeSpan RepeatAfter { get; init; } = TimeSpan.FromMinutes(30);

    /// <summary>The same for exhaustion forecasts, which hold for days once made.</summary>
    public TimeSpan ExhaustionRepeatAfter { get; init; } = TimeSpan.FromDays(1);

    /// <summary>Ensemble findings scoring below this are not sent (Skyline's have no score and always are).</summary>
    public double MinScore { get; init; }

    /// <summary>Time allowed for one POST.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>POSTs per alert and webhook before it counts as failed (1 s, then 2 s, ... between them).</summary>
    public int Attempts { get; init; } = 3;

    /// <summary>Alerts waiting to be sent; beyond this, new ones are dropped (and counted).</summary>
    public int QueueLength { get; init; } = 10_000;

    /// <summary>Alerts sent one by one per <see cref="StormWindow"/>; the findings beyond that in
    /// the same window go out together in one digest when it ends (a deploy that breaks 5,000
    /// metrics is one message, not 5,000). 0: no limit.</summary>
    public int StormLimit { get; init; } = 20;

    /// <summary>The window <see cref="StormLimit"/> counts in.</summary>
    public TimeSpan StormWindow { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>Whether any webhook is configured (otherwise the analyzer sends no alerts).</summary>
    public bool Enabled => Webhooks.Count + MattermostWebhooks.Count > 0;

    /// <summary>The HTTP client every alert sender uses: <see cref="Timeout"/> per request, and no
    /// redirects followed (a webhook that redirects would send the alert, and its secret URL's
    /// body, somewhere else).</summary>
    public HttpClient NewHttpClient() => new(new SocketsHttpHandler { AllowAutoRedirect = false }) { Timeout = Timeout };

    /// <summary>Fails fast on settings that cannot work.</summary>
    public void Validate()
    {
        foreach (var url in Alertmanagers.Append(ExternalUrl).Where(u => u.Length > 0))
        {
            if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            {
                throw new ArgumentException($"Analyzer:Alerts: '{url}' (Alertmanagers or ExternalUrl) is not an http(s) URL.");
            }
        }
        for (var i = 0; i < IncidentReceivers.Count; i++)
        {
            IncidentReceivers[i].Validate(i);
        }
        if (AlertmanagerResend <= TimeSpan.Zero)
        {
            throw new ArgumentException("Analyzer:Alerts:AlertmanagerResend must be positive.");
        }
        foreach (var (url, format) in Receivers)
        {
            if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            {
                throw new ArgumentException($"Analyzer:Alerts:{(format == AlertFormat.Slack ? "Webhooks" : "MattermostWebhooks")}: '{url}' is not an http(s) URL.");
            }
        }
        if (RepeatAfter < TimeSpan.Zero || ExhaustionRepeatAfter < TimeSpan.Zero || Timeout <= TimeSpan.Zero || Attempts < 1 || QueueLength < 1 || StormLimit < 0 || StormWindow <= TimeSpan.Zero)
        {
            throw new ArgumentException("Analyzer:Alerts: RepeatAfter, ExhaustionRepeatAfter and StormLimit must not be negative, Timeout and StormWindow positive, Attempts and QueueLength at least 1.");
        }
    }
}
