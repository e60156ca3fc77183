using System.Text;
using System.Threading.Channels;
using Horizon.Core.Logs;
using Horizon.Core.Points;
using Horizon.Storage.Logs;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Horizon.Ingest.Logs;

/// <summary>A log source (an application, a host) with its own templates.</summary>
public sealed class LogSource(string name, TemplateMiner miner, long firstSeen)
{
    /// <summary>The name, safe in a series name.</summary>
    public string Name { get; } = name;

    internal TemplateMiner Miner { get; } = miner;

    internal List<LogTemplateState> Templates { get; } = [];

    /// <summary>When its first line arrived (Unix seconds), as the store has it.</summary>
    public long FirstSeen { get; internal set; } = firstSeen;

    internal bool Recorded { get; set; }
}

/// <summary>A template with its counts: lines this interval, when it was first and last seen,
/// the most severe severity its lines had, and two sample lines.</summary>
public sealed class LogTemplateState
{
    internal LogTemplateState(LogSource source, LogTemplate template, string series, long firstSeen)
    {
        Source = source;
        Template = template;
        Series = series;
        SeriesBytes = Encoding.UTF8.GetBytes(series);
        FirstSeen = firstSeen;
    }

    /// <summary>The source the template belongs to.</summary>
    public LogSource Source { get; }

    /// <summary>The template.</summary>
    public LogTemplate Template { get; }

    /// <summary>Its series: <c>logs.&lt;source&gt;.&lt;id&gt;</c>.</summary>
    public string Series { get; }

    internal byte[] SeriesBytes { get; }

    internal long FirstSeen { get; }

    internal long LastSeenMs { get; set; }

    internal int Interval { get; set; }

    internal LogSeverity Severity { get; set; } = LogSeverity.Unknown;

    internal string? FirstSample { get; set; }

    internal string? LatestSample { get; set; }

    internal bool Dirty { get; set; }

    internal bool IsNew { get; set; }

    internal StoredLogTemplate Stored() => new(Series, Source.Name, Template.Id, Template.Text, Severity.Name(), FirstSeen, LastSeenMs / 1000,
        Template.Lines, FirstSample is null ? [] : LatestSample is null || LatestSample == FirstSample ? [FirstSample] : [FirstSample, LatestSample]);
}

/// <summary>Where every log listener hands its lines: a bounded queue of <see cref="LogBlock"/>s, and
/// one loop that groups each line into its source's templates (Drain), keeps it in the
/// <see cref="LogTail"/>, and every <see cref="LogOptions.FlushInterval"/> hands each template's line
/// count to the writer as a point of <c>logs.&lt;source&gt;.&lt;id&gt;</c> and saves changed
/// templates to the store. Templates are restored from the store at start, so their series go on.</summary>
public sealed partial class LogPipeline : IHostedService, IDisposable
{
    /// <summary>The log listeners' names, by the number a <see cref="LogBlock"/> carries.</summary>
    public static readonly string[] Listeners = ["syslog_udp", "syslog_tcp", "logs_plain", "logs_json", "logs_http"];

    private readonly LogOptions _options;
    private readonly IngestServices _ingest;
    private readonly LogTemplateStore _store;
    private readonly LogMetrics _metrics;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly Channel<LogBlock> _queue;
    private readonly LogGrouper _grouper;
    private readonly RejectLog[] _rejectLogs;
    private readonly CancellationTokenSource _stopping = new();
    private Task? _running;

