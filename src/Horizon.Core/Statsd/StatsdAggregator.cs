using System.Buffers;
using System.Globalization;
using System.IO.Hashing;
using System.Runtime.InteropServices;
using System.Text;
using Horizon.Core.Metrics;
using Horizon.Core.Protocols;

namespace Horizon.Core.Statsd;

/// <summary>One aggregate produced by a flush.</summary>
public readonly record struct StatsdOutput(MetricKey Key, double Value);

/// <summary>StatsD's aggregation (etsy/statsd <c>stats.js</c> and <c>process_metrics.js</c>):
/// counters with sample rates, timers (ms, and h/d samples treated alike) with percentiles,
/// gauges with +/- deltas, sets; flushed as the Graphite backend names them. Safe for concurrent
/// writers: keys are spread over lock-striped shards, and a flush swaps state out under the lock
/// and computes outside it.</summary>
public sealed class StatsdAggregator
{
    private const int ShardCount = 16;
    private static readonly SearchValues<byte> Whitespace = SearchValues.Create(" \t\r\n\v\f"u8);

    private readonly StatsdOptions _options;
    private readonly MetricRegistry _registry;
    private readonly Shard[] _shards;
    private readonly string[] _timerSuffixes;
    private readonly int _percentOutputs;
    private readonly double _flushSeconds;
    private int _keyCount;
    private long _packetsReceived;
    private long _metricsReceived;
    private long _badLinesSeen;
    private readonly (string Name, CounterEntry Entry)[] _internalCounters =
    [
        ("statsd.packets_received", new CounterEntry()),
        ("statsd.metrics_received", new CounterEntry()),
        ("statsd.bad_lines_seen", new CounterEntry()),
    ];

    /// <summary>Creates an aggregator whose outputs are named into <paramref name="registry"/>.</summary>
    public StatsdAggregator(StatsdOptions options, MetricRegistry registry)
    {
        _options = options;
        _registry = registry;
        _flushSeconds = options.FlushInterval.TotalSeconds;
        _shards = new Shard[ShardCount];
        for (var i = 0; i < ShardCount; i++)
        {
            _shards[i] = new Shard();
        }
        var suffixes = new List<string>();
        foreach (var pct in options.PercentThreshold)
        {
            var clean = CleanPercent(pct);
            suffixes.Add("count_" + clean);
            suffixes.Add("mean_" + clean);
            suffixes.Add((pct > 0 ? "upper_" : "lower_") + clean);
            suffixes.Add("sum_" + clean);
            suffixes.Add("sum_squares_" + clean);
        }
        _percentOutputs = suffixes.Count;
        suffixes.AddRange(["std", "upper", "lower", "count", "count_ps", "sum", "sum_squares", "mean", "median"]);
        _timerSuffixes = [.. suffixes];
    }

    /// <summary>Distinct keys currently held.</summary>
    public int KeyCount => Volatile.Read(ref _keyCount);

    /// <summary>The flush interval in seconds (rates are per second over it).</summary>
    public double FlushSeconds => _flushSeconds;

