using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace Horizon.Analyzer.Incidents;

/// <summary>
/// Sends incidents to Prometheus Alertmanager through its v2 API (<c>POST /api/v2/alerts</c>), the
/// way Prometheus does: the whole current state, again every <see cref="AlertOptions.AlertmanagerResend"/>,
/// each firing alert valid (<c>endsAt</c>) for three times that, so an analyzer that stops lets its
/// alerts expire instead of leaving them firing forever; a resolved incident is sent with its
/// <c>endsAt</c> for an hour, so an Alertmanager that was down meanwhile still hears of it. One
/// loop per Alertmanager, each sending the newest state: a dead one delays only itself, and nothing
/// queues up behind it.
/// </summary>
public sealed partial class AlertmanagerNotifier : IDisposable
{
    private static readonly TimeSpan ResolvedFor = TimeSpan.FromHours(1);

    private readonly AlertOptions _options;
    private readonly AlertMetrics _metrics;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly HttpClient _http;
    private readonly Dictionary<string, Incident> _resolved = new(StringComparer.Ordinal);
    private readonly object _gate = new();
    private byte[] _body = "[]"u8.ToArray();
    private long _version;
    private string? _signature;

    /// <summary>A notifier for the configured Alertmanagers.</summary>
    public AlertmanagerNotifier(AlertOptions options, AlertMetrics metrics, ILogger logger, TimeProvider time)
    {
        _options = options;
        _metrics = metrics;
        _logger = logger;
        _time = time;
        _http = options.NewHttpClient();
    }

    /// <summary>Sets the state to send: the open incidents (those silenced in Horizon left out) and
    /// the ones that resolved in this pass.</summary>
    public void Update(IEnumerable<Incident> open, IEnumerable<Incident> resolved, long now)
    {
        lock (_gate)
        {
            foreach (var incident in resolved)
            {
                _resolved[incident.Id] = incident;
            }
            foreach (var id in _resolved.Where(r => now - r.Value.ResolvedAt > ResolvedFor.TotalSeconds).Select(r => r.Key).ToList())
            {
                _resolved.Remove(id);
            }
            var firing = open.Where(i => i.SilencedBy is null).ToList();
            var validFor = (long)(3 * _options.AlertmanagerResend.TotalSeconds);
            var alerts = firing.Select(i => Alert(i, i.StartedAt, now + validFor))
                .Concat(_resolved.Values.Select(i => Alert(i, i.StartedAt, i.ResolvedAt ?? now)))
                .ToList();
            _body = JsonSerializer.SerializeToUtf8Bytes(alerts);
            // Sent at once when what it says changed; otherwise with the next resend (the body
            // is rebuilt every pass, so its endsAt is always fresh).
            var signature = string.Join('|', firing.Concat(_resolved.Values).Select(i =>
                $"{i.Id}:{i.State}:{i.Severity}:{i.MetricCount}:{i.Acknowledged?.By}"));
            if (signature != _signature)
            {
                _signature = signature;
                _version++;
            }
            _metrics.AlertmanagerAlerts.WithLabels("firing").Set(firing.Count);
            _metrics.AlertmanagerAlerts.WithLabels("resolved").Set(_resolved.Count);
        }
    }

    /// <summary>The Alertmanager alert of an incident (<see cref="IncidentAlert.Of"/>) with this notifier's link.</summary>
    public Dictionary<string, object> Alert(Incident incident, long startsAt, long endsAt) =>
        IncidentAlert.Of(incident, startsAt, endsAt, IncidentAlert.Link(_options.ExternalUrl, incident.Id));

    /// <summary>Sends until cancelled, then the last state once more (briefly).</summary>
    public Task RunAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(_options.Alertmanagers.Select(url => SendLoopAsync(new Uri(new Uri(url.TrimEnd('/') + "/"), "api/v2/alerts"), stoppingToken)));

    private async Task SendLoopAsync(Uri endpoint, CancellationToken stoppingToken)
    {
        var sent = 0L;
        var lastSent = long.MinValue;
        var failures = 0;
        while (!stoppingToken.IsCancellationRequested)
        {
            long version;
            byte[] body;
            lock (_gate)
            {
                (version, body) = (_version, _body);
            }
            var due = version != sent || _time.GetElapsedTime(lastSent) >= _options.AlertmanagerResend;
            if (version > 0 && due)
            {
                if (await PostAsync(endpoint, body, stoppingToken))
                {
                    (sent, lastSent, failures) = (version, _time.GetTimestamp(), 0);
                }
                else
                {
                    failures++;
                }
            }
            // After a failure, back off (1, 2, 4 ... 30 s); otherwise look for a new state every second.
            var wait = failures > 0 ? TimeSpan.FromSeconds(Math.Min(30, 1 << Math.Min(failures - 1, 5))) : TimeSpan.FromSeconds(1);
            try
            {
                await Task.Delay(wait, _time, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
        if (_version != sent)
        {
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(3));
            await PostAsync(endpoint, _body, deadline.Token);
        }
    }

    private async Task<bool> PostAsync(Uri endpoint, byte[] body, CancellationToken ct)
    {
        try
        {
            using var content = new ByteArrayContent(body);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            using var response = await _http.PostAsync(endpoint, content, ct);
            if (response.IsSuccessStatusCode)
            {
                _metrics.AlertmanagerPosts.WithLabels("ok").Inc();
                return true;
            }
            Log.Failed(_logger, endpoint.GetLeftPart(UriPartial.Authority), $"HTTP {(int)response.StatusCode}: {await ReadSome(response)}");
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            Log.Failed(_logger, endpoint.GetLeftPart(UriPartial.Authority), e.Message);
        }
        _metrics.AlertmanagerPosts.WithLabels("failed").Inc();
        return false;
    }

    private static async Task<string> ReadSome(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        return text.Length > 300 ? text[..300] : text;
    }

    /// <inheritdoc />
    public void Dispose() => _http.Dispose();

    private static partial class Log
    {
        [LoggerMessage(EventId = 45, Level = LogLevel.Warning, Message = "Incidents not delivered to Alertmanager {Host}: {Error}")]
        public static partial void Failed(ILogger logger, string host, string error);
    }
}
