using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using Horizon.Storage;
using Microsoft.Extensions.Logging;

namespace Horizon.Analyzer;

/// <summary>
/// Sends each new finding to the configured webhooks, once per metric and kind within
/// <see cref="AlertOptions.RepeatAfter"/>, and beyond <see cref="AlertOptions.StormLimit"/> a
/// window the rest as one digest. Findings are queued (bounded) by the publisher and sent by
/// <see cref="RunAsync"/>, so a slow or failing webhook never holds up a pass; each POST is
/// retried, and what could not be delivered is counted and logged. On shutdown what is queued is
/// sent within a few seconds.
/// </summary>
public sealed partial class AlertSender : IDisposable
{
    private readonly AlertOptions _options;
    private readonly AlertMetrics _metrics;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly Channel<AnomalyRecord> _queue;
    private readonly Dictionary<string, long> _lastSent = new(StringComparer.Ordinal);
    private readonly HttpClient _http;
    private readonly List<AnomalyRecord> _held = []; // beyond the storm limit, for the window's digest
    private long _windowStart = long.MinValue; // TimeProvider timestamp
    private int _sentInWindow;

    /// <summary>Findings in a digest listed by name in its text (all are in its <c>anomalies</c>, up to 1,000).</summary>
    public const int DigestNames = 10;

    /// <summary>A sender for these options.</summary>
    public AlertSender(AlertOptions options, AlertMetrics metrics, ILogger logger, TimeProvider time)
    {
        _options = options;
        _metrics = metrics;
        _logger = logger;
        _time = time;
        _queue = Channel.CreateBounded<AnomalyRecord>(new BoundedChannelOptions(options.QueueLength) { SingleReader = true, FullMode = BoundedChannelFullMode.DropWrite });
        _http = options.NewHttpClient();
    }

    /// <summary>Queues a new finding unless its score is below the minimum or its metric was alerted
    /// about within <see cref="AlertOptions.RepeatAfter"/>.</summary>
    public void Offer(AnomalyRecord record)
    {
        if (record.Score is { } score && score < _options.MinScore)
        {
            _metrics.Suppressed.WithLabels("score").Inc();
            return;
        }
        var key = AnomalyPublisher.Field(record);
        var now = _time.GetUtcNow().ToUnixTimeSeconds();
        lock (_lastSent)
        {
            var quiet = record.Kind == FindingKind.Exhaustion ? _options.ExhaustionRepeatAfter : _options.RepeatAfter;
            if (_lastSent.TryGetValue(key, out var last) && now - last < quiet.TotalSeconds)
            {
                _metrics.Suppressed.WithLabels("repeat").Inc();
                return;
            }
            if (!_queue.Writer.TryWrite(record))
            {
                _metrics.Dropped.Inc();
                return;
            }
            _lastSent[key] = now;
        }
    }

    /// <summary>Counts findings as alerted when they were detected (their <c>detected_at</c>), so an
    /// analyzer that restarts does not alert again about what it reported before (the current
    /// findings in <c>horizon.anomalies</c>, which its first pass finds again as new).</summary>
    public void Remember(IEnumerable<AnomalyRecord> alerted)
    {
        lock (_lastSent)
        {
            foreach (var record in alerted)
            {
                var key = AnomalyPublisher.Field(record);
                _lastSent[key] = Math.Max(_lastSent.GetValueOrDefault(key, long.MinValue), record.DetectedAt);
            }
        }
    }

