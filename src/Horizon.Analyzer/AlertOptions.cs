namespace Horizon.Analyzer;

/// <summary>Where and when the analyzer sends alerts (<c>Analyzer:Alerts</c>).</summary>
public sealed record AlertOptions
{
    /// <summary>Slack incoming webhooks: shorthand for a <c>slack</c> receiver each (all incidents),
    /// kept from when findings were sent one by one.</summary>
    public IReadOnlyList<string> Webhooks { get; init; } = [];

    /// <summary>Mattermost incoming webhooks: shorthand for a <c>mattermost</c> receiver each.</summary>
    public IReadOnlyList<string> MattermostWebhooks { get; init; } = [];

    /// <summary>Prometheus Alertmanagers (base URLs, e.g. <c>http://127.0.0.1:9093</c>) that every open
    /// incident is sent to through the v2 API (<c>POST /api/v2/alerts</c>), again every
    /// <see cref="AlertmanagerResend"/> while it is open, and as resolved when it resolves; routing,
    /// grouping, inhibition and silences then live in Alertmanager.</summary>
    public IReadOnlyList<string> Alertmanagers { get; init; } = [];

    /// <summary>Receivers of incidents (a webhook in Alertmanager's shape, Slack, Mattermost, PagerDuty,
    /// e-mail), each with its route: a message when an incident opens, escalates and resolves.</summary>
    public IReadOnlyList<Incidents.ReceiverOptions> IncidentReceivers { get; init; } = [];

    /// <summary>Every receiver: <see cref="IncidentReceivers"/>, then one per <see cref="Webhooks"/> and
    /// <see cref="MattermostWebhooks"/> URL.</summary>
    public IReadOnlyList<Incidents.ReceiverOptions> Receivers =>
        [.. IncidentReceivers,
         .. Webhooks.Select((u, i) => new Incidents.ReceiverOptions { Kind = Incidents.ReceiverKind.Slack, Url = u, Name = $"webhooks-{i}" }),
         .. MattermostWebhooks.Select((u, i) => new Incidents.ReceiverOptions { Kind = Incidents.ReceiverKind.Mattermost, Url = u, Name = $"mattermost-{i}" })];

    /// <summary>How often open incidents are sent to Alertmanager again (each is valid for three times this).</summary>
    public TimeSpan AlertmanagerResend { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>The address people reach Horizon's page at (for links in alerts: <c>generatorURL</c>,
    /// Slack buttons), e.g. <c>https://horizon.example.com</c>. Empty: no links.</summary>
    public string ExternalUrl { get; init; } = "";

    /// <summary>Time allowed for one POST.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Tries per message and receiver before it counts as failed (1 s, then 2 s, ... between them).</summary>
    public int Attempts { get; init; } = 3;

    /// <summary>The HTTP client every receiver is sent through: <see cref="Timeout"/> per request, and
    /// no redirects followed (a webhook that redirects would send the alert, and its secret URL's
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
        var receivers = Receivers;
        for (var i = 0; i < receivers.Count; i++)
        {
            var (list, at) = i < IncidentReceivers.Count ? ("IncidentReceivers", i)
                : i < IncidentReceivers.Count + Webhooks.Count ? ("Webhooks", i - IncidentReceivers.Count)
                : ("MattermostWebhooks", i - IncidentReceivers.Count - Webhooks.Count);
            receivers[i].Validate($"{list}:{at}");
        }
        if (AlertmanagerResend <= TimeSpan.Zero)
        {
            throw new ArgumentException("Analyzer:Alerts:AlertmanagerResend must be positive.");
        }
        if (Timeout <= TimeSpan.Zero || Attempts < 1)
        {
            throw new ArgumentException("Analyzer:Alerts: Timeout must be positive and Attempts at least 1.");
        }
    }
}
