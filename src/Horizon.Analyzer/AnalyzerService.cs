using System.Diagnostics;
using System.Text.Json;
using System.Threading.Channels;
using Horizon.Algorithms.Skyline;
using Horizon.Core;
using Horizon.Analyzer.Incidents;
using Horizon.Core.Series;
using Horizon.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Horizon.Analyzer;

/// <summary>The analyzer's pass loop: sync the local copy, analyse every series, publish. The
/// next pass starts when this one ends or <see cref="AnalyzerOptions.MinPassInterval"/> after it
/// started, whichever is later, so an idle analyzer sleeps instead of spinning.</summary>
public sealed partial class AnalyzerService : BackgroundService
{
    private readonly StoreConnection _store;
    private readonly AnalyzerOptions _options;
    private readonly SeriesOptions _series;
    private readonly AnalyzerMetrics _metrics;
    private readonly AlertMetrics _alertMetrics;
    private readonly ILogger<AnalyzerService> _logger;
    private readonly TimeProvider _time;
    private readonly AnalyzerMembership? _membership;
    private Shard _shard;
    private long _passes;
    private long _lastPassEnded = Stopwatch.GetTimestamp();
    private readonly IncidentStore _incidentStore;
    private readonly Horizon.Storage.Events.EventStore _events;
    private readonly ShapeIndex? _shapes;
    private TaughtShapes _taught = TaughtShapes.None;
    private string? _taughtVersion;

    /// <summary>Creates the service.</summary>
    public AnalyzerService(StoreConnection store, AnalyzerOptions options, SeriesOptions series, AnalyzerMetrics metrics, AlertMetrics alertMetrics,
        ILogger<AnalyzerService> logger, TimeProvider time, Horizon.Storage.Events.EventStore events, ShapeIndex shapes)
    {
        _store = store;
        _options = options;
        _series = series;
        _metrics = metrics;
        _alertMetrics = alertMetrics;
        _logger = logger;
        _time = time;
        _shard = Shard.Parse(options.Shard, string.IsNullOrEmpty(options.MemberId) ? AnalyzerMembership.NewId() : options.MemberId);
        _membership = _shard.IsAuto ? new AnalyzerMembership(store, _shard.Member!, options.LeaseTimeout, time) : null;
        _incidentStore = new IncidentStore(store);
        _events = events;
        _shapes = options.ShapeIndex ? shapes : null;
        shapes.Kept = options.ShapeIndex;
    }

    /// <summary>The last pass, or null before the first.</summary>
    public PassSummary? LastPass { get; private set; }

    /// <summary>How long since the last pass finished (or since the service started, before the
    /// first one): beyond <see cref="AnalyzerOptions.StallAfter"/> the analyzer is stalled.</summary>
    public TimeSpan SinceLastPass => Stopwatch.GetElapsedTime(Interlocked.Read(ref _lastPassEnded));

    /// <summary>True when no pass has finished for longer than <see cref="AnalyzerOptions.StallAfter"/>.</summary>
    public bool Stalled => SinceLastPass > _options.StallAfter;

    /// <summary>Passes completed.</summary>
    public long Passes => Interlocked.Read(ref _passes);

    /// <summary>The local copy's folder for this shard.</summary>
    public string CacheDirectory => Path.GetFullPath(Path.Combine(_options.CacheDirectory, _shard.IsAuto ? "shard-auto" : $"shard-{_shard.Index}-of-{_shard.Count}"));

