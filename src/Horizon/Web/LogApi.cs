using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Horizon.Core.Logs;
using Horizon.Core.Protocols;
using Horizon.Ingest.Logs;
using Horizon.Storage.Logs;

namespace Horizon.Web;

/// <summary>
/// Logs over HTTP. The live tail and the recent lines are served by a process that receives logs
/// (the <c>all</c> and <c>ingest</c> roles); templates come from the store and are served by any.
/// <list type="bullet">
/// <item><c>GET /api/logs/tail?q=regex&amp;source=a,b&amp;severity=warning&amp;backlog=0</c>:
/// server-sent events, one <c>line</c> event per line that passes the filter (the recent window
/// first, unless <c>backlog=0</c>), with the regex's matches as [start, length] pairs (with
/// <c>batch=1</c>, one <c>lines</c> event per read holding an array of them, which browsers keep up
/// with at high rates); a <c>dropped</c> event says how many lines a slow client missed.</item>
/// <item><c>GET /api/logs/recent?q=&amp;source=&amp;severity=&amp;limit=200</c>: the newest lines that pass, as JSON.</item>
/// <item><c>GET /api/logs/templates[?source=]</c>: every template, newest activity first.</item>
/// <item><c>POST /api/logs?source=name</c> with JSON lines (<c>application/x-ndjson</c> or
/// <c>application/json</c>) or plain lines (<c>text/plain</c>); needs the write token.</item>
/// </list>
/// </summary>
public static class LogApi
{
    private const int ReadLines = 512;

    /// <summary>Maps the endpoints.</summary>
    public static void MapLogApi(this WebApplication app)
    {
        app.MapGet("/api/logs/tail", TailAsync);
        app.MapGet("/api/logs/recent", Recent);
        app.MapGet("/api/logs/templates", async (string? source, LogTemplateStore store) =>
        {
            var all = await store.AllAsync(source);
            var sorted = all.OrderByDescending(t => t.LastSeen).ThenBy(t => t.Series, StringComparer.Ordinal).ToList();
            return Results.Json(new { count = sorted.Count, templates = sorted }, LogTemplateStore.Json);
        });
        app.MapPost("/api/logs", PostAsync);
    }

    private static LogPipeline? Pipeline(HttpContext context) =>
        context.RequestServices.GetService<LogOptions>() is { Enabled: true } ? context.RequestServices.GetService<LogPipeline>() : null;

    private static IResult NotHere() => Results.Json(new { error = "this process does not receive logs (the tail is served by the all and ingest roles with Logs:Enabled)" }, statusCode: StatusCodes.Status404NotFound);

    private static int _clients;