    /// <summary>Sends queued alerts until <paramref name="stoppingToken"/> is cancelled, then what is
    /// still queued, for up to <paramref name="drain"/>.</summary>
    public async Task RunAsync(TimeSpan drain, CancellationToken stoppingToken)
    {
        try
        {
            while (true)
            {
                if (_held.Count > 0)
                {
                    // A digest is pending: wait for more findings until its window ends, then send it.
                    var remaining = _options.StormWindow - _time.GetElapsedTime(_windowStart);
                    if (remaining <= TimeSpan.Zero)
                    {
                        await SendDigestAsync(stoppingToken);
                        continue;
                    }
                    using var wait = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
                    wait.CancelAfter(remaining);
                    try
                    {
                        if (!await _queue.Reader.WaitToReadAsync(wait.Token))
                        {
                            break;
                        }
                    }
                    catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
                    {
                        continue;
                    }
                }
                else if (!await _queue.Reader.WaitToReadAsync(stoppingToken))
                {
                    break;
                }
                while (_queue.Reader.TryRead(out var record))
                {
                    await DispatchAsync(record, stoppingToken);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        _queue.Writer.TryComplete();
        using var deadline = new CancellationTokenSource(drain);
        try
        {
            while (_queue.Reader.TryRead(out var record))
            {
                await DispatchAsync(record, deadline.Token);
            }
            if (_held.Count > 0)
            {
                await SendDigestAsync(deadline.Token);
            }
        }
        catch (OperationCanceledException)
        {
        }
        var left = _queue.Reader.Count + _held.Count;
        if (left > 0)
        {
            _metrics.Dropped.Inc(left);
            Log.Abandoned(_logger, left);
        }
    }

    // Sends a finding on its own while the window's limit allows, or holds it for the digest.
    private async Task DispatchAsync(AnomalyRecord record, CancellationToken ct)
    {
        if (_windowStart == long.MinValue || _time.GetElapsedTime(_windowStart) >= _options.StormWindow)
        {
            if (_held.Count > 0)
            {
                await SendDigestAsync(ct);
            }
            StartWindow();
        }
        if (_options.StormLimit == 0 || _sentInWindow < _options.StormLimit)
        {
            _sentInWindow++;
            await PostAsync(Text(record), "anomaly", record, record.Metric, ct);
        }
        else
        {
            _held.Add(record);
        }
    }

    // One message for the findings held beyond the storm limit; the next window starts after it.
    private async Task SendDigestAsync(CancellationToken ct)
    {
        var held = _held.OrderByDescending(r => r.Score ?? 1.0).ToList();
        _held.Clear();
        _metrics.Digested.Inc(held.Count);
        await PostAsync(DigestText(held, _options.StormLimit, _options.StormWindow), "anomalies", held.Take(1000).ToList(), $"{held.Count} findings (digest)", ct);
        StartWindow();
    }

    private void StartWindow()
    {
        _windowStart = _time.GetTimestamp();
        _sentInWindow = 0;
    }

    /// <summary>The digest's line: how many, the first names (highest score first), and why it is one message.</summary>
    public static string DigestText(IReadOnlyList<AnomalyRecord> held, int limit, TimeSpan window)
    {
        var names = string.Join(", ", held.Take(DigestNames).Select(r => r.Kind == FindingKind.Anomaly ? r.Metric : $"{r.Metric} ({r.Kind.Name()})"));
        var more = held.Count > DigestNames ? string.Create(CultureInfo.InvariantCulture, $" and {held.Count - DigestNames:N0} more") : "";
        return string.Create(CultureInfo.InvariantCulture,
            $"Horizon: {held.Count:N0} more new findings ({limit} are sent one by one per {window.TotalSeconds:G4} s): {names}{more}");
    }

    // POSTs {"text": <text escaped for the receiver>, <field>: <payload>} to every receiver, with a
    // Content-Length (some receivers refuse chunked bodies).
    private async Task PostAsync(string text, string field, object payload, string what, CancellationToken ct)
    {
        foreach (var (url, format) in _options.Receivers)
        {
            var body = JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object> { ["text"] = AlertText.Escape(text, format), [field] = payload }, AnomalyPublisher.Json);
            string? error = null;
            for (var attempt = 1; attempt <= _options.Attempts; attempt++)
            {
                try
                {
                    using var content = new ByteArrayContent(body);
                    content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
                    using var response = await _http.PostAsync(url, content, ct);
                    if (response.IsSuccessStatusCode)
                    {
                        error = null;
                        break;
                    }
                    error = (int)response.StatusCode is >= 300 and < 400
                        ? $"HTTP {(int)response.StatusCode} (redirects are not followed)"
                        : $"HTTP {(int)response.StatusCode}";
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !ct.IsCancellationRequested)
                {
                    error = e.Message;
                }
                if (attempt < _options.Attempts)
                {
                    await Task.Delay(TimeSpan.FromSeconds(attempt), _time, ct);
                }
            }
            if (error is null)
            {
                _metrics.Sent.Inc();
            }
            else
            {
                _metrics.Failed.Inc();
                // Webhook URLs carry their secret in the path (Slack's do): only the host is logged.
                Log.Failed(_logger, what, new Uri(url).GetLeftPart(UriPartial.Authority), _options.Attempts, error);
            }
        }
    }

    /// <summary>One line a person reads: what, where, how sure, whose, and why.</summary>
    public static string Text(AnomalyRecord record)
    {
        var c = CultureInfo.InvariantCulture;
        var unit = record.Unit ?? "";
        var when = DateTimeOffset.FromUnixTimeSeconds(record.Timestamp).ToString("yyyy-MM-dd HH:mm:ss 'UTC'", c);
        var text = new StringBuilder("Horizon: ");
        if (record.Kind == FindingKind.Exhaustion)
        {
            text.Append(c, $"{record.Metric} reaches its capacity of {record.Capacity:G6}{unit} in {record.SecondsToCapacity / 86400:F1} days (now {record.Value:G6}{unit} at {when})");
        }
        else
        {
            text.Append(c, $"{record.Metric} = {record.Value:G6}{unit} at {when} is anomalous (");
            text.Append(record.Score is { } score
                ? string.Create(c, $"score {score:F2}")
                : string.Create(c, $"Skyline: {record.Votes} algorithms agreed, {record.Consensus} needed: {string.Join(", ", record.Algorithms)}"));
            text.Append(')');
        }
        if (!string.IsNullOrEmpty(record.Owner))
        {
            text.Append(c, $"; owner {record.Owner}");
        }
        if (record.Reasons is { Count: > 0 } reasons)
        {
            text.Append(": ").Append(string.Join("; ", reasons));
        }
        return text.ToString();
    }

    /// <inheritdoc />
    public void Dispose() => _http.Dispose();

    private static partial class Log
    {
        [LoggerMessage(EventId = 40, Level = LogLevel.Warning, Message = "Alert for {What} not delivered to {Host} after {Attempts} attempt(s): {Error}")]
        public static partial void Failed(ILogger logger, string what, string host, int attempts, string error);

        [LoggerMessage(EventId = 41, Level = LogLevel.Warning, Message = "{Count} queued alert(s) not sent before shutdown")]
        public static partial void Abandoned(ILogger logger, int count);
    }
}