    /// <summary>This analyzer's share of the metrics (in <c>auto</c> mode, as of its last pass).</summary>
    public Shard Shard => _shard;

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Task.Yield();
        using var cache = LocalSeriesCache.Open(CacheDirectory);
        var sync = new SeriesSync(_store, cache, _shard, _options.FetchBatch);
        var detection = _options.Mode == DetectionMode.Skyline ? null : new DetectionContext(_store, _options, _logger);
        var pass = new AnalysisPass(_options.Skyline, _options.Parallelism, _series.FullNamespace, detection, _shapes);
        using var stopAlerts = new CancellationTokenSource();
        var publisher = new AnomalyPublisher(_store, _options, _shard);
        using var alertmanager = _options.Alerts.Alertmanagers.Count > 0 ? new AlertmanagerNotifier(_options.Alerts, _alertMetrics, _logger, _time) : null;
        using var receivers = _options.Alerts.Receivers.Count > 0 ? new IncidentDispatcher(_options.Alerts, _alertMetrics, _logger, _time) : null;
        var notifying = Task.WhenAll(alertmanager?.RunAsync(stopAlerts.Token) ?? Task.CompletedTask, receivers?.RunAsync(stopAlerts.Token) ?? Task.CompletedTask);
        var incidents = new IncidentTracker(_incidentStore, _options.Incidents, _shard, alertmanager, receivers, _events, new CollectionStore(_store));
        // One shard decides the deploys' verdicts (from the store, so it sees every KPI).
        // (In auto mode, whichever member is first among the live ones that pass.)
        var deploys = _shard.Index == 0 || _shard.IsAuto ? new Deploys.DeployVerdicts(_store, _events, _options.Deploys, _series.FullNamespace) : null;
        // ... and turns new log templates into findings (five minutes back: what a restart missed).
        var logTemplates = _shard.Index == 0 || _shard.IsAuto ? new NewLogTemplates(new Horizon.Storage.Logs.LogTemplateStore(_store), _time.GetUtcNow().ToUnixTimeSeconds() - 300) : null;
        Log.Starting(_logger, _shard.ToString(), CacheDirectory, cache.Count);
        using var leaving = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        var heartbeats = _membership?.RunAsync(leaving.Token) ?? Task.CompletedTask;
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                var started = Stopwatch.GetTimestamp();
                try
                {
                    await RunPassAsync(cache, sync, pass, publisher, incidents, deploys, logTemplates, detection, started, stoppingToken);
                }
                catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
                {
                    break;
                }
                catch (Exception e) when (e is RedisException or TimeoutException)
                {
                    Log.PassFailed(_logger, e.Message);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // A bug must not take ingest down with it in the all-in-one process: log it
                    // loudly and try again next pass.
                    Log.PassCrashed(_logger, e);
                }
                var wait = _options.MinPassInterval - Stopwatch.GetElapsedTime(started);
                if (wait > TimeSpan.Zero)
                {
                    try
                    {
                        await Task.Delay(wait, _time, stoppingToken);
                    }
                    catch (OperationCanceledException)
                    {
                        break;
                    }
                }
            }
        }
        finally
        {
            await leaving.CancelAsync();
            await heartbeats;
            if (_membership is not null)
            {
                // A clean stop hands the share over at once rather than after the lease.
                await _membership.LeaveAsync().WaitAsync(TimeSpan.FromSeconds(5), CancellationToken.None).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
            cache.SaveIndex();
            // What the last passes found is still sent (briefly) before the process goes.
            await stopAlerts.CancelAsync();
            await notifying;
        }
    }

    private async Task RunPassAsync(LocalSeriesCache cache, SeriesSync sync, AnalysisPass pass, AnomalyPublisher publisher, IncidentTracker incidents,
        Deploys.DeployVerdicts? deploys, NewLogTemplates? logTemplates, DetectionContext? detection, long started, CancellationToken stoppingToken)
    {
        if (_membership is not null)
        {
            var share = await _membership.ShareAsync();
            if (share.Count != _shard.Count || share.Index != _shard.Index)
            {
                Log.Membership(_logger, _shard.Member!, share.Index, share.Count, string.Join(", ", share.Members!));
            }
            _shard = share;
            sync.Shard = share;
            _metrics.Members.Set(share.Count);
        }
        var synced = await sync.SyncAsync(stoppingToken);
        var leader = _shard.Index == 0;
        var now = _time.GetUtcNow().ToUnixTimeSeconds();
        var entries = cache.Entries.ToList();
        var prefix = _series.FullNamespace;
        var metrics = entries.Select(e => e.Key.StartsWith(prefix, StringComparison.Ordinal) ? e.Key[prefix.Length..] : e.Key).ToHashSet(StringComparer.Ordinal);
        if (detection is not null)
        {
            await detection.PrepareAsync(metrics);
            _metrics.MetadataLoads.IncTo(detection.MetadataLoads);
        }
        var taught = await TaughtAsync();
        var analysisStarted = Stopwatch.GetTimestamp();
        // Findings go out as they are made; the end of the pass then clears what is no longer
        // anomalous and writes the summary and the file.
        var found = Channel.CreateUnbounded<AnomalyRecord>(new UnboundedChannelOptions { SingleReader = true });
        var early = publisher.PublishAsFoundAsync(found.Reader, e => Log.EarlyPublishFailed(_logger, e.Message));
        PassCounts counts;
        try
        {
            // What people marked "not anomalous" is not reported when it moves the same way again.
            counts = await Task.Run(() => pass.Run(cache, entries, now, r => found.Writer.TryWrite(r),
                r => taught.Match(r.Metric, r.Movement) is not null), stoppingToken);
        }
        finally
        {
            found.Writer.TryComplete();
            await early;
        }
        _metrics.Taught.Inc(counts.Suppressed);
        if (detection is not null)
        {
            await detection.PersistAsync(metrics);
            _metrics.Exhaustions.Set(counts.Exhaustions);
        }
        var analysis = Stopwatch.GetElapsedTime(analysisStarted);
        var duration = Stopwatch.GetElapsedTime(started);
        var skipped = new Dictionary<string, int>
        {
            [SkipReason.TooShort.Label()] = counts.Skipped[(int)SkipReason.TooShort],
            [SkipReason.Stale.Label()] = counts.Skipped[(int)SkipReason.Stale],
            [SkipReason.Boring.Label()] = counts.Skipped[(int)SkipReason.Boring],
            ["corrupt"] = counts.Corrupt,
            ["not_series"] = synced.NotSeries,
        };
        var votes = Enum.GetValues<SkylineAlgorithm>().ToDictionary(a => a.Name(), a => counts.YesVotes[(int)a]);
        var summary = new PassSummary(_shard.ToString(), now, duration.TotalSeconds, synced.Duration.TotalSeconds, analysis.TotalSeconds,
            synced.Keys, counts.Analysed, counts.Points, skipped, counts.Errored, votes, counts.Anomalies.Count, synced.BytesFetched, synced.FullReads);
        await publisher.PublishAsync(counts.Anomalies, summary);
        // A deploy whose KPIs moved: a finding per KPI (a KPI the pass found already carries the
        // verdict as its first reason), which the incidents group under the deploy and send on.
        var findings = counts.Anomalies;
        if (leader && deploys is not null && await deploys.DecideAsync(now) is { Count: > 0 } verdicts)
        {
            var byMetric = verdicts.ToDictionary(v => v.Metric, StringComparer.Ordinal);
            findings = [.. counts.Anomalies.Select(a => byMetric.Remove(a.Metric, out var v)
                ? a with { Reasons = [.. v.Reasons!, .. a.Reasons ?? [AnomalyRecord.SkylineReason(a.Votes, a.Consensus, a.Algorithms)]] }
                : a), .. byMetric.Values];
        }
        if (leader && logTemplates is not null && await logTemplates.FindAsync(now) is { Count: > 0 } templates)
        {
            var already = findings.Select(f => f.Metric).ToHashSet(StringComparer.Ordinal);
            findings = [.. findings, .. templates.Where(t => !already.Contains(t.Metric))];
            _metrics.NewLogTemplates.Inc(templates.Count);
        }
        foreach (var decided in leader ? deploys?.Decided ?? [] : [])
        {
            _metrics.DeployVerdicts.WithLabels(decided.Verdict).Inc();
        }
        foreach (var e in await incidents.TrackAsync(findings, now, counts.Abnormal))
        {
            _metrics.IncidentEvents.WithLabels(e.Event).Inc();
        }
        foreach (var kind in Enum.GetValues<FindingKind>())
        {
            _metrics.IncidentsOpen.WithLabels(kind.Name()).Set(incidents.Open.Count(i => i.Kind == kind));
        }

        _metrics.Passes.Inc();
        _metrics.PassDuration.Observe(duration.TotalSeconds);
        _metrics.SyncDuration.Set(synced.Duration.TotalSeconds);
        _metrics.AnalysisDuration.Set(analysis.TotalSeconds);
        _metrics.OwnedSeries.Set(synced.Keys);
        _metrics.Analysed.Set(counts.Analysed);
        foreach (var (reason, count) in skipped)
        {
            _metrics.Skipped.WithLabels(reason).Inc(count);
        }
        _metrics.Errors.Inc(counts.Errored);
        foreach (var (algorithm, count) in votes)
        {
            _metrics.Votes.WithLabels(algorithm).Inc(count);
        }
        _metrics.Anomalies.Set(counts.Anomalies.Count);
        _metrics.AnomaliesTotal.Inc(counts.Anomalies.Count);
        _metrics.BytesFetched.Inc(synced.BytesFetched);
        _metrics.FullReads.Inc(synced.FullReads);
        _metrics.CacheBytes.Set(cache.Bytes);
        _metrics.MappedBytes.Set(cache.MappedBytes);
        LastPass = summary;
        _membership?.Passed(synced.Keys, now);
        Interlocked.Increment(ref _passes);
        Interlocked.Exchange(ref _lastPassEnded, Stopwatch.GetTimestamp());
        Log.Pass(_logger, _shard.ToString(), duration.TotalSeconds, synced.Duration.TotalSeconds, synced.Membership.TotalSeconds, synced.Waiting.TotalSeconds, analysis.TotalSeconds, synced.Keys,
            counts.Analysed, skipped[SkipReason.TooShort.Label()], skipped[SkipReason.Stale.Label()], skipped[SkipReason.Boring.Label()],
            counts.Corrupt, counts.Errored, counts.Anomalies.Count, synced.BytesFetched, synced.FullReads,
            string.Join(' ', votes.Select(v => $"{v.Key}={v.Value}")));
    }

    // The taught shapes, read again when horizon.profiles.version moved.
    private async Task<TaughtShapes> TaughtAsync()
    {
        var version = await _incidentStore.ProfilesVersionAsync();
        if (version != _taughtVersion)
        {
            _taught = new TaughtShapes(await _incidentStore.ProfilesAsync());
            _taughtVersion = version;
        }
        return _taught;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 505, Level = LogLevel.Information, Message = "Analyzer {Member}: now {Index} of {Count} live analyzers ({Members}); its share of the metrics follows from that")]
        public static partial void Membership(ILogger logger, string member, int index, int count, string members);

        [LoggerMessage(EventId = 500, Level = LogLevel.Information, Message = "Analyzer shard {Shard} starting; local copy in {Directory} ({Series} series resumed)")]
        public static partial void Starting(ILogger logger, string shard, string directory, int series);

        [LoggerMessage(EventId = 501, Level = LogLevel.Information, Message = "Pass (shard {Shard}) in {Seconds:F2} s (sync {Sync:F2} s of which membership {Membership:F2} s and waiting for the store {Waiting:F2} s, analysis {Analysis:F2} s): {Metrics} metrics, {Analysed} analysed; skipped: {TooShort} too short, {Stale} stale, {Boring} boring, {Corrupt} corrupt; {Errored} errored; {Anomalies} anomalies; {Bytes} bytes fetched, {FullReads} full reads; yes votes: {Votes}")]
        public static partial void Pass(ILogger logger, string shard, double seconds, double sync, double membership, double waiting, double analysis, int metrics, int analysed, int tooShort, int stale, int boring, int corrupt, int errored, int anomalies, long bytes, int fullReads, string votes);

        [LoggerMessage(EventId = 502, Level = LogLevel.Warning, Message = "Analyzer pass failed, retrying after the interval: {Reason}")]
        public static partial void PassFailed(ILogger logger, string reason);

        [LoggerMessage(EventId = 504, Level = LogLevel.Warning, Message = "Publishing findings during the pass failed; the end of the pass publishes them: {Reason}")]
        public static partial void EarlyPublishFailed(ILogger logger, string reason);

        [LoggerMessage(EventId = 503, Level = LogLevel.Error, Message = "Analyzer pass crashed; retrying after the interval")]
        public static partial void PassCrashed(ILogger logger, Exception exception);
    }
}
