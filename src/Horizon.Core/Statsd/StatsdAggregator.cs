using System.Diagnostics;
using System.IO.Hashing;
using System.Text;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Horizon.Core.Metrics;
using Horizon.Core.Protocols;

namespace Horizon.Core.Statsd;

/// <summary>One aggregate produced by a flush.</summary>
public readonly record struct StatsdOutput(MetricKey Key, double Value);

/// <summary>StatsD's aggregation (etsy/statsd <c>stats.js</c> and <c>process_metrics.js</c>):
/// counters with sample rates, timers (ms, and h/d samples treated alike) with percentiles,
/// gauges with +/- deltas, sets; flushed as the Graphite backend names them
/// (<see cref="GraphiteNames"/>). Lines are parsed by <see cref="StatsdLineParser"/>. Safe for
/// concurrent writers: keys are spread over lock stripes, and a flush swaps state out under each
/// stripe's lock and computes outside it.</summary>
public sealed class StatsdAggregator
{
    private const int StripeCount = 16;
    private const int Types = 4; // StatsdType's values

    private readonly StatsdOptions _options;
    private readonly GraphiteNames _names;
    private readonly Stripe[] _stripes;
    private readonly bool[] _deletes;
    private readonly double _flushSeconds;
    private int _keyCount;
    private long _packetsReceived;
    private long _metricsReceived;
    private long _badLinesSeen;
    private long _badLinesTotal;
    private long _lastMessageSeen = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
    private static readonly string[] InternalCounterNames = ["packets_received", "metrics_received", "bad_lines_seen"];
    private readonly (byte[] Name, Entry Entry)[] _internalCounters;
    private readonly MetricKey?[] _ownKeys = new MetricKey?[Enum.GetValues<StatsdOwnStat>().Length];
    private long _lastFlush;

    /// <summary>Creates an aggregator whose outputs are named into <paramref name="registry"/>.</summary>
    public StatsdAggregator(StatsdOptions options, MetricRegistry registry)
    {
        _options = options;
        _names = new GraphiteNames(options, registry);
        _flushSeconds = options.FlushInterval.TotalSeconds;
        _stripes = [.. Enumerable.Range(0, StripeCount).Select(_ => new Stripe())];
        _deletes = [options.DeletesCounters, options.DeletesTimers, options.DeletesGauges, options.DeletesSets];
        _internalCounters = [.. InternalCounterNames.Select(n => (Encoding.UTF8.GetBytes(options.PrefixStats + "." + n), (Entry)new CounterEntry()))];
    }

    /// <summary>Distinct keys currently held.</summary>
    public int KeyCount => Volatile.Read(ref _keyCount);

    /// <summary>The flush interval in seconds (rates are per second over it).</summary>
    public double FlushSeconds => _flushSeconds;

    /// <summary>Processes one datagram of newline-separated lines. Returns the number of samples
    /// accepted; each refused sample is counted in <paramref name="rejects"/>.</summary>
    public int Process(ReadOnlySpan<byte> datagram, ref RejectTally rejects)
    {
        var accepted = 0;
        var lines = 0;
        var bad = rejects.Total;
        while (StatsdLineParser.NextLine(ref datagram, out var line))
        {
            if (StatsdLineParser.IsBlank(line))
            {
                continue;
            }
            lines++;
            accepted += ProcessLine(line, ref rejects);
        }
        RecordPacket(lines, rejects.Total - bad);
        return accepted;
    }

    /// <summary>Counts one packet (a datagram, or one read of a TCP stream) in StatsD's own
    /// counters, flushed as <c>stats.counters.statsd.*</c> like any counter.</summary>
    public void RecordPacket(int lines, int badLines)
    {
        Interlocked.Increment(ref _packetsReceived);
        Interlocked.Add(ref _metricsReceived, lines);
        Interlocked.Add(ref _badLinesSeen, badLines);
        if (badLines > 0)
        {
            Interlocked.Add(ref _badLinesTotal, badLines);
        }
    }