    /// <summary>Creates the pipeline (it runs from <see cref="StartAsync"/>).</summary>
    public LogPipeline(LogOptions options, IngestServices ingest, LogTemplateStore store, LogMetrics metrics, ILogger<LogPipeline> logger, TimeProvider time)
    {
        _options = options;
        _ingest = ingest;
        _store = store;
        _metrics = metrics;
        _logger = logger;
        _time = time;
        _rejectLogs = [.. Listeners.Select(l => new RejectLog(logger, l))];
        _queue = Channel.CreateBounded<LogBlock>(new BoundedChannelOptions(options.QueueBlocks) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
        Pool = new LogBlockPool(options.QueueBlocks + 8);
        Tail = new LogTail(options.TailBytes, options.TailLines);
        _grouper = new LogGrouper(options, metrics, Tail);
    }

    /// <summary>Blocks for the listeners.</summary>
    public LogBlockPool Pool { get; }

    /// <summary>The recent lines.</summary>
    public LogTail Tail { get; }

    /// <summary>The settings.</summary>
    public LogOptions Options => _options;

    /// <summary>Hands a block over, waiting while the queue is full (TCP and HTTP senders are
    /// slowed that way). An empty block goes back to the pool.</summary>
    public async ValueTask SubmitAsync(LogBlock block, CancellationToken cancellationToken = default)
    {
        if (block.Count == 0)
        {
            Pool.Return(block);
            return;
        }
        _metrics.Lines.WithLabels(Listeners[block.Listener]).Inc(block.Count);
        try
        {
            await _queue.Writer.WriteAsync(block, cancellationToken);
        }
        catch (ChannelClosedException)
        {
            _metrics.Dropped.WithLabels("shutdown").Inc(block.Count);
            Pool.Return(block);
        }
    }

    /// <summary>Hands a block over without waiting (UDP): with the queue full its lines are
    /// dropped and counted.</summary>
    public void TrySubmit(LogBlock block)
    {
        if (block.Count == 0)
        {
            Pool.Return(block);
            return;
        }
        _metrics.Lines.WithLabels(Listeners[block.Listener]).Inc(block.Count);
        if (!_queue.Writer.TryWrite(block))
        {
            _metrics.Dropped.WithLabels("queue_full").Inc(block.Count);
            Pool.Return(block);
        }
    }

    /// <summary>Counts a refused line, and says why in the log (at most every 10 s per listener).</summary>
    public void Reject(int listener, LogReject reason, ReadOnlySpan<byte> line, string? peer)
    {
        _metrics.Rejected.WithLabels(Listeners[listener], reason.Label()).Inc();
        _rejectLogs[listener].Rejected(reason.Label(), line, peer);
    }

    /// <inheritdoc />
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await RestoreAsync();
        _running = Task.Run(RunAsync, CancellationToken.None);
    }

    /// <inheritdoc />
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _queue.Writer.TryComplete();
        if (_running is not null)
        {
            // Everything queued is grouped and its counts flushed before the writer drains.
            await _running.WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
        await _stopping.CancelAsync();
    }

    /// <inheritdoc />
    public void Dispose() => _stopping.Dispose();

    private async Task RestoreAsync()
    {
        try
        {
            var sources = await _store.SourcesAsync();
            var restored = 0;
            foreach (var t in await _store.AllAsync())
            {
                if (!t.Series.StartsWith(_options.SeriesPrefix, StringComparison.Ordinal) || _grouper.Budget.Used >= _grouper.Budget.Max)
                {
                    continue;
                }
                var source = _grouper.SourceNamed(t.Source, sources.GetValueOrDefault(t.Source, t.FirstSeen));
                source.Recorded = true;
                var template = source.Miner.Restore(t.Id, t.Template);
                template.Lines = t.Lines;
                var state = new LogTemplateState(source, template, t.Series, t.FirstSeen)
                {
                    LastSeenMs = t.LastSeen * 1000,
                    Severity = LogSeverities.TryParse(t.Severity, out var s) ? s : LogSeverity.Unknown,
                    FirstSample = t.Samples.Count > 0 ? t.Samples[0] : null,
                    LatestSample = t.Samples.Count > 1 ? t.Samples[^1] : null,
                };
                _grouper.Add(state);
                restored++;
            }
            foreach (var (name, first) in sources)
            {
                if (_grouper.Sources.TryGetValue(name, out var s))
                {
                    s.FirstSeen = first;
                    s.Recorded = true;
                }
            }
            Log.Restored(_logger, restored, _grouper.Sources.Count);
        }
        catch (Exception e) when (e is StackExchange.Redis.RedisException or TimeoutException)
        {
            Log.RestoreFailed(_logger, e.Message);
        }
        _metrics.Templates.Set(_grouper.Budget.Used);
        _metrics.Sources.Set(_grouper.Sources.Count);
    }

    private async Task RunAsync()
    {
        var interval = (long)_options.FlushInterval.TotalMilliseconds;
        var nowMs = _time.GetUtcNow().ToUnixTimeMilliseconds();
        var nextFlush = ((nowMs / interval) + 1) * interval;
        var reader = _queue.Reader;
        while (true)
        {
            var wait = TimeSpan.FromMilliseconds(Math.Max(1, nextFlush - _time.GetUtcNow().ToUnixTimeMilliseconds()));
            bool more;
            using (var timeout = new CancellationTokenSource(wait, _time))
            {
                try
                {
                    more = await reader.WaitToReadAsync(timeout.Token);
                }
                catch (OperationCanceledException)
                {
                    more = true;
                }
            }
            while (reader.TryRead(out var block))
            {
                try
                {
                    _grouper.Group(block);
                }
                catch (Exception e)
                {
                    Log.GroupingFailed(_logger, e);
                }
                finally
                {
                    Pool.Return(block);
                }
                if (_time.GetUtcNow().ToUnixTimeMilliseconds() >= nextFlush)
                {
                    break;
                }
            }
            _metrics.QueueBlocks.Set(reader.Count);
            nowMs = _time.GetUtcNow().ToUnixTimeMilliseconds();
            if (nowMs >= nextFlush || !more)
            {
                await FlushAsync(nowMs);
                nextFlush = ((nowMs / interval) + 1) * interval;
            }
            if (!more)
            {
                return;
            }
        }
    }

