using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace Horizon.Analyzer.Incidents;

/// <summary>
/// Sends incidents to the configured receivers (webhook in Alertmanager's shape, Slack, Mattermost,
/// PagerDuty, e-mail):
/// one message per incident per pass when it opened, escalated or resolved (a deploy that opened
/// with one metric and gained 30 in the same pass is one message, with all 31). Each receiver has
/// its route, its own bounded queue, its own sending loop with retries and a rate limit: a dead
/// receiver delays only itself, and when messages wait, the most severe go first (beyond the
/// queue, the least severe are dropped and counted). A resolve goes only where its incident was sent
/// (<see cref="Incident.SentTo"/>, stored with it: after a restart, or from another shard's analyzer).
/// </summary>
public sealed partial class IncidentDispatcher : IDisposable
{
    // Payload: the POST's JSON bytes, or for e-mail the message.
    private sealed record Message(string Incident, string Event, int Rank, double Peak, object Payload);

    private sealed class Lane(ReceiverOptions options, string name)
    {
        public ReceiverOptions Options { get; } = options;
        public string Name { get; } = name;
        public List<Message> Waiting { get; } = [];
        public SemaphoreSlim Signal { get; } = new(0);
        public Queue<long> Recent { get; } = new(); // TimeProvider timestamps of the last minute's sends
        public NameGlob? Glob { get; } = options.Metric is null ? null : new NameGlob(options.Metric);
    }

    private readonly AlertOptions _options;
    private readonly AlertMetrics _metrics;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly HttpClient _http;
    private readonly List<Lane> _lanes;

    /// <summary>A dispatcher for <see cref="AlertOptions.Receivers"/>.</summary>
    public IncidentDispatcher(AlertOptions options, AlertMetrics metrics, ILogger logger, TimeProvider time)
    {
        _options = options;
        _metrics = metrics;
        _logger = logger;
        _time = time;
        _http = options.NewHttpClient();
        _lanes = [.. options.Receivers.Select((r, i) => new Lane(r, r.Name.Length > 0 ? r.Name : $"{r.Kind.ToString().ToLowerInvariant()}-{i}"))];
    }

    /// <summary>Queues the messages of one pass: <paramref name="events"/> about <paramref name="incidents"/>
    /// (whose <see cref="Incident.SentTo"/> it updates, before they are stored).</summary>
    public void Dispatch(IReadOnlyList<IncidentEvent> events, IEnumerable<Incident> incidents) => Prepare(events, incidents)();