    /// <summary>StatsD's <c>messages</c> stats: when the last packet came (Unix seconds, to the
    /// flush interval: now if one came since the last flush, else that flush's time if one came
    /// before it; start-up before any) and the bad lines seen since start-up. Kept off the packet
    /// path, which reads no clock.</summary>
    public (long LastMessageSeen, long BadLinesSeen) Messages(long now) =>
        (Interlocked.Read(ref _packetsReceived) > 0 ? now : Interlocked.Read(ref _lastMessageSeen), Interlocked.Read(ref _badLinesTotal));

    /// <summary>The counters of the interval so far (StatsD's own first), for the admin interface.</summary>
    public List<(string Name, double Value)> CurrentCounters()
    {
        ReadOnlySpan<long> own = [Interlocked.Read(ref _packetsReceived), Interlocked.Read(ref _metricsReceived), Interlocked.Read(ref _badLinesSeen)];
        var result = new List<(string, double)>();
        for (var i = 0; i < _internalCounters.Length; i++)
        {
            result.Add((Encoding.UTF8.GetString(_internalCounters[i].Name), own[i]));
        }
        result.AddRange(Current(StatsdType.Counter).Select(e => (e.Name, e.Value)));
        return result;
    }

    /// <summary>Each key of a type with its value so far (a timer's: its samples), by name.</summary>
    public List<(string Name, double Value, double[]? Values)> Current(StatsdType type)
    {
        var result = new List<(string, double, double[]?)>();
        foreach (var stripe in _stripes)
        {
            lock (stripe)
            {
                foreach (var (name, entry) in stripe.Entries[(int)type])
                {
                    var (value, values) = entry.Peek();
                    result.Add((Encoding.UTF8.GetString(name), value, values));
                }
            }
        }
        result.Sort((a, b) => string.CompareOrdinal(a.Item1, b.Item1));
        return result;
    }

    /// <summary>Deletes keys of a type (StatsD's admin <c>delcounters</c> and the like): the name,
    /// or every name starting with what comes before a trailing <c>*</c>. Returns the names deleted.</summary>
    public List<string> Delete(StatsdType type, string pattern)
    {
        var prefix = pattern.EndsWith('*') ? pattern[..^1] : null;
        var deleted = new List<string>();
        foreach (var stripe in _stripes)
        {
            lock (stripe)
            {
                var entries = stripe.Entries[(int)type];
                foreach (var name in entries.Keys.ToList())
                {
                    var text = Encoding.UTF8.GetString(name);
                    if (prefix is null ? text == pattern : text.StartsWith(prefix, StringComparison.Ordinal))
                    {
                        entries.Remove(name);
                        Interlocked.Decrement(ref _keyCount);
                        deleted.Add(text);
                    }
                }
            }
        }
        deleted.Sort(StringComparer.Ordinal);
        return deleted;
    }

    /// <summary>Processes one line: <c>name:value|type[|@rate][|#tags][:value|type...]</c>.</summary>
    [SkipLocalsInit] // the 1 KiB name buffer is written before it is read: no need to zero it per line
    public int ProcessLine(ReadOnlySpan<byte> line, ref RejectTally rejects)
    {
        Span<byte> nameBuffer = stackalloc byte[MetricName.MaxLength];
        var error = StatsdLineParser.ParseName(line, nameBuffer, out var length, out var samples);
        if (error != RejectReason.None)
        {
            rejects.Add(error);
            return 0;
        }
        var name = nameBuffer[..length];
        var accepted = 0;
        while (samples.MoveNext(out var sample, out error))
        {
            if (error == RejectReason.None)
            {
                error = Add(name, sample);
            }
            if (error == RejectReason.None)
            {
                accepted++;
            }
            else
            {
                rejects.Add(error);
            }
        }
        return accepted;
    }