    /// <summary>Processes one datagram or TCP chunk of newline-separated lines. Returns the number
    /// of samples accepted; each refused sample is counted in <paramref name="rejects"/>.</summary>
    public int Process(ReadOnlySpan<byte> packet, ref RejectTally rejects)
    {
        var accepted = 0;
        var lines = 0;
        var bad = rejects.Total;
        while (!packet.IsEmpty)
        {
            var nl = packet.IndexOf((byte)'\n');
            var line = nl < 0 ? packet : packet[..nl];
            packet = nl < 0 ? default : packet[(nl + 1)..];
            if (line.Trim(" \t\r"u8).IsEmpty)
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
    }

    /// <summary>Processes one line: <c>name:value|type[|@rate][|#tags][:value|type...]</c>.</summary>
    public int ProcessLine(ReadOnlySpan<byte> line, ref RejectTally rejects)
    {
        var colon = line.IndexOf((byte)':');
        if (colon < 0)
        {
            rejects.Add(RejectReason.MissingField);
            return 0;
        }
        var rawName = line[..colon];
        if (rawName.Length > MetricName.MaxLength)
        {
            rejects.Add(RejectReason.NameTooLong);
            return 0;
        }
        Span<byte> nameBuffer = stackalloc byte[MetricName.MaxLength];
        var name = nameBuffer[..Sanitize(rawName, nameBuffer)];
        if (name.IsEmpty)
        {
            rejects.Add(RejectReason.EmptyName);
            return 0;
        }
        var accepted = 0;
        var rest = line[(colon + 1)..];
        while (true)
        {
            var next = NextSampleSeparator(rest);
            var sample = next < 0 ? rest : rest[..next];
            var reason = ProcessSample(name, sample);
            if (reason == RejectReason.None)
            {
                accepted++;
            }
            else
            {
                rejects.Add(reason);
            }
            if (next < 0)
            {
                break;
            }
            rest = rest[(next + 1)..];
        }
        return accepted;
    }

    // Samples are separated by ':' (etsy StatsD's "a:1|c:2|ms"), except inside a DogStatsD tag
    // field ("|#env:prod"), which runs to the next '|'.
    private static int NextSampleSeparator(ReadOnlySpan<byte> rest)
    {
        var inTags = false;
        for (var i = 0; i < rest.Length; i++)
        {
            var b = rest[i];
            if (b == (byte)'|')
            {
                inTags = i + 1 < rest.Length && rest[i + 1] == (byte)'#';
            }
            else if (b == (byte)':' && !inTags)
            {
                return i;
            }
        }
        return -1;
    }

    private RejectReason ProcessSample(ReadOnlySpan<byte> name, ReadOnlySpan<byte> sample)
    {
        var bar = sample.IndexOf((byte)'|');
        if (bar < 0)
        {
            return RejectReason.MissingField;
        }
        var valueText = sample[..bar];
        var rest = sample[(bar + 1)..];
        var bar2 = rest.IndexOf((byte)'|');
        var type = (bar2 < 0 ? rest : rest[..bar2]).Trim(" \t\r\n"u8);
        var sampleRate = 1.0;
        while (bar2 >= 0)
        {
            rest = rest[(bar2 + 1)..];
            bar2 = rest.IndexOf((byte)'|');
            var field = (bar2 < 0 ? rest : rest[..bar2]).Trim(" \t\r\n"u8);
            if (field.Length > 0 && field[0] == (byte)'@')
            {
                if (!Utf8Number.TryParseDouble(field[1..], out sampleRate) || !(sampleRate > 0 && sampleRate <= 1))
                {
                    return RejectReason.BadSampleRate;
                }
            }
            // Other fields (DogStatsD "#tags", container ids) carry nothing Graphite can name.
        }

        var kind = type switch
        {
            _ when type.SequenceEqual("c"u8) => Kind.Counter,
            _ when type.SequenceEqual("ms"u8) || type.SequenceEqual("h"u8) || type.SequenceEqual("d"u8) => Kind.Timer,
            _ when type.SequenceEqual("g"u8) => Kind.Gauge,
            _ when type.SequenceEqual("s"u8) => Kind.Set,
            _ => Kind.Unknown,
        };
        if (kind == Kind.Unknown)
        {
            return type.IsEmpty ? RejectReason.MissingField : RejectReason.UnknownType;
        }
        if (kind == Kind.Set)
        {
            return AddSetMember(name, valueText.Trim(" \t"u8));
        }
        valueText = valueText.Trim(" \t"u8);
        if (!Utf8Number.TryParseDouble(valueText, out var value))
        {
            return RejectReason.BadValue;
        }
        if (!double.IsFinite(value))
        {
            return RejectReason.NonFiniteValue;
        }
        switch (kind)
        {
            case Kind.Counter:
                return AddCounter(name, value / sampleRate);
            case Kind.Timer:
                if (value < 0 && type.SequenceEqual("ms"u8))
                {
                    return RejectReason.BadValue; // StatsD refuses negative durations
                }
                return AddTimer(name, value, 1 / sampleRate);
            default:
                var delta = valueText.Length > 0 && (valueText[0] == (byte)'+' || valueText[0] == (byte)'-');
                return SetGauge(name, value, delta);
        }
    }

    // StatsD's keyNameSanitize: runs of whitespace -> '_', '/' -> '-', drop all but [A-Za-z0-9_.-].
    internal static int Sanitize(ReadOnlySpan<byte> raw, Span<byte> destination)
    {
        var n = 0;
        var inSpace = false;
        foreach (var b in raw)
        {
            if (Whitespace.Contains(b))
            {
                if (!inSpace)
                {
                    destination[n++] = (byte)'_';
                }
                inSpace = true;
                continue;
            }
            inSpace = false;
            if (b == (byte)'/')
            {
                destination[n++] = (byte)'-';
            }
            else if (b is >= (byte)'a' and <= (byte)'z' or >= (byte)'A' and <= (byte)'Z' or >= (byte)'0' and <= (byte)'9'
                     or (byte)'_' or (byte)'-' or (byte)'.')
            {
                destination[n++] = b;
            }
        }
        return n;
    }

    private Shard ShardOf(ReadOnlySpan<byte> name) => _shards[(int)(XxHash3.HashToUInt64(name) % ShardCount)];

    private bool ReserveKey()
    {
        if (Interlocked.Increment(ref _keyCount) > _options.MaxKeys)
        {
            Interlocked.Decrement(ref _keyCount);
            return false;
        }
        return true;
    }

    private RejectReason AddCounter(ReadOnlySpan<byte> name, double value)
    {
        var shard = ShardOf(name);
        lock (shard)
        {
            if (!shard.CounterLookup.TryGetValue(name, out var entry))
            {
                if (!ReserveKey())
                {
                    return RejectReason.TooManyStatsdKeys;
                }
                entry = new CounterEntry();
                shard.Counters.Add(name.ToArray(), entry);
            }
            entry.Value += value;
        }
        return RejectReason.None;
    }

    private RejectReason AddTimer(ReadOnlySpan<byte> name, double value, double count)
    {
        var shard = ShardOf(name);
        lock (shard)
        {
            if (!shard.TimerLookup.TryGetValue(name, out var entry))
            {
                if (!ReserveKey())
                {
                    return RejectReason.TooManyStatsdKeys;
                }
                entry = new TimerEntry(_timerSuffixes.Length);
                shard.Timers.Add(name.ToArray(), entry);
            }
            entry.Values.Add(value);
            entry.Count += count;
        }
        return RejectReason.None;
    }

    private RejectReason SetGauge(ReadOnlySpan<byte> name, double value, bool delta)
    {
        var shard = ShardOf(name);
        lock (shard)
        {
            if (!shard.GaugeLookup.TryGetValue(name, out var entry))
            {
                if (!ReserveKey())
                {
                    return RejectReason.TooManyStatsdKeys;
                }
                entry = new GaugeEntry();
                shard.Gauges.Add(name.ToArray(), entry);
                delta = false; // a delta on an unknown gauge sets it, as StatsD does
            }
            entry.Value = delta ? entry.Value + value : value;
        }
        return RejectReason.None;
    }

    private RejectReason AddSetMember(ReadOnlySpan<byte> name, ReadOnlySpan<byte> member)
    {
        var hash = XxHash3.HashToUInt64(member);
        var shard = ShardOf(name);
        lock (shard)
        {
            if (!shard.SetLookup.TryGetValue(name, out var entry))
            {
                if (!ReserveKey())
                {
                    return RejectReason.TooManyStatsdKeys;
                }
                entry = new SetEntry();
                shard.Sets.Add(name.ToArray(), entry);
            }
            entry.Members.Add(hash);
        }
        return RejectReason.None;
    }

    /// <summary>Takes the aggregates of the interval that just ended and resets the state as StatsD
    /// does (zeroing, or deleting idle keys when configured). Outputs whose names cannot be stored
    /// (over the name-length limit, or the metric table is full) are counted in
    /// <paramref name="rejects"/>.</summary>
    public List<StatsdOutput> Flush(ref RejectTally rejects)
    {
        var output = new List<StatsdOutput>();
        // StatsD creates its own counters at start and never deletes them.
        ReadOnlySpan<long> internalValues =
        [
            Interlocked.Exchange(ref _packetsReceived, 0),
            Interlocked.Exchange(ref _metricsReceived, 0),
            Interlocked.Exchange(ref _badLinesSeen, 0),
        ];
        for (var i = 0; i < _internalCounters.Length; i++)
        {
            var (name, entry) = _internalCounters[i];
            EmitCounter(Encoding.UTF8.GetBytes(name), entry, internalValues[i], output, ref rejects);
        }
        foreach (var shard in _shards)
        {
            FlushShard(shard, output, ref rejects);
        }
        return output;
    }

    private void FlushShard(Shard shard, List<StatsdOutput> output, ref RejectTally rejects)
    {
        var counters = new List<(byte[] Name, CounterEntry Entry, double Value)>();
        var timers = new List<(byte[] Name, TimerEntry Entry, List<double> Values, double Count)>();
        var gauges = new List<(byte[] Name, GaugeEntry Entry, double Value)>();
        var sets = new List<(byte[] Name, SetEntry Entry, int Count)>();
        lock (shard)
        {
            foreach (var (name, entry) in shard.Counters)
            {
                counters.Add((name, entry, entry.Value));
                entry.Value = 0;
                if (_options.DeletesCounters)
                {
                    shard.Counters.Remove(name);
                    Interlocked.Decrement(ref _keyCount);
                }
            }
            foreach (var (name, entry) in shard.Timers)
            {
                timers.Add((name, entry, entry.Values, entry.Count));
                entry.Values = [];
                entry.Count = 0;
                if (_options.DeletesTimers)
                {
                    shard.Timers.Remove(name);
                    Interlocked.Decrement(ref _keyCount);
                }
            }
            foreach (var (name, entry) in shard.Gauges)
            {
                gauges.Add((name, entry, entry.Value));
                if (_options.DeletesGauges)
                {
                    shard.Gauges.Remove(name);
                    Interlocked.Decrement(ref _keyCount);
                }
            }
            foreach (var (name, entry) in shard.Sets)
            {
                sets.Add((name, entry, entry.Members.Count));
                entry.Members = [];
                if (_options.DeletesSets)
                {
                    shard.Sets.Remove(name);
                    Interlocked.Decrement(ref _keyCount);
                }
            }
        }

        // Deleted entries were flushed one last time above, which is when StatsD sends them too.
        foreach (var (name, entry, value) in counters)
        {
            EmitCounter(name, entry, value, output, ref rejects);
        }
        foreach (var (name, entry, values, count) in timers)
        {
            FlushTimer(name, entry, values, count, output, ref rejects);
        }
        foreach (var (name, entry, value) in gauges)
        {
            Emit(entry.Keys, 0, output, ref rejects, GaugePrefix, name, null, value);
        }
        foreach (var (name, entry, count) in sets)
        {
            Emit(entry.Keys, 0, output, ref rejects, SetPrefix, name, "count", count);
        }
    }

    private void EmitCounter(byte[] name, CounterEntry entry, double value, List<StatsdOutput> output, ref RejectTally rejects)
    {
        if (_options.LegacyNamespace)
        {
            Emit(entry.Keys, 0, output, ref rejects, _options.GlobalPrefix, name, null, value / _flushSeconds);
            if (_options.FlushCounts)
            {
                Emit(entry.Keys, 1, output, ref rejects, "stats_counts", name, null, value);
            }
            return;
        }
        Emit(entry.Keys, 0, output, ref rejects, CounterPrefix, name, "rate", value / _flushSeconds);
        if (_options.FlushCounts)
        {
            Emit(entry.Keys, 1, output, ref rejects, CounterPrefix, name, "count", value);
        }
    }

    private string CounterPrefix => _options.GlobalPrefix + "." + _options.PrefixCounter;

    private string TimerPrefix => _options.GlobalPrefix + "." + _options.PrefixTimer;

    private string GaugePrefix => _options.GlobalPrefix + "." + _options.PrefixGauge;

    private string SetPrefix => _options.GlobalPrefix + "." + _options.PrefixSet;

    private void FlushTimer(byte[] name, TimerEntry entry, List<double> list, double counted, List<StatsdOutput> output, ref RejectTally rejects)
    {
        var prefix = TimerPrefix;
        var countIndex = _percentOutputs + 3;
        if (list.Count == 0)
        {
            Emit(entry.Keys, countIndex, output, ref rejects, prefix, name, _timerSuffixes[countIndex], 0);
            Emit(entry.Keys, countIndex + 1, output, ref rejects, prefix, name, _timerSuffixes[countIndex + 1], 0);
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
            Emit(entry.Keys, slot, output, ref rejects, prefix, name, _timerSuffixes[slot], numInThreshold);
            Emit(entry.Keys, slot + 1, output, ref rejects, prefix, name, _timerSuffixes[slot + 1], mean);
            Emit(entry.Keys, slot + 2, output, ref rejects, prefix, name, _timerSuffixes[slot + 2], boundary);
            Emit(entry.Keys, slot + 3, output, ref rejects, prefix, name, _timerSuffixes[slot + 3], sum);
            Emit(entry.Keys, slot + 4, output, ref rejects, prefix, name, _timerSuffixes[slot + 4], sumSquares);
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
            var s = _percentOutputs + i;
            Emit(entry.Keys, s, output, ref rejects, prefix, name, _timerSuffixes[s], stats[i]);
        }
    }

    // Output names are built once per key and slot, then reused every flush.
    private void Emit(MetricKey?[] keys, int slot, List<StatsdOutput> output, ref RejectTally rejects,
        string prefix, byte[] name, string? suffix, double value)
    {
        if (!double.IsFinite(value))
        {
            // A sum of squares (or a sum) of huge samples overflows; nothing stores infinities.
            rejects.Add(RejectReason.NonFiniteValue);
            return;
        }
        var key = keys[slot];
        if (key is null)
        {
            var full = BuildName(prefix, name, suffix);
            var error = MetricName.Validate(full);
            if (error == RejectReason.None)
            {
                error = _registry.GetOrAdd(full, out key);
            }
            if (error != RejectReason.None || key is null)
            {
                rejects.Add(error == RejectReason.None ? RejectReason.TooManyMetrics : error);
                return;
            }
            keys[slot] = key;
        }
        output.Add(new StatsdOutput(key, value));
    }

    private static byte[] BuildName(string prefix, byte[] name, string? suffix)
    {
        var p = Encoding.UTF8.GetByteCount(prefix);
        var s = suffix is null ? 0 : Encoding.UTF8.GetByteCount(suffix) + 1;
        var result = new byte[p + 1 + name.Length + s];
        Encoding.UTF8.GetBytes(prefix, result);
        result[p] = (byte)'.';
        name.CopyTo(result, p + 1);
        if (suffix is not null)
        {
            result[p + 1 + name.Length] = (byte)'.';
            Encoding.UTF8.GetBytes(suffix, result.AsSpan(p + 2 + name.Length));
        }
        return result;
    }

    // StatsD: ('' + pct).replace('.', '_').replace('-', 'top')
    private static string CleanPercent(double pct)
    {
        var text = pct.ToString("R", CultureInfo.InvariantCulture);
        var dot = text.IndexOf('.', StringComparison.Ordinal);
        if (dot >= 0)
        {
            text = string.Concat(text.AsSpan(0, dot), "_", text.AsSpan(dot + 1));
        }
        var minus = text.IndexOf('-', StringComparison.Ordinal);
        if (minus >= 0)
        {
            text = string.Concat(text.AsSpan(0, minus), "top", text.AsSpan(minus + 1));
        }
        return text;
    }

    private enum Kind : byte { Unknown, Counter, Timer, Gauge, Set }

    private sealed class CounterEntry
    {
        public double Value;
        public readonly MetricKey?[] Keys = new MetricKey?[2];
    }

    private sealed class TimerEntry(int outputs)
    {
        public List<double> Values = [];
        public double Count;
        public readonly MetricKey?[] Keys = new MetricKey?[outputs];
    }

    private sealed class GaugeEntry
    {
        public double Value;
        public readonly MetricKey?[] Keys = new MetricKey?[1];
    }

    private sealed class SetEntry
    {
        public HashSet<ulong> Members = [];
        public readonly MetricKey?[] Keys = new MetricKey?[1];
    }

    private sealed class Shard
    {
        public readonly Dictionary<byte[], CounterEntry> Counters = new(Utf8KeyComparer.Plain);
        public readonly Dictionary<byte[], TimerEntry> Timers = new(Utf8KeyComparer.Plain);
        public readonly Dictionary<byte[], GaugeEntry> Gauges = new(Utf8KeyComparer.Plain);
        public readonly Dictionary<byte[], SetEntry> Sets = new(Utf8KeyComparer.Plain);
        public readonly Dictionary<byte[], CounterEntry>.AlternateLookup<ReadOnlySpan<byte>> CounterLookup;
        public readonly Dictionary<byte[], TimerEntry>.AlternateLookup<ReadOnlySpan<byte>> TimerLookup;
        public readonly Dictionary<byte[], GaugeEntry>.AlternateLookup<ReadOnlySpan<byte>> GaugeLookup;
        public readonly Dictionary<byte[], SetEntry>.AlternateLookup<ReadOnlySpan<byte>> SetLookup;

        public Shard()
        {
            CounterLookup = Counters.GetAlternateLookup<ReadOnlySpan<byte>>();
            TimerLookup = Timers.GetAlternateLookup<ReadOnlySpan<byte>>();
            GaugeLookup = Gauges.GetAlternateLookup<ReadOnlySpan<byte>>();
            SetLookup = Sets.GetAlternateLookup<ReadOnlySpan<byte>>();
        }
    }
}