    // Each template's count becomes a point; changed templates are saved.
    private async Task FlushAsync(long nowMs)
    {
        var interval = (long)_options.FlushInterval.TotalMilliseconds;
        var timestamp = nowMs / interval * interval / 1000;
        var now = nowMs / 1000;
        var zeroFill = (long)_options.ZeroFillFor.TotalMilliseconds;
        var writer = _ingest.Writer;
        var batch = writer.Pool.Rent(PointSource.LogTemplates);
        var rejects = default(Core.Protocols.RejectTally);
        var points = 0;
        var save = new List<StoredLogTemplate>();
        var newOnes = new List<StoredLogTemplate>();
        var threshold = _options.NewTemplateThreshold;
        var after = (long)_options.NewTemplateAfter.TotalSeconds;
        foreach (var t in _grouper.Templates)
        {
            if (t.Interval > 0 || nowMs - t.LastSeenMs <= zeroFill)
            {
                var error = _ingest.Gate.Admit(t.SeriesBytes, timestamp, now, out var key);
                if (error == Core.Protocols.RejectReason.None)
                {
                    batch.Add(key!, timestamp, t.Interval);
                    points++;
                    if (batch.IsFull)
                    {
                        await writer.SubmitAsync(batch);
                        batch = writer.Pool.Rent(PointSource.LogTemplates);
                    }
                }
                else
                {
                    rejects.Add(error);
                }
                t.Interval = 0;
            }
            if (t.Dirty)
            {
                var stored = t.Stored();
                save.Add(stored);
                t.Dirty = false;
                if (t.IsNew)
                {
                    t.IsNew = false;
                    var recorded = t.FirstSeen >= t.Source.FirstSeen + after && (t.Severity <= threshold || t.Severity == LogSeverity.Unknown);
                    _metrics.NewTemplates.WithLabels(recorded ? "true" : "false").Inc();
                    if (recorded)
                    {
                        newOnes.Add(stored);
                    }
                }
            }
        }
        await writer.SubmitAsync(batch);
        _ingest.Count(PointSource.LogTemplates, points + rejects.Total, rejects);
        _metrics.Templates.Set(_grouper.Budget.Used);
        _metrics.Sources.Set(_grouper.Sources.Count);
        try
        {
            var unrecorded = _grouper.Sources.Values.Where(s => !s.Recorded).ToList();
            if (unrecorded.Count > 0)
            {
                var stored = await _store.SourcesAsync(unrecorded.ToDictionary(s => s.Name, s => s.FirstSeen, StringComparer.Ordinal));
                foreach (var s in unrecorded)
                {
                    s.FirstSeen = stored.GetValueOrDefault(s.Name, s.FirstSeen);
                    s.Recorded = true;
                }
            }
            await _store.SaveAsync(save, newOnes, now);
        }
        catch (Exception e) when (e is StackExchange.Redis.RedisException or TimeoutException)
        {
            // Saved again at the next flush.
            foreach (var t in _grouper.Templates.Where(t => save.Any(s => s.Series == t.Series)))
            {
                t.Dirty = true;
            }
            Log.SaveFailed(_logger, save.Count, e.Message);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 800, Level = LogLevel.Information, Message = "Log templates: {Templates} restored from the store, of {Sources} sources")]
        public static partial void Restored(ILogger logger, int templates, int sources);

        [LoggerMessage(EventId = 801, Level = LogLevel.Warning, Message = "Log templates could not be read from the store ({Reason}); starting without them (their series start again under the same ids as lines arrive)")]
        public static partial void RestoreFailed(ILogger logger, string reason);

        [LoggerMessage(EventId = 803, Level = LogLevel.Warning, Message = "Saving {Count} log templates failed ({Reason}); retried at the next flush")]
        public static partial void SaveFailed(ILogger logger, int count, string reason);

        [LoggerMessage(EventId = 804, Level = LogLevel.Error, Message = "Grouping a block of log lines failed; its lines are lost")]
        public static partial void GroupingFailed(ILogger logger, Exception e);
    }
}
