using System.Collections.Concurrent;
using Horizon.Algorithms.Detection;
using Horizon.Algorithms.Skyline;
using Horizon.Core.Series;

namespace Horizon.Analyzer;

/// <summary>One finding of a pass: an anomalous series (<see cref="FindingKind.Anomaly"/>: Skyline's
/// votes and/or the ensemble's score with its reasons) or a forecast that a metric reaches its
/// capacity (<see cref="FindingKind.Exhaustion"/>), with the metric's metadata.</summary>
public sealed record AnomalyRecord(
    string Metric,
    long Timestamp,
    double Value,
    int Votes,
    int Consensus,
    IReadOnlyList<string> Algorithms,
    long DetectedAt,
    FindingKind Kind = FindingKind.Anomaly,
    double? Score = null,
    IReadOnlyList<string>? Reasons = null,
    long? SeasonalPeriod = null,
    double? SecondsToCapacity = null,
    double? Capacity = null,
    string? Unit = null,
    string? Owner = null,
    [property: System.Text.Json.Serialization.JsonIgnore] Incidents.Movement? Movement = null)
{
    /// <summary>Why Skyline flagged a series, as a reason line: the votes, the consensus, the algorithms.</summary>
    public static string SkylineReason(int votes, int consensus, IEnumerable<string> algorithms) =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"Skyline: {votes} of {consensus} needed ({string.Join(", ", algorithms)})");
}

/// <summary>What a pass found, counted.</summary>
public sealed class PassCounts
{
#pragma warning disable CS1591 // counters named for what they count
    public int Analysed;
    public long Points;
    public readonly int[] Skipped = new int[4];
    public int Corrupt;
    public int Errored;
    public int Exhaustions;
    public readonly long[] YesVotes = new long[SkylineNames.Count];
    public readonly List<AnomalyRecord> Anomalies = [];
    /// <summary>Findings the pass's filter held back (shapes taught "not anomalous").</summary>
    public int Suppressed;
    /// <summary>Metrics still abnormal but not reported this pass (a held shift): their incidents stay open.</summary>
    public readonly List<string> Abnormal = [];
#pragma warning restore CS1591

    internal void Add(PassCounts other)
    {
        Analysed += other.Analysed;
        Points += other.Points;
        for (var i = 0; i < Skipped.Length; i++)
        {
            Skipped[i] += other.Skipped[i];
        }
        Corrupt += other.Corrupt;
        Errored += other.Errored;
        Exhaustions += other.Exhaustions;
        for (var i = 0; i < YesVotes.Length; i++)
        {
            YesVotes[i] += other.YesVotes[i];
        }
        Anomalies.AddRange(other.Anomalies);
        Suppressed += other.Suppressed;
        Abnormal.AddRange(other.Abnormal);
    }
}

/// <summary>Analyses every series of the local copy: decode into pooled columns, Skyline's
/// pre-checks and algorithms, consensus. Runs on every core, each thread with its own analyzer
/// and buffers, so nothing is allocated per point or per normal series.</summary>
public sealed class AnalysisPass(SkylineSettings settings, int parallelism, string keyPrefix, DetectionContext? detection = null, ShapeIndex? shapes = null)
{
    private readonly ConcurrentBag<Worker> _workers = [];

    /// <summary>Analyses the entries; <paramref name="now"/> is the pass's clock. Each finding is
    /// also handed to <paramref name="found"/> (from any analysis thread) as soon as it is made,
    /// unless <paramref name="suppress"/> holds it back (then it is only counted).</summary>
    public PassCounts Run(LocalSeriesCache cache, IReadOnlyList<LocalSeriesCache.Entry> entries, long now, Action<AnomalyRecord>? found = null,
        Func<AnomalyRecord, bool>? suppress = null)
    {
        var total = new PassCounts();
        shapes?.BeginPass();
        if (entries.Count == 0)
        {
            shapes?.EndPass(now);
            return total;
        }
        var options = new ParallelOptions { MaxDegreeOfParallelism = parallelism > 0 ? parallelism : Environment.ProcessorCount };
        var gate = new object();
        Parallel.ForEach(
            System.Collections.Concurrent.Partitioner.Create(0, entries.Count, Math.Max(64, entries.Count / (options.MaxDegreeOfParallelism * 16) + 1)),
            options,
            () => (_workers.TryTake(out var w) ? w : new Worker(settings, detection, shapes)).Reset(found, suppress),
            (range, _, worker) =>
            {
                for (var i = range.Item1; i < range.Item2; i++)
                {
                    worker.Analyse(cache, entries[i], now, keyPrefix);
                }
                return worker;
            },
            worker =>
            {
                lock (gate)
                {
                    total.Add(worker.Counts);
                }
                _workers.Add(worker);
            });
        shapes?.EndPass(now);
        return total;
    }