    private RejectReason Add(ReadOnlySpan<byte> name, in StatsdSample sample)
    {
        var stripe = _stripes[(int)(XxHash3.HashToUInt64(name) % StripeCount)];
        lock (stripe)
        {
            ref var lookup = ref stripe.Lookups[(int)sample.Type];
            if (!lookup.TryGetValue(name, out var entry))
            {
                if (Interlocked.Increment(ref _keyCount) > _options.MaxKeys)
                {
                    Interlocked.Decrement(ref _keyCount);
                    return RejectReason.TooManyStatsdKeys;
                }
                entry = sample.Type switch
                {
                    StatsdType.Counter => new CounterEntry(),
                    StatsdType.Timer => new TimerEntry(_names.TimerSuffixes.Length, _names.HistogramFor(name)),
                    StatsdType.Gauge => new GaugeEntry(),
                    _ => new SetEntry(),
                };
                lookup.Dictionary.Add(name.ToArray(), entry);
            }
            // A direct call per type: the hot path stays free of virtual dispatch (measurably, at
            // ~190 ns a sample). A delta on an unknown gauge sets it, as StatsD does: a new gauge is 0.
            switch (sample.Type)
            {
                case StatsdType.Counter:
                    Unsafe.As<CounterEntry>(entry).Add(sample);
                    break;
                case StatsdType.Timer:
                    Unsafe.As<TimerEntry>(entry).Add(sample);
                    break;
                case StatsdType.Gauge:
                    Unsafe.As<GaugeEntry>(entry).Add(sample);
                    break;
                default:
                    Unsafe.As<SetEntry>(entry).Add(sample);
                    break;
            }
        }
        return RejectReason.None;
    }

    /// <summary>Takes the aggregates of the interval that just ended and resets the state as StatsD
    /// does (zeroing, or deleting idle keys when configured). Outputs whose names cannot be stored
    /// (over the name-length limit, or the metric table is full) are counted in
    /// <paramref name="rejects"/>.</summary>
    public List<StatsdOutput> Flush(ref RejectTally rejects) => Flush(0, ref rejects);

    /// <summary>As <see cref="Flush(ref RejectTally)"/>, for the flush at <paramref name="now"/>
    /// (Unix seconds): from the second flush on, StatsD's <c>timestamp_lag</c> gauge says how late it ran.</summary>
    public List<StatsdOutput> Flush(long now, ref RejectTally rejects)
    {
        var started = Stopwatch.GetTimestamp();
        var output = new List<StatsdOutput>();
        var numStats = _internalCounters.Length;
        if (now > 0)
        {
            if (_lastFlush > 0)
            {
                EmitOwn(StatsdOwnStat.TimestampLag, now - _lastFlush - _flushSeconds, output, ref rejects);
                numStats++;
            }
            _lastFlush = now;
        }
        // StatsD creates its own counters at start and never deletes them.
        var packets = Interlocked.Exchange(ref _packetsReceived, 0);
        if (packets > 0 && now > 0)
        {
            Interlocked.Exchange(ref _lastMessageSeen, now);
        }
        ReadOnlySpan<long> internalValues =
        [
            packets,
            Interlocked.Exchange(ref _metricsReceived, 0),
            Interlocked.Exchange(ref _badLinesSeen, 0),
        ];
        for (var i = 0; i < _internalCounters.Length; i++)
        {
            var (name, entry) = _internalCounters[i];
            _names.EmitCounter(name, entry.Keys, internalValues[i], _flushSeconds, output, ref rejects);
        }
        var taken = new List<Taken>[Types];
        foreach (var stripe in _stripes)
        {
            for (var t = 0; t < Types; t++)
            {
                (taken[t] ??= []).Clear();
            }
            lock (stripe)
            {
                for (var t = 0; t < Types; t++)
                {
                    var entries = stripe.Entries[t];
                    foreach (var (name, entry) in entries)
                    {
                        var (value, values) = entry.TakeInterval();
                        taken[t].Add(new Taken(name, entry, value, values));
                        if (_deletes[t])
                        {
                            entries.Remove(name);
                            Interlocked.Decrement(ref _keyCount);
                        }
                    }
                }
            }
            // Deleted entries were flushed one last time above, which is when StatsD sends them too.
            for (var t = 0; t < Types; t++)
            {
                numStats += taken[t].Count;
            }
            foreach (var (name, entry, value, _) in taken[(int)StatsdType.Counter])
            {
                _names.EmitCounter(name, entry.Keys, value, _flushSeconds, output, ref rejects);
            }
            foreach (var (name, entry, count, values) in taken[(int)StatsdType.Timer])
            {
                FlushTimer(name, entry, values!, count, output, ref rejects);
            }
            foreach (var (name, entry, value, _) in taken[(int)StatsdType.Gauge])
            {
                _names.Emit(entry.Keys, 0, output, ref rejects, _names.GaugePrefix, name, null, value);
            }
            foreach (var (name, entry, count, _) in taken[(int)StatsdType.Set])
            {
                _names.Emit(entry.Keys, 0, output, ref rejects, _names.SetPrefix, name, "count", count);
            }
        }
        EmitOwn(StatsdOwnStat.NumStats, numStats, output, ref rejects);
        // StatsD reports whole milliseconds.
        EmitOwn(StatsdOwnStat.ProcessingTime, Math.Floor(Stopwatch.GetElapsedTime(started).TotalMilliseconds), output, ref rejects);
        return output;
    }