    /// <summary>Routes the messages (recording each incident's receivers in its <c>SentTo</c>) and
    /// returns what queues them: called once the incidents are stored, so a receiver that follows
    /// the message's link back to the API finds the incident there.</summary>
    public Action Prepare(IReadOnlyList<IncidentEvent> events, IEnumerable<Incident> incidents)
    {
        var byId = incidents.ToDictionary(i => i.Id, StringComparer.Ordinal);
        // One message per incident: resolved, else escalated, else opened; joins ride along.
        var what = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var e in events)
        {
            if (e.Event is "opened" or "escalated" or "resolved" && byId.ContainsKey(e.Incident)
                && Weight(e.Event) > Weight(what.GetValueOrDefault(e.Incident)))
            {
                what[e.Incident] = e.Event;
            }
        }
        var routed = new List<(Lane Lane, List<Message> Messages)>();
        foreach (var lane in _lanes)
        {
            var messages = new List<Message>();
            foreach (var (id, kind) in what)
            {
                var incident = byId[id];
                var resolve = kind == "resolved";
                if (resolve ? !incident.SentTo.Contains(lane.Name) : incident.SilencedBy is not null || !Routes(lane, incident))
                {
                    continue;
                }
                if (!resolve && !incident.SentTo.Contains(lane.Name))
                {
                    incident.SentTo.Add(lane.Name);
                }
                messages.Add(new Message(id, kind, Rank(incident, kind), incident.Peak ?? 0, Payload(lane, incident, kind)));
            }
            if (messages.Count > 0)
            {
                routed.Add((lane, messages));
            }
        }
        return () =>
        {
            foreach (var (lane, messages) in routed)
            {
                lock (lane.Waiting)
                {
                    lane.Waiting.AddRange(messages);
                    // Most severe first; beyond the queue the least severe go.
                    lane.Waiting.Sort((a, b) => b.Rank != a.Rank ? b.Rank.CompareTo(a.Rank) : b.Peak.CompareTo(a.Peak));
                    while (lane.Waiting.Count > lane.Options.QueueLength)
                    {
                        lane.Waiting.RemoveAt(lane.Waiting.Count - 1);
                        _metrics.IncidentMessages.WithLabels(lane.Name, "dropped").Inc();
                    }
                }
                lane.Signal.Release();
            }
        };
    }

    private static int Weight(string? e) => e switch { "resolved" => 3, "escalated" => 2, "opened" => 1, _ => 0 };

    // Critical before warning; a resolve after what is still burning.
    private static int Rank(Incident incident, string kind) => kind == "resolved" ? 0 : incident.Severity == "critical" ? 2 : 1;

    private static bool Routes(Lane lane, Incident incident) =>
        (lane.Options.MinSeverity != "critical" || incident.Severity == "critical")
        && (lane.Options.MinScore <= 0 || incident.Peak is not { } peak || peak >= lane.Options.MinScore)
        && (lane.Options.Owner is null || incident.Owners.Contains(lane.Options.Owner, StringComparer.Ordinal))
        && (lane.Glob is null || incident.Metrics.Exists(m => lane.Glob.IsMatch(m.Metric)));

    /// <summary>Sends until cancelled, then what waits for up to a few seconds.</summary>
    public Task RunAsync(CancellationToken stoppingToken) => Task.WhenAll(_lanes.Select(l => LaneAsync(l, stoppingToken)));

    private async Task LaneAsync(Lane lane, CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await lane.Signal.WaitAsync(stoppingToken);
                while (Next(lane) is { } message)
                {
                    await RateAsync(lane, stoppingToken);
                    await SendAsync(lane, message, stoppingToken);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
        }
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            while (Next(lane) is { } message)
            {
                await SendAsync(lane, message, deadline.Token);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private static Message? Next(Lane lane)
    {
        lock (lane.Waiting)
        {
            if (lane.Waiting.Count == 0)
            {
                return null;
            }
            var next = lane.Waiting[0];
            lane.Waiting.RemoveAt(0);
            return next;
        }
    }

    // Waits while the last minute's sends reach PerMinute.
    private async Task RateAsync(Lane lane, CancellationToken ct)
    {
        while (lane.Recent.Count > 0 && _time.GetElapsedTime(lane.Recent.Peek()) >= TimeSpan.FromMinutes(1))
        {
            lane.Recent.Dequeue();
        }
        if (lane.Recent.Count >= lane.Options.PerMinute)
        {
            await Task.Delay(TimeSpan.FromMinutes(1) - _time.GetElapsedTime(lane.Recent.Dequeue()), _time, ct);
        }
        lane.Recent.Enqueue(_time.GetTimestamp());
    }

    private async Task SendAsync(Lane lane, Message message, CancellationToken ct)
    {
        string? error = null;
        for (var attempt = 1; attempt <= _options.Attempts; attempt++)
        {
            try
            {
                if (message.Payload is MimeKit.MimeMessage mail)
                {
                    await MailAsync(lane.Options, mail, ct);
                    _metrics.IncidentMessages.WithLabels(lane.Name, "sent").Inc();
                    return;
                }
                using var content = new ByteArrayContent((byte[])message.Payload);
                content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
                using var response = await _http.PostAsync(lane.Options.Url, content, ct);
                if (response.IsSuccessStatusCode)
                {
                    _metrics.IncidentMessages.WithLabels(lane.Name, "sent").Inc();
                    return;
                }
                error = $"HTTP {(int)response.StatusCode}";
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException or MailKit.ProtocolException or MailKit.Net.Smtp.SmtpCommandException or MailKit.Security.AuthenticationException or System.Net.Sockets.SocketException && !ct.IsCancellationRequested)
            {
                error = e.Message;
            }
            if (attempt < _options.Attempts)
            {
                await Task.Delay(TimeSpan.FromSeconds(attempt), _time, ct);
            }
        }
        _metrics.IncidentMessages.WithLabels(lane.Name, "failed").Inc();
        Log.Failed(_logger, message.Event, message.Incident, lane.Name, new Uri(lane.Options.Url).GetLeftPart(UriPartial.Authority), _options.Attempts, error ?? "");
    }

    // ---- bodies ---------------------------------------------------------------------------------

    // What a receiver of this kind is sent: an e-mail, or a POST's JSON.
    private object Payload(Lane lane, Incident incident, string kind)
    {
        var link = IncidentAlert.Link(_options.ExternalUrl, incident.Id);
        return lane.Options.Kind switch
        {
            ReceiverKind.Email => Mail(lane.Options, incident, kind, link),
            ReceiverKind.Slack => JsonSerializer.SerializeToUtf8Bytes(Slack(incident, kind, link)),
            ReceiverKind.Mattermost => JsonSerializer.SerializeToUtf8Bytes(Mattermost(incident, kind, link)),
            ReceiverKind.PagerDuty => JsonSerializer.SerializeToUtf8Bytes(PagerDuty(incident, kind, link, lane.Options.RoutingKey)),
            _ => JsonSerializer.SerializeToUtf8Bytes(Webhook(incident, kind, link, lane.Name)),
        };
    }

    /// <summary>Alertmanager's webhook notification (version 4) for one incident.</summary>
    public object Webhook(Incident incident, string kind, string? link, string receiver)
    {
        var resolved = kind == "resolved";
        var alert = IncidentAlert.Of(incident, incident.StartedAt, resolved ? incident.ResolvedAt ?? incident.LastAt : 0, link);
        alert["status"] = resolved ? "resolved" : "firing";
        alert["fingerprint"] = incident.Id;
        if (!resolved)
        {
            alert["endsAt"] = "0001-01-01T00:00:00Z"; // Alertmanager's "not ended"
        }
        return new Dictionary<string, object?>
        {
            ["version"] = "4",
            ["groupKey"] = $"{{}}:{{incident=\"{incident.Id}\"}}",
            ["truncatedAlerts"] = 0,
            ["status"] = resolved ? "resolved" : "firing",
            ["receiver"] = receiver,
            ["groupLabels"] = new Dictionary<string, string> { ["incident"] = incident.Id },
            ["commonLabels"] = IncidentAlert.Labels(incident),
            ["commonAnnotations"] = IncidentAlert.Annotations(incident),
            ["externalURL"] = _options.ExternalUrl,
            ["alerts"] = new[] { alert },
        };
    }

    /// <summary>A Slack Block Kit message: a header, the first metrics with their reasons, the
    /// owners and times, a button to the page; every text from metrics escaped.</summary>
    public static object Slack(Incident incident, string kind, string? link)
    {
        var state = kind == "resolved" ? "RESOLVED" : incident.Severity.ToUpperInvariant();
        var title = $"[{state}] {incident.Title()}";
        var blocks = new List<object>
        {
            new { type = "header", text = new { type = "plain_text", text = Cut(title, 150) } },
            new { type = "section", text = new { type = "mrkdwn", text = Cut(MetricLines(incident, "• ", AlertFormat.Slack), 3000) } },
            new { type = "context", elements = new object[] { new { type = "mrkdwn", text = Context(incident, " · ", AlertFormat.Slack) } } },
        };
        if (link is not null)
        {
            blocks.Add(new { type = "actions", elements = new object[] { new { type = "button", text = new { type = "plain_text", text = "Open in Horizon" }, url = link } } });
        }
        return new { text = AlertText.Escape("Horizon: " + title, AlertFormat.Slack), blocks };
    }

    /// <summary>A Mattermost message: the same as Slack's in Markdown text (Mattermost reads no Block
    /// Kit), metric names and owners escaped so they can neither link nor mention.</summary>
    public static object Mattermost(Incident incident, string kind, string? link)
    {
        var c = CultureInfo.InvariantCulture;
        var state = kind == "resolved" ? "RESOLVED" : incident.Severity.ToUpperInvariant();
        var text = new StringBuilder();
        text.Append(c, $"**\\[{state}\\] Horizon: {AlertText.Escape(incident.Title(), AlertFormat.Mattermost)}**\n");
        text.Append(MetricLines(incident, "- ", AlertFormat.Mattermost));
        text.Append(Context(incident, ", ", AlertFormat.Mattermost));
        if (link is not null)
        {
            text.Append(c, $"\n[Open in Horizon]({link})");
        }
        return new { text = text.ToString() };
    }

    // The first five metrics, a line each with their first two reasons, and how many more; escaped for the format.
    private static string MetricLines(Incident incident, string bullet, AlertFormat format)
    {
        var lines = new StringBuilder();
        foreach (var m in incident.Metrics.Take(5))
        {
            lines.Append(bullet).Append(AlertText.Escape(m.Metric, format));
            if (m.Reasons is { Count: > 0 } reasons)
            {
                lines.Append(": ").Append(AlertText.Escape(string.Join("; ", reasons.Take(2)), format));
            }
            lines.Append('\n');
        }
        if (incident.MetricCount > 5)
        {
            lines.Append(CultureInfo.InvariantCulture, $"and {incident.MetricCount - 5} more\n");
        }
        return lines.ToString();
    }

    // When it started (and after what), what it looks like, its peak, owners and acknowledgement,
    // the parts after the first joined by the separator; escaped for the format.
    private static string Context(Incident incident, string separator, AlertFormat format)
    {
        var c = CultureInfo.InvariantCulture;
        string Escape(string text) => AlertText.Escape(text, format);
        return string.Create(c, $"started {IncidentAlert.Time(incident.StartedAt)}")
            + (incident.Since is { } since ? ", " + Escape(since) : "")
            + (incident.LooksLike is { } like ? separator + Escape(like.ToString()) : "")
            + (incident.Peak is { } peak ? string.Create(c, $"{separator}peak score {peak:F2}") : "")
            + (incident.Owners.Count > 0 ? separator + "owners " + Escape(string.Join(", ", incident.Owners)) : "")
            + (incident.Acknowledged is { } ack ? separator + "acknowledged by " + Escape(ack.By) : "");
    }

    /// <summary>A PagerDuty Events API v2 event: trigger (or resolve) with the incident id as the dedup key.</summary>
    public static object PagerDuty(Incident incident, string kind, string? link, string routingKey)
    {
        if (kind == "resolved")
        {
            return new { routing_key = routingKey, event_action = "resolve", dedup_key = incident.Id };
        }
        return new
        {
            routing_key = routingKey,
            event_action = "trigger",
            dedup_key = incident.Id,
            payload = new
            {
                summary = Cut("Horizon: " + incident.Title(), 1024),
                source = "horizon",
                severity = incident.Severity,
                timestamp = IncidentAlert.Time(incident.StartedAt),
                component = incident.PeakMetric ?? incident.Metrics.FirstOrDefault()?.Metric,
                group = incident.Owners.Count > 0 ? string.Join(",", incident.Owners) : null,
                @class = incident.Kind.Name(),
                custom_details = new
                {
                    metrics = incident.Metrics.Take(50).Select(m => m.Metric).ToArray(),
                    more_metrics = Math.Max(0, incident.MetricCount - 50),
                    reasons = IncidentAlert.Annotations(incident)["description"],
                    peak_score = incident.Peak,
                    after = incident.Since,
                    looks_like = incident.LooksLike?.ToString(),
                },
            },
            links = link is null ? Array.Empty<object>() : [new { href = link, text = "Horizon incident" }],
        };
    }

    /// <summary>An e-mail: the subject says what and how bad, the text the metrics with their reasons,
    /// the owners, the times and the link.</summary>
    public static MimeKit.MimeMessage Mail(ReceiverOptions options, Incident incident, string kind, string? link)
    {
        var c = CultureInfo.InvariantCulture;
        var state = kind == "resolved" ? "RESOLVED" : incident.Severity.ToUpperInvariant();
        var message = new MimeKit.MimeMessage { Subject = Cut($"[{state}] Horizon: {incident.Title()}", 200) };
        message.From.Add(MimeKit.MailboxAddress.Parse(options.From));
        foreach (var to in options.To)
        {
            message.To.Add(MimeKit.MailboxAddress.Parse(to));
        }
        // Replies and later messages about one incident thread together.
        message.Headers.Add("X-Horizon-Incident", incident.Id);
        var text = new StringBuilder();
        text.Append(c, $"{incident.Title()}\n\n");
        text.Append(c, $"Incident {incident.Id}, {incident.Severity}, started {IncidentAlert.Time(incident.StartedAt)}");
        text.Append(incident.Since is { } after ? ", " + after : "");
        text.Append(incident.LooksLike is { } like ? ", " + like : "");
        text.Append(kind == "resolved" && incident.ResolvedAt is { } resolved ? string.Create(c, $", resolved {IncidentAlert.Time(resolved)}") : "");
        text.Append(incident.Peak is { } peak ? string.Create(c, $", peak score {peak:F2}") : "").Append('\n');
        if (incident.Owners.Count > 0)
        {
            text.Append("Owners: ").Append(string.Join(", ", incident.Owners)).Append('\n');
        }
        if (incident.Acknowledged is { } ack)
        {
            text.Append(c, $"Acknowledged by {ack.By}{(ack.Comment is null ? "" : ": " + ack.Comment)}\n");
        }
        text.Append('\n');
        foreach (var m in incident.Metrics.Take(20))
        {
            text.Append(m.Metric).Append('\n');
            foreach (var reason in m.Reasons ?? [])
            {
                text.Append("  ").Append(reason).Append('\n');
            }
        }
        if (incident.MetricCount > 20)
        {
            text.Append(c, $"and {incident.MetricCount - 20} more\n");
        }
        if (link is not null)
        {
            text.Append('\n').Append(link).Append('\n');
        }
        message.Body = new MimeKit.TextPart("plain") { Text = text.ToString() };
        return message;
    }

    private static async Task MailAsync(ReceiverOptions options, MimeKit.MimeMessage mail, CancellationToken ct)
    {
        var server = new Uri(options.Url);
        using var smtp = new MailKit.Net.Smtp.SmtpClient { Timeout = 30_000 };
        await smtp.ConnectAsync(server.Host, server.IsDefaultPort || server.Port < 0 ? (server.Scheme == "smtps" ? 465 : 25) : server.Port,
            server.Scheme == "smtps" ? MailKit.Security.SecureSocketOptions.SslOnConnect : MailKit.Security.SecureSocketOptions.StartTlsWhenAvailable, ct);
        if (options.Username.Length > 0)
        {
            await smtp.AuthenticateAsync(options.Username, options.Password, ct);
        }
        await smtp.SendAsync(mail, ct);
        await smtp.DisconnectAsync(quit: true, ct);
    }

    private static string Cut(string text, int max) => text.Length <= max ? text : text[..(max - 1)] + "…";

    /// <inheritdoc />
    public void Dispose()
    {
        _http.Dispose();
        foreach (var lane in _lanes)
        {
            lane.Signal.Dispose();
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 46, Level = LogLevel.Warning, Message = "Incident {Incident} ({Event}) not delivered to receiver {Receiver} at {Host} after {Attempts} attempt(s): {Error}")]
        public static partial void Failed(ILogger logger, string @event, string incident, string receiver, string host, int attempts, string error);
    }
}