    private sealed class Worker(SkylineSettings settings, DetectionContext? detection, ShapeIndex? shapes)
    {
        private readonly SkylineAnalyzer _analyzer = new(settings);
        private readonly EnsembleDetector? _ensemble = detection is { Mode: not DetectionMode.Skyline } ? new(detection.Ensemble) : null;
        private readonly Judgement _judgement = new();
        private long[] _timestamps = new long[4096];
        private double[] _values = new double[4096];

        private Action<AnomalyRecord>? _found;
        private Func<AnomalyRecord, bool>? _suppress;

        public PassCounts Counts { get; private set; } = new();

        public Worker Reset(Action<AnomalyRecord>? found, Func<AnomalyRecord, bool>? suppress)
        {
            Counts = new PassCounts();
            (_found, _suppress) = (found, suppress);
            return this;
        }

        private void Add(AnomalyRecord record)
        {
            if (_suppress?.Invoke(record) == true)
            {
                Counts.Suppressed++;
                return;
            }
            Counts.Anomalies.Add(record);
            _found?.Invoke(record);
        }

        public void Analyse(LocalSeriesCache cache, LocalSeriesCache.Entry entry, long now, string keyPrefix)
        {
            var head = cache.ReadBase(entry);
            var tail = LocalSeriesCache.ReadTail(entry);
            // Three bytes is the smallest point, so this bounds the count.
            var bound = (head.Length + tail.Length) / 3 + 1;
            if (_timestamps.Length < bound)
            {
                _timestamps = new long[Math.Max(bound, _timestamps.Length * 2)];
                _values = new double[_timestamps.Length];
            }
            // Both parts hold whole points (a tail is what APPENDs added), so they decode apart.
            var n = SeriesCodec.Decode(head, _timestamps, _values, out var status, out _);
            if (status == PointReadStatus.Ok && !tail.IsEmpty)
            {
                n += SeriesCodec.Decode(tail, _timestamps.AsSpan(n), _values.AsSpan(n), out status, out _);
            }
            if (status != PointReadStatus.Ok)
            {
                Counts.Corrupt++;
                return;
            }
            var timestamps = _timestamps.AsSpan(0, n);
            var values = _values.AsSpan(0, n);
            Counts.Points += n;
            var metric = entry.Key.StartsWith(keyPrefix, StringComparison.Ordinal) ? entry.Key[keyPrefix.Length..] : entry.Key;
            shapes?.Update(metric, timestamps, values, now);
            var skyline = _ensemble is null || detection!.Mode == DetectionMode.Both;
            var verdict = default(SkylineVerdict);
            if (skyline)
            {
                verdict = _analyzer.Analyze(timestamps, values, now);
            }
            else
            {
                verdict.Skipped = _analyzer.PreCheck(timestamps, values, now);
            }
            if (verdict.Skipped != SkipReason.None)
            {
                Counts.Skipped[(int)verdict.Skipped]++;
                return;
            }
            Counts.Analysed++;
            if (verdict.Errored)
            {
                Counts.Errored++;
            }
            var voted = new List<string>(0);
            if (skyline && !verdict.Errored)
            {
                for (var a = 0; a < SkylineNames.Count; a++)
                {
                    if (verdict.Votes[a] == Vote.Yes)
                    {
                        Counts.YesVotes[a]++;
                    }
                }
                if (verdict.Anomalous)
                {
                    foreach (var algorithm in settings.Selected)
                    {
                        if (settings.CountsAsYes(verdict.Votes[(int)algorithm]))
                        {
                            voted.Add(algorithm.Name());
                        }
                    }
                }
            }
            var skylineAnomalous = skyline && verdict.Anomalous && !verdict.Errored;
            if (_ensemble is null)
            {
                if (skylineAnomalous)
                {
                    Add(new AnomalyRecord(metric, timestamps[n - 1], values[n - 1], verdict.YesVotes, settings.Consensus, voted, now, Movement: Incidents.Movement.Of(timestamps, values)));
                }
                return;
            }
            Judge(metric, timestamps, values, now, skylineAnomalous ? verdict.YesVotes : 0, voted);
        }