    /// <summary>Adds one of StatsD's own metrics to a flush's output.</summary>
    public void EmitOwn(StatsdOwnStat stat, double value, List<StatsdOutput> output, ref RejectTally rejects) =>
        _names.Emit(_ownKeys, (int)stat, output, ref rejects, "", _names.OwnNames[(int)stat], null, value);

    private void FlushTimer(byte[] name, Entry entry, List<double> list, double counted, List<StatsdOutput> output, ref RejectTally rejects)
    {
        var prefix = _names.TimerPrefix;
        var countIndex = _names.PercentOutputs + 3;
        if (list.Count == 0)
        {
            _names.Emit(entry.Keys, countIndex, output, ref rejects, prefix, name, _names.TimerSuffixes[countIndex], 0);
            _names.Emit(entry.Keys, countIndex + 1, output, ref rejects, prefix, name, _names.TimerSuffixes[countIndex + 1], 0);
            return;
        }
        var values = CollectionsMarshal.AsSpan(list);
        values.Sort();
        var count = values.Length;
        var min = values[0];
        var max = values[count - 1];
        // Cumulative sums as StatsD keeps them, so the percentile sums match its arithmetic.
        var cumulative = new double[count];
        var cumulativeSquares = new double[count];
        cumulative[0] = min;
        cumulativeSquares[0] = min * min;
        for (var i = 1; i < count; i++)
        {
            cumulative[i] = values[i] + cumulative[i - 1];
            cumulativeSquares[i] = values[i] * values[i] + cumulativeSquares[i - 1];
        }
        var slot = 0;
        foreach (var pct in _options.PercentThreshold)
        {
            var numInThreshold = count;
            var sum = min;
            var sumSquares = min * min;
            var mean = min;
            var boundary = max;
            if (count > 1)
            {
                numInThreshold = (int)Math.Floor(Math.Abs(pct) / 100 * count + 0.5); // JavaScript Math.round
                if (numInThreshold == 0)
                {
                    slot += 5;
                    continue;
                }
                if (pct > 0)
                {
                    boundary = values[numInThreshold - 1];
                    sum = cumulative[numInThreshold - 1];
                    sumSquares = cumulativeSquares[numInThreshold - 1];
                }
                else
                {
                    boundary = values[count - numInThreshold];
                    var before = count - numInThreshold - 1;
                    sum = cumulative[count - 1] - (before >= 0 ? cumulative[before] : 0);
                    sumSquares = cumulativeSquares[count - 1] - (before >= 0 ? cumulativeSquares[before] : 0);
                }
                mean = sum / numInThreshold;
            }
            _names.Emit(entry.Keys, slot, output, ref rejects, prefix, name, _names.TimerSuffixes[slot], numInThreshold);
            _names.Emit(entry.Keys, slot + 1, output, ref rejects, prefix, name, _names.TimerSuffixes[slot + 1], mean);
            _names.Emit(entry.Keys, slot + 2, output, ref rejects, prefix, name, _names.TimerSuffixes[slot + 2], boundary);
            _names.Emit(entry.Keys, slot + 3, output, ref rejects, prefix, name, _names.TimerSuffixes[slot + 3], sum);
            _names.Emit(entry.Keys, slot + 4, output, ref rejects, prefix, name, _names.TimerSuffixes[slot + 4], sumSquares);
            slot += 5;
        }
        var total = cumulative[count - 1];
        var totalSquares = cumulativeSquares[count - 1];
        var average = total / count;
        var sumOfDiffs = 0.0;
        foreach (var v in values)
        {
            sumOfDiffs += (v - average) * (v - average);
        }
        var mid = count / 2;
        var median = count % 2 == 1 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
        ReadOnlySpan<double> stats =
        [
            Math.Sqrt(sumOfDiffs / count), max, min, counted, counted / _flushSeconds, total, totalSquares, average, median,
        ];
        for (var i = 0; i < stats.Length; i++)
        {
            var s = _names.PercentOutputs + i;
            _names.Emit(entry.Keys, s, output, ref rejects, prefix, name, _names.TimerSuffixes[s], stats[i]);
        }
        if (Unsafe.As<TimerEntry>(entry).Histogram is var (bounds, suffixes))
        {
            // StatsD's bins: each counts the sorted samples below its bound not counted before;
            // samples past the last bound are left out.
            var at = 0;
            for (var b = 0; b < bounds.Length; b++)
            {
                var start = at;
                while (at < count && (double.IsPositiveInfinity(bounds[b]) || values[at] < bounds[b]))
                {
                    at++;
                }
                _names.Emit(entry.Keys, _names.TimerSuffixes.Length + b, output, ref rejects, prefix, name, suffixes[b], at - start);
            }
        }
    }