    private static async Task TailAsync(HttpContext context, string? q, string? source, string? severity, string? backlog, string? batch, LogMetrics metrics)
    {
        if (Pipeline(context) is not { } pipeline)
        {
            await NotHere().ExecuteAsync(context);
            return;
        }
        if (TailFilter.Create(q, source, severity) is not { } filter)
        {
            await Results.BadRequest(new { error = "q must be a regular expression; severity one of emerg, alert, crit, err, warning, notice, info, debug" }).ExecuteAsync(context);
            return;
        }
        if (Interlocked.Increment(ref _clients) > pipeline.Options.MaxTailClients)
        {
            Interlocked.Decrement(ref _clients);
            await Results.Json(new { error = $"at most {pipeline.Options.MaxTailClients} tail clients (Logs:MaxTailClients)" }, statusCode: StatusCodes.Status503ServiceUnavailable).ExecuteAsync(context);
            return;
        }
        metrics.TailClients.Inc();
        try
        {
            var response = context.Response;
            response.ContentType = "text/event-stream";
            response.Headers.CacheControl = "no-cache";
            response.Headers["X-Accel-Buffering"] = "no";
            var tail = pipeline.Tail;
            var now = context.RequestServices.GetRequiredService<TimeProvider>().GetUtcNow().ToUnixTimeMilliseconds();
            var cursor = backlog is "0" or "false" ? tail.Head : tail.PositionAt(now - (long)pipeline.Options.TailWindow.TotalMilliseconds);
            var lines = new TailLine[ReadLines];
            var bytes = new byte[Math.Max(1 << 20, pipeline.Options.MaxLineLength)];
            var output = new ArrayBufferWriter<byte>(64 * 1024);
            var ct = context.RequestAborted;
            var batched = batch is "1" or "true";
            await response.WriteAsync(": horizon live tail\n\n", ct);
            await response.Body.FlushAsync(ct);
            var idle = 0;
            while (!ct.IsCancellationRequested)
            {
                var n = tail.Read(ref cursor, lines, bytes, pipeline.Options.TailClientLag, out var missed);
                output.ResetWrittenCount();
                if (missed > 0)
                {
                    metrics.TailDropped.Inc(missed);
                    Event(output, "dropped", w => w.WriteNumber("missed", missed));
                }
                if (batched)
                {
                    // One event per read for a browser: far fewer events to dispatch at high rates.
                    Event(output, "lines", w =>
                    {
                        w.WriteStartArray("lines");
                        for (var i = 0; i < n; i++)
                        {
                            var text = Encoding.UTF8.GetString(bytes, lines[i].Offset, lines[i].Length);
                            if (filter.Matches(lines[i], text) is { } matches)
                            {
                                w.WriteStartObject();
                                WriteLine(w, lines[i], text, matches);
                                w.WriteEndObject();
                            }
                        }
                        w.WriteEndArray();
                    }, skipEmpty: n == 0);
                }
                else
                {
                    for (var i = 0; i < n; i++)
                    {
                        var line = lines[i];
                        var text = Encoding.UTF8.GetString(bytes, line.Offset, line.Length);
                        if (filter.Matches(line, text) is { } matches)
                        {
                            Event(output, "line", w => WriteLine(w, line, text, matches));
                        }
                    }
                }
                if (output.WrittenCount > 0)
                {
                    await response.Body.WriteAsync(output.WrittenMemory, ct);
                    await response.Body.FlushAsync(ct);
                    idle = 0;
                }
                if (n < lines.Length)
                {
                    if (++idle % 150 == 0)
                    {
                        await response.WriteAsync(": keep-alive\n\n", ct);
                        await response.Body.FlushAsync(ct);
                    }
                    await Task.Delay(100, ct);
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or Microsoft.AspNetCore.Connections.ConnectionResetException)
        {
            // The browser went away.
        }
        finally
        {
            Interlocked.Decrement(ref _clients);
            metrics.TailClients.Dec();
        }
    }

    private static IResult Recent(HttpContext context, string? q, string? source, string? severity, int? limit)
    {
        if (Pipeline(context) is not { } pipeline)
        {
            return NotHere();
        }
        if (TailFilter.Create(q, source, severity) is not { } filter)
        {
            return Results.BadRequest(new { error = "q must be a regular expression; severity one of emerg, alert, crit, err, warning, notice, info, debug" });
        }
        var max = Math.Clamp(limit ?? 200, 1, 10_000);
        var now = context.RequestServices.GetRequiredService<TimeProvider>().GetUtcNow().ToUnixTimeMilliseconds();
        var tail = pipeline.Tail;
        var cursor = tail.PositionAt(now - (long)pipeline.Options.TailWindow.TotalMilliseconds);
        var lines = new TailLine[ReadLines];
        var bytes = new byte[Math.Max(1 << 20, pipeline.Options.MaxLineLength)];
        var found = new Queue<object>();
        var head = tail.Head;
        while (cursor < head)
        {
            var n = tail.Read(ref cursor, lines, bytes, long.MaxValue, out _);
            if (n == 0)
            {
                break;
            }
            for (var i = 0; i < n; i++)
            {
                var line = lines[i];
                var text = Encoding.UTF8.GetString(bytes, line.Offset, line.Length);
                if (filter.Matches(line, text) is { } matches)
                {
                    found.Enqueue(Shape(line, text, matches));
                    if (found.Count > max)
                    {
                        found.Dequeue();
                    }
                }
            }
        }
        return Results.Json(new { count = found.Count, lines = found });
    }

    private static async Task<IResult> PostAsync(HttpRequest request, string? source, WebOptions options, WebMetrics metrics, TimeProvider time)
    {
        if (WriteAccess.Check(request, options, metrics) is { } refused)
        {
            return refused;
        }
        if (Pipeline(request.HttpContext) is not { } pipeline)
        {
            return NotHere();
        }
        var json = request.ContentType is { } type && (type.Contains("json", StringComparison.OrdinalIgnoreCase));
        var sink = new LogLineSink(pipeline, 4, request.HttpContext.Connection.RemoteIpAddress?.ToString(), time);
        if (!string.IsNullOrWhiteSpace(source))
        {
            sink.PeerSource = Encoding.UTF8.GetBytes(LogSourceNames.Sanitise(source));
        }
        long accepted = 0;
        try
        {
            await sink.PumpAsync(request.BodyReader, new LineFramer(pipeline.Options.MaxLineLength), frame =>
            {
                if (!(json ? sink.AddJson(frame) : sink.AddPlain(frame)))
                {
                    return false;
                }
                accepted++;
                return true;
            });
        }
        finally
        {
            await sink.HandOverAsync();
            sink.Release();
        }
        return Results.Json(new { received = accepted }, statusCode: StatusCodes.Status202Accepted);
    }

    private static void Event(ArrayBufferWriter<byte> output, string name, Action<Utf8JsonWriter> body, bool skipEmpty = false)
    {
        if (skipEmpty)
        {
            return;
        }
        output.Write(Encoding.ASCII.GetBytes($"event: {name}\ndata: "));
        using (var w = new Utf8JsonWriter(output))
        {
            w.WriteStartObject();
            body(w);
            w.WriteEndObject();
        }
        output.Write("\n\n"u8);
    }

    private static void WriteLine(Utf8JsonWriter w, TailLine line, string text, List<int[]> matches)
    {
        w.WriteNumber("seq", line.Seq);
        w.WriteNumber("time", line.TimeMs);
        w.WriteString("source", line.Source.Name);
        w.WriteString("severity", line.Severity.Name());
        if (line.Template is { } t)
        {
            w.WriteString("template", t.Template.Id);
            w.WriteString("series", t.Series);
        }
        w.WriteString("line", text);
        w.WriteStartArray("matches");
        foreach (var m in matches)
        {
            w.WriteStartArray();
            w.WriteNumberValue(m[0]);
            w.WriteNumberValue(m[1]);
            w.WriteEndArray();
        }
        w.WriteEndArray();
    }

    private static object Shape(TailLine line, string text, List<int[]> matches) => new
    {
        seq = line.Seq,
        time = line.TimeMs,
        source = line.Source.Name,
        severity = line.Severity.Name(),
        template = line.Template?.Template.Id,
        series = line.Template?.Series,
        line = text,
        matches,
    };

    /// <summary>What a tail client asked for: a regex (case-insensitive, 100 ms per line at most),
    /// sources, and the least severe severity shown.</summary>
    private sealed class TailFilter
    {
        private Regex? _pattern;
        private HashSet<string>? _sources;
        private LogSeverity _severity = LogSeverity.Unknown;

        public static TailFilter? Create(string? q, string? sources, string? severity)
        {
            var filter = new TailFilter();
            if (!string.IsNullOrEmpty(q))
            {
                try
                {
                    filter._pattern = new Regex(q, RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, TimeSpan.FromMilliseconds(100));
                }
                catch (ArgumentException)
                {
                    return null;
                }
            }
            if (!string.IsNullOrWhiteSpace(sources))
            {
                filter._sources = new HashSet<string>(sources.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(LogSourceNames.Sanitise), StringComparer.Ordinal);
            }
            if (!string.IsNullOrWhiteSpace(severity))
            {
                if (!LogSeverities.TryParse(severity, out var s))
                {
                    return null;
                }
                filter._severity = s;
            }
            return filter;
        }

        // The matches (empty without a regex), or null when the line is filtered out. A severity
        // filter keeps lines of unknown severity out.
        public List<int[]>? Matches(TailLine line, string text)
        {
            if (_sources is not null && !_sources.Contains(line.Source.Name))
            {
                return null;
            }
            if (_severity != LogSeverity.Unknown && line.Severity > _severity)
            {
                return null;
            }
            if (_pattern is null)
            {
                return [];
            }
            try
            {
                var list = new List<int[]>();
                for (var m = _pattern.Match(text); m.Success && list.Count < 32; m = m.NextMatch())
                {
                    if (m.Length > 0)
                    {
                        list.Add([m.Index, m.Length]);
                    }
                }
                return list.Count > 0 ? list : null;
            }
            catch (RegexMatchTimeoutException)
            {
                return null;
            }
        }
    }
}