        /// <summary>The ensemble's judgement of a metric's newest point (once per point: a pass that
        /// brought nothing new repeats the last finding), plus its exhaustion forecast.</summary>
        private void Judge(string metric, ReadOnlySpan<long> timestamps, ReadOnlySpan<double> values, long now, int votes, List<string> voted)
        {
            var state = detection!.StateFor(metric);
            var last = timestamps[^1];
            var metadata = detection.MetadataFor(metric);
            JudgeNewest(state, metric, timestamps, values, now, votes, voted, last, metadata);
            // Its fourteen days for similarity search, from the roll-up (now holding the newest points).
            if (shapes is not null && state.Ensemble.Rollup is { } history)
            {
                shapes.UpdateRollup(metric, history, now);
            }
        }

        private void JudgeNewest(DetectionContext.MetricState state, string metric, ReadOnlySpan<long> timestamps, ReadOnlySpan<double> values, long now, int votes,
            List<string> voted, long last, MetricMetadata metadata)
        {
            if (last != state.JudgedTimestamp || votes > 0)
            {
                // Sized once the series shows its sampling interval; its points are still in the series then.
                var rollup = state.Ensemble.Rollup ??= detection!.NewRollup(timestamps);
                if (rollup is not null)
                {
                    var from = timestamps.Length;
                    while (from > 0 && timestamps[from - 1] > rollup.LastTimestamp)
                    {
                        from--;
                    }
                    for (var i = from; i < timestamps.Length; i++)
                    {
                        rollup.Add(timestamps[i], values[i]);
                    }
                }
                var fresh = last != state.JudgedTimestamp;
                _ensemble!.Judge(timestamps, values, state.Ensemble, metadata, _judgement, remember: fresh);
                state.JudgedTimestamp = last;
                var found = new List<AnomalyRecord>(0);
                if (_judgement.Anomalous || votes > 0)
                {
                    var reasons = Reasons.Of(_judgement, metadata.Unit, _ensemble!.Settings.CalibrationSeconds);
                    // Flagged by Skyline's vote alone (`both` mode): the votes say why, and the
                    // ensemble's low score is not the finding's (its reasons follow, for context).
                    var ensembleFound = _judgement.Anomalous;
                    if (!ensembleFound)
                    {
                        reasons = [string.Create(System.Globalization.CultureInfo.InvariantCulture,
                            $"{AnomalyRecord.SkylineReason(votes, settings.Consensus, voted)}; the ensemble scored {_judgement.Score:F2}"), .. reasons];
                    }
                    found.Add(new AnomalyRecord(metric, last, values[^1], votes, settings.Consensus, voted, now,
                        Score: ensembleFound ? Math.Round(_judgement.Score, 4) : null, Reasons: reasons, SeasonalPeriod: _judgement.SeasonalPeriod,
                        Capacity: metadata.Capacity, Unit: metadata.Unit, Owner: metadata.Owner, Movement: Incidents.Movement.Of(timestamps, values)));
                }
                if (_judgement.Drift is { SecondsToCapacity: { } eta } drift && eta <= detection!.ExhaustionHorizonSeconds)
                {
                    found.Add(new AnomalyRecord(metric, last, values[^1], 0, settings.Consensus, [], now, Kind: FindingKind.Exhaustion,
                        Reasons: [Reasons.Exhaustion(drift, metadata.Unit, metadata.Capacity, eta)],
                        SecondsToCapacity: Math.Round(eta), Capacity: metadata.Capacity, Unit: metadata.Unit, Owner: metadata.Owner));
                }
                state.Found = found;
                state.Abnormal = !_judgement.Anomalous && _judgement.RawScore >= _ensemble.Settings.Threshold;
            }
            if (state.Abnormal)
            {
                Counts.Abnormal.Add(metric);
            }
            foreach (var record in state.Found)
            {
                if (record.Kind == FindingKind.Exhaustion)
                {
                    Counts.Exhaustions++;
                }
                Add(record);
            }
        }
    }
}