    private readonly record struct Taken(byte[] Name, Entry Entry, double Value, List<double>? Values);

    /// <summary>One key's state between flushes, and the output keys its names resolved to.</summary>
    private abstract class Entry(int outputs)
    {
        public readonly MetricKey?[] Keys = new MetricKey?[outputs];

        /// <summary>The interval's aggregate (and a timer's samples); resets for the next one.</summary>
        public abstract (double Value, List<double>? Values) TakeInterval();

        /// <summary>The aggregate so far (a timer's samples copied), leaving it as it is.</summary>
        public abstract (double Value, double[]? Values) Peek();
    }

    private sealed class CounterEntry() : Entry(2)
    {
        private double _value;

        public void Add(in StatsdSample sample) => _value += sample.Value / sample.SampleRate;

        public override (double, double[]?) Peek() => (_value, null);

        public override (double, List<double>?) TakeInterval()
        {
            var value = _value;
            _value = 0;
            return (value, null);
        }
    }

    private sealed class TimerEntry(int outputs, (double[] Bounds, string[] Suffixes)? histogram)
        : Entry(outputs + (histogram?.Bounds.Length ?? 0))
    {
        /// <summary>Its bins' upper bounds and output suffixes (StatsD histogram), or null.</summary>
        public (double[] Bounds, string[] Suffixes)? Histogram { get; } = histogram;

        private List<double> _values = [];
        private double _count;

        public void Add(in StatsdSample sample)
        {
            _values.Add(sample.Value);
            _count += 1 / sample.SampleRate;
        }

        public override (double, double[]?) Peek() => (_count, [.. _values]);

        public override (double, List<double>?) TakeInterval()
        {
            var taken = (_count, _values);
            _values = [];
            _count = 0;
            return taken;
        }
    }

    private sealed class GaugeEntry() : Entry(1)
    {
        private double _value;

        public void Add(in StatsdSample sample) => _value = sample.Delta ? _value + sample.Value : sample.Value;

        public override (double, List<double>?) TakeInterval() => (_value, null); // gauges keep their value

        public override (double, double[]?) Peek() => (_value, null);
    }

    private sealed class SetEntry() : Entry(1)
    {
        private HashSet<ulong> _members = [];

        public void Add(in StatsdSample sample) => _members.Add(sample.Member);

        public override (double, double[]?) Peek() => (_members.Count, null);

        public override (double, List<double>?) TakeInterval()
        {
            var count = _members.Count;
            _members = [];
            return (count, null);
        }
    }

    /// <summary>One lock stripe: the keys of each type whose names hash to it.</summary>
    private sealed class Stripe
    {
        public readonly Dictionary<byte[], Entry>[] Entries = new Dictionary<byte[], Entry>[Types];
        public readonly Dictionary<byte[], Entry>.AlternateLookup<ReadOnlySpan<byte>>[] Lookups = new Dictionary<byte[], Entry>.AlternateLookup<ReadOnlySpan<byte>>[Types];

        public Stripe()
        {
            for (var t = 0; t < Types; t++)
            {
                Entries[t] = new Dictionary<byte[], Entry>(Utf8KeyComparer.Plain);
                Lookups[t] = Entries[t].GetAlternateLookup<ReadOnlySpan<byte>>();
            }
        }
    }
}
