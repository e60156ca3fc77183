using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using Horizon.Core;
using Horizon.Core.Series;
using StackExchange.Redis;

namespace Horizon.Load;

/// <summary>The run command: live traffic from N simulated metrics over one or more protocols,
/// paced at a resolution (each metric sends one point per period) or as fast as the target takes
/// it, with labelled anomalies injected at known times; then it measures what arrived (every
/// point read back from Redis), what the analyzer found, and how fast.</summary>
public sealed class LiveRun
{
    private readonly int _metrics;
    private readonly IReadOnlyList<Protocol> _protocols;
    private readonly int _connections;
    private readonly int _resolution;
    private readonly bool _max;
    private readonly double _rate; // with --rate: points/s over all senders, paced like --max otherwise
    private readonly TimeSpan _duration;
    private readonly long _countLimit;
    private readonly string _prefix;
    private readonly ShapeKind? _shape;
    private readonly Dictionary<Protocol, IPEndPoint> _targets = [];
    private readonly HorizonProbe _probe;
    private readonly string? _redis;
    private readonly int _inject;
    private readonly TimeSpan _injectAfter;
    private readonly int _injectPoints;
    private readonly TimeSpan _detectWait;
    private readonly TimeSpan _settle;
    private readonly bool _verify;
    private readonly string? _json;

    private readonly Protocol[] _protocolOf;
    private readonly ShapeKind[] _kindOf;
    private readonly byte[][] _names;
    private readonly int[] _sent;
    private readonly long[] _sentByProtocol;
    private readonly bool[] _injected;
    private readonly ConcurrentDictionary<int, (long Ts, double SentAt)> _injections = new();
    private readonly ConcurrentDictionary<int, double> _detectedAt = new();
    private readonly ConcurrentDictionary<string, byte> _falseAlarms = new(StringComparer.Ordinal);
    private readonly Stopwatch _clock = new();
    private long _startSecond;
    private long _base;
    private volatile bool _stop;
    private volatile bool _injecting;

    /// <summary>Parses the run command's options.</summary>
    public LiveRun(Options options)
    {
        _metrics = (int)options.GetLong("metrics", 1000);
        _protocols = options.Protocols("plaintext");
        _connections = (int)options.GetLong("connections", 4);
        _rate = options.GetDouble("rate", 0);
        _max = options.Flag("max") || _rate > 0;
        _resolution = (int)options.GetLong("resolution", 10);
        _duration = options.GetDuration("duration", TimeSpan.FromSeconds(60));
        _countLimit = options.GetLong("count", long.MaxValue);
        _prefix = options.Get("prefix", "load");
        _shape = options.Get("shape") is { } s ? Enum.Parse<ShapeKind>(s, ignoreCase: true) : null;
        var host = options.Get("host", "127.0.0.1");
        // Every --target-<protocol> is read, so one script can name all ports whatever it sends.
        foreach (var p in Enum.GetValues<Protocol>())
        {
            var explicitTarget = options.Get("target-" + Options.ProtocolName(p));
            if (_protocols.Contains(p))
            {
                explicitTarget ??= _protocols.Count == 1 ? options.Get("target") : null;
                _targets[p] = Options.LoopbackEndpoint(explicitTarget ?? $"{host}:{Options.DefaultPort(p)}");
            }
        }
        _probe = new HorizonProbe(options.Get("metrics-url", "http://127.0.0.1:1500/metrics"));
        _redis = options.Get("redis", "127.0.0.1:6389");
        _inject = (int)options.GetLong("inject", 0);
        _injectAfter = options.GetDuration("inject-after", TimeSpan.FromSeconds(30));
        _injectPoints = (int)options.GetLong("inject-points", 3);
        _detectWait = options.GetDuration("detect-wait", TimeSpan.FromSeconds(60));
        _settle = options.GetDuration("settle", _protocols.Any(p => p is Protocol.StatsdTcp or Protocol.StatsdUdp) ? TimeSpan.FromSeconds(12) : TimeSpan.FromSeconds(3));
        _verify = !options.Flag("no-verify");
        _json = options.Get("json");
        options.RejectUnknown();
        if (_metrics < 1 || _connections < 1 || _resolution < 1)
        {
            throw new ArgumentException("--metrics, --connections and --resolution must be positive");
        }

        _protocolOf = new Protocol[_metrics];
        _kindOf = new ShapeKind[_metrics];
        _names = new byte[_metrics][];
        for (var m = 0; m < _metrics; m++)
        {
            _protocolOf[m] = _protocols[m % _protocols.Count];
            _kindOf[m] = Shapes.KindOf(m, _shape); // as the seed command names them
            var name = _protocolOf[m] is Protocol.StatsdUdp or Protocol.StatsdTcp
                ? $"{_prefix}.statsd.m{m:D7}"
                : Shapes.Name(_prefix, _kindOf[m], m);
            _names[m] = Encoding.UTF8.GetBytes(name);
        }
        _sent = new int[_metrics];
        _sentByProtocol = new long[Enum.GetValues<Protocol>().Length];
        _injected = new bool[_metrics];
        if (_inject > 0)
        {
            // Evenly spread over the metrics that carry raw values (not StatsD counters) and whose
            // shape is not a counter.
            var candidates = Enumerable.Range(0, _metrics)
                .Where(m => _protocolOf[m] is Protocol.Plaintext or Protocol.Pickle or Protocol.Msgpack && _kindOf[m] != ShapeKind.Counter).ToList();
            var stride = Math.Max(1, candidates.Count / _inject);
            foreach (var m in candidates.Where((_, i) => i % stride == stride / 2).Take(_inject))
            {
                _injected[m] = true;
            }
        }
    }

    private string Name(int m) => Encoding.UTF8.GetString(_names[m]);

    private long TimestampOf(int k) => _max ? _base + k : _base + (long)k * _resolution;

    private double ValueOf(int m, int k) =>
        _max ? k : IsAnomalous(m, k) ? Shapes.Anomalous(_kindOf[m], m, TimestampOf(k)) : Shapes.Value(_kindOf[m], m, TimestampOf(k));

    private bool IsAnomalous(int m, int k) => _injections.TryGetValue(m, out var injection) && TimestampOf(k) >= injection.Ts && TimestampOf(k) < injection.Ts + (long)_injectPoints * (_max ? 1 : _resolution);

    /// <summary>Runs, reports, and returns the exit code (non-zero when points were lost).</summary>
    public async Task<int> RunAsync()
    {
        ConnectionMultiplexer? redis = null;
        if (_redis is not null)
        {
            var configuration = ConfigurationOptions.Parse(_redis);
            configuration.AbortOnConnectFail = false;
            configuration.SyncTimeout = configuration.AsyncTimeout = 30000;
            redis = await ConnectionMultiplexer.ConnectAsync(configuration);
        }
        try
        {
            return await RunWithAsync(redis);
        }
        finally
        {
            if (redis is not null)
            {
                await redis.DisposeAsync();
            }
        }
    }

    private async Task<int> RunWithAsync(ConnectionMultiplexer? redis)
    {
        var db = redis?.GetDatabase();
        var rawMetrics = Enumerable.Range(0, _metrics).Where(m => _protocolOf[m] is Protocol.Plaintext or Protocol.Pickle or Protocol.Msgpack).ToArray();
        var startLengths = new long[_metrics];
        if (db is not null && _verify)
        {
            Console.WriteLine($"recording the length of {rawMetrics.Length:N0} series before the run");
            await ForEachBatchAsync(rawMetrics, 2000, async batch =>
            {
                var lengths = batch.Select(m => db.StringLengthAsync(StoreKeys.Series(Name(m)))).ToArray();
                await Task.WhenAll(lengths);
                for (var i = 0; i < batch.Length; i++)
                {
                    startLengths[batch[i]] = lengths[i].Result;
                }
            });
        }
        var historyBefore = db is null ? 0 : await db.ListLengthAsync(StoreKeys.AnomalyHistory);
        var before = await _probe.ScrapeAsync();
        var kernelBefore = HorizonProbe.KernelUdpReceiveErrors();

        Console.WriteLine($"running {_metrics:N0} metrics over {string.Join(", ", _protocols)} with {_connections} connection(s) each, " +
                          (_rate > 0 ? $"{_rate:N0} points/s in all" : _max ? "as fast as possible" : $"one point per metric every {_resolution} s ({_metrics / (double)_resolution:N0} points/s)") +
                          $", for {_duration.TotalSeconds:N0} s" + (_inject > 0 ? $"; injecting {_injected.Count(b => b)} anomalies after {_injectAfter.TotalSeconds:N0} s" : ""));
        _startSecond = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        _base = _max ? _startSecond - 900 : _startSecond / _resolution * _resolution;
        _clock.Start();
        var senders = new List<Task>();
        var senderObjects = new ConcurrentBag<Sender>();
        foreach (var protocol in _protocols)
        {
            var mine = Enumerable.Range(0, _metrics).Where(m => _protocolOf[m] == protocol).ToArray();
            for (var c = 0; c < _connections; c++)
            {
                var share = mine.Where((_, i) => i % _connections == c).ToArray();
                var sender = await Sender.OpenAsync(protocol, _targets[protocol], _names);
                senderObjects.Add(sender);
                senders.Add(Task.Run(() => SendLoopAsync(sender, protocol, share, _rate / (_protocols.Count * _connections))));
            }
        }
        var detection = db is null ? Task.CompletedTask : Task.Run(() => DetectLoopAsync(db));
        var lastSent = 0L;
        var lastTime = 0.0;
        while (senders.Any(t => !t.IsCompleted))
        {
            await Task.WhenAny(Task.WhenAll(senders), Task.Delay(1000));
            var elapsed = _clock.Elapsed.TotalSeconds;
            if (!_injecting && _inject > 0 && elapsed >= _injectAfter.TotalSeconds)
            {
                _injecting = true;
            }
            if (elapsed >= _duration.TotalSeconds || _sentByProtocol.Sum() >= _countLimit)
            {
                _stop = true;
            }
            var sent = _sentByProtocol.Sum();
            var now = await _probe.ScrapeAsync();
            var stored = HorizonProbe.Sum(now, "horizon_points_stored_total") - HorizonProbe.Sum(before, "horizon_points_stored_total");
            var received = HorizonProbe.Sum(now, "horizon_points_received_total") - HorizonProbe.Sum(before, "horizon_points_received_total");
            var rate = (sent - lastSent) / Math.Max(elapsed - lastTime, 1e-3);
            Console.WriteLine($"  {elapsed,6:F1}s sent {sent,12:N0} ({rate,9:N0}/s)  received {received,12:N0}  stored {stored,12:N0}  lag {Math.Max(0, sent - stored),10:N0}" +
                              (_injections.IsEmpty ? "" : $"  detected {_detectedAt.Count}/{_injections.Count}"));
            lastSent = sent;
            lastTime = elapsed;
        }
        await Task.WhenAll(senders);
        var sendSeconds = _clock.Elapsed.TotalSeconds;
        foreach (var s in senderObjects)
        {
            await s.DisposeAsync();
        }
        Console.WriteLine($"sending stopped after {sendSeconds:F1} s; letting Horizon settle for {_settle.TotalSeconds:N0} s, longer while it is still storing");
        await Task.Delay(_settle);
        await WaitWhileStoringAsync(before);
        if (_injections.Count > _detectedAt.Count)
        {
            var deadline = _clock.Elapsed + _detectWait;
            Console.WriteLine($"waiting up to {_detectWait.TotalSeconds:N0} s for the analyzer to report the injected anomalies");
            while (_clock.Elapsed < deadline && _injections.Count > _detectedAt.Count)
            {
                await Task.Delay(500);
            }
        }
        _stop = true;
        _detectionDone = true;
        await detection;
        var after = await _probe.ScrapeAsync();
        var kernelAfter = HorizonProbe.KernelUdpReceiveErrors();

        var report = new Report
        {
            Metrics = _metrics,
            Protocols = [.. _protocols.Select(p => p.ToString())],
            Connections = _connections,
            Mode = _rate > 0 ? $"rate {_rate:N0}/s" : _max ? "max" : $"resolution {_resolution} s",
            SendSeconds = sendSeconds,
            Sent = _sentByProtocol.Sum(),
            SendErrors = senderObjects.Sum(s => s.SendErrors),
            KernelUdpReceiveErrors = kernelAfter - kernelBefore,
            HorizonKernelDrops = HorizonProbe.Sum(after, "horizon_udp_kernel_drops") - HorizonProbe.Sum(before, "horizon_udp_kernel_drops"),
            HorizonDropped = HorizonProbe.Sum(after, "horizon_points_dropped_total") - HorizonProbe.Sum(before, "horizon_points_dropped_total"),
            HorizonRejected = HorizonProbe.Sum(after, "horizon_points_rejected_total") - HorizonProbe.Sum(before, "horizon_points_rejected_total"),
        };
        report.AchievedRate = report.Sent / sendSeconds;
        if (db is not null && _verify)
        {
            await VerifyAsync(db, rawMetrics, startLengths, report);
        }
        if (!_injections.IsEmpty)
        {
            var latencies = _detectedAt.Select(d => d.Value - _injections[d.Key].SentAt).Order().ToArray();
            report.Injected = _injections.Count;
            report.Detected = _detectedAt.Count;
            report.Recall = (double)_detectedAt.Count / _injections.Count;
            report.LatencyP50 = Percentile(latencies, 0.5);
            report.LatencyP99 = Percentile(latencies, 0.99);
            report.LatencyMax = latencies.Length > 0 ? latencies[^1] : double.NaN;
        }
        report.FalseAlarmMetrics = _falseAlarms.Count;
        report.FalseAlarmsByShape = _falseAlarms.Keys
            .GroupBy(name => _protocolOf[ByNameIndex(name)] is Protocol.StatsdUdp or Protocol.StatsdTcp ? "statsd" : _kindOf[ByNameIndex(name)].ToString().ToLowerInvariant())
            .ToDictionary(g => g.Key, g => g.Count());
        report.CleanMetrics = _metrics - _injections.Count;
        if (db is not null)
        {
            report.HistoryEntries = await db.ListLengthAsync(StoreKeys.AnomalyHistory) - historyBefore;
        }
        report.Print();
        if (_json is not null)
        {
            await File.WriteAllTextAsync(_json, JsonSerializer.Serialize(report, ReportJson));
            Console.WriteLine($"summary written to {_json}");
        }
        return report.Lost > 0 ? 3 : 0;
    }

    private volatile bool _detectionDone;

    private static int ByNameIndex(string name) => int.Parse(name.AsSpan(name.LastIndexOf(".m", StringComparison.Ordinal) + 2), System.Globalization.CultureInfo.InvariantCulture);

    private static readonly JsonSerializerOptions ReportJson = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    // What was sent may still sit in socket buffers and Horizon's writer: wait (up to two minutes)
    // until its stored count stops moving, so slow draining is not mistaken for loss.
    private async Task WaitWhileStoringAsync(Dictionary<string, double> before)
    {
        var deadline = _clock.Elapsed + TimeSpan.FromMinutes(2);
        var last = double.NaN;
        while (_clock.Elapsed < deadline)
        {
            var now = await _probe.ScrapeAsync();
            var stored = HorizonProbe.Sum(now, "horizon_points_stored_total") - HorizonProbe.Sum(before, "horizon_points_stored_total");
            if (stored == last)
            {
                return;
            }
            if (!double.IsNaN(last))
            {
                Console.WriteLine($"  still storing: {stored:N0} stored");
            }
            last = stored;
            await Task.Delay(1000);
        }
    }

    private static double Percentile(double[] sorted, double q) =>
        sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(q * sorted.Length) - 1)];

    // rate: this sender's share of --rate in points/s, or 0 for unpaced.
    private async Task SendLoopAsync(Sender sender, Protocol protocol, int[] metrics, double rate)
    {
        if (metrics.Length == 0)
        {
            return;
        }
        // Paced senders send in slices of about 5 ms, so a rate is not a train of bursts.
        var buffer = new LoadPoint[Math.Min(metrics.Length, rate > 0 ? Math.Clamp((int)(rate / 200), 16, 4096) : 4096)];
        var sentHere = 0L;
        for (var k = 0; !_stop; k++)
        {
            if (_max && k >= 950)
            {
                break; // timestamps would run into the future tolerance
            }
            var cycleStart = _max ? 0 : (double)k * _resolution;
            // Spread each cycle over ten slices per second of the period, so the rate is smooth.
            var slices = _max ? 1 : Math.Max(1, _resolution * 10);
            for (var slice = 0; slice < slices && !_stop; slice++)
            {
                if (!_max)
                {
                    var due = cycleStart + slice * (double)_resolution / slices;
                    var wait = due - _clock.Elapsed.TotalSeconds;
                    if (wait > 0)
                    {
                        await Task.Delay(TimeSpan.FromSeconds(wait));
                    }
                }
                var from = (int)((long)metrics.Length * slice / slices);
                var to = (int)((long)metrics.Length * (slice + 1) / slices);
                for (var start = from; start < to; start += buffer.Length)
                {
                    var n = Math.Min(buffer.Length, to - start);
                    var injectedHere = new List<int>();
                    for (var i = 0; i < n; i++)
                    {
                        var m = metrics[start + i];
                        var seq = _sent[m];
                        if (_injecting && _injected[m] && !_injections.ContainsKey(m))
                        {
                            _injections[m] = (TimestampOf(seq), double.NaN);
                            injectedHere.Add(m);
                        }
                        buffer[i] = new LoadPoint(m, TimestampOf(seq), ValueOf(m, seq));
                    }
                    await sender.SendAsync(buffer.AsMemory(0, n));
                    var sentAt = _clock.Elapsed.TotalSeconds;
                    sentHere += n;
                    if (rate > 0 && sentHere / rate > sentAt)
                    {
                        await Task.Delay(TimeSpan.FromSeconds(sentHere / rate - sentAt));
                    }
                    foreach (var m in injectedHere)
                    {
                        _injections[m] = (_injections[m].Ts, sentAt);
                    }
                    for (var i = 0; i < n; i++)
                    {
                        _sent[metrics[start + i]]++;
                    }
                    Interlocked.Add(ref _sentByProtocol[(int)protocol], n);
                    if (_sentByProtocol.Sum() >= _countLimit)
                    {
                        _stop = true;
                        return;
                    }
                }
            }
        }
    }

    // Watches the current anomalies: the first time an injected metric appears with a timestamp
    // at or after its injection is its detection; a clean metric of this run appearing is a
    // false alarm.
    private async Task DetectLoopAsync(IDatabase db)
    {
        var byName = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var m = 0; m < _metrics; m++)
        {
            byName[Name(m)] = m;
        }
        var prefix = _prefix + ".";
        while (!_detectionDone)
        {
            try
            {
                foreach (var entry in await db.HashGetAllAsync(StoreKeys.Anomalies))
                {
                    var name = (string)entry.Name!;
                    if (!name.StartsWith(prefix, StringComparison.Ordinal) || !byName.TryGetValue(name, out var m))
                    {
                        continue;
                    }
                    if (_injected[m])
                    {
                        if (_injections.TryGetValue(m, out var injection) && !double.IsNaN(injection.SentAt) && !_detectedAt.ContainsKey(m))
                        {
                            using var record = JsonDocument.Parse((string)entry.Value!);
                            if (record.RootElement.GetProperty("timestamp").GetInt64() >= injection.Ts)
                            {
                                _detectedAt[m] = _clock.Elapsed.TotalSeconds;
                            }
                        }
                    }
                    else
                    {
                        _falseAlarms.TryAdd(name, 0);
                    }
                }
            }
            catch (RedisException)
            {
            }
            await Task.Delay(250);
        }
    }

    private async Task VerifyAsync(IDatabase db, int[] rawMetrics, long[] startLengths, Report report)
    {
        Console.WriteLine($"verifying delivery: reading back what {_metrics:N0} metrics sent");
        long present = 0, duplicates = 0, mismatched = 0, expected = 0;
        var perProtocol = _protocols.ToDictionary(p => p, _ => (Sent: 0L, Stored: 0L));
        await ForEachBatchAsync(rawMetrics, 1000, async batch =>
        {
            var reads = batch.Select(m => db.StringGetRangeAsync(StoreKeys.Series(Name(m)), startLengths[m], -1)).ToArray();
            await Task.WhenAll(reads);
            for (var i = 0; i < batch.Length; i++)
            {
                var m = batch[i];
                byte[]? bytes = reads[i].Result;
                var (found, dup, bad) = Compare(m, bytes ?? []);
                if (found < 0)
                {
                    // The key was rewritten since (Roomba): compare against the whole series.
                    byte[]? whole = await db.StringGetAsync(StoreKeys.Series(Name(m)));
                    (found, dup, bad) = Compare(m, whole ?? [], wholeSeries: true);
                }
                lock (perProtocol)
                {
                    present += found;
                    duplicates += dup;
                    mismatched += bad;
                    expected += _sent[m];
                    var p = perProtocol[_protocolOf[m]];
                    perProtocol[_protocolOf[m]] = (p.Sent + _sent[m], p.Stored + found);
                }
            }
        });
        foreach (var protocol in _protocols.Where(p => p is Protocol.StatsdUdp or Protocol.StatsdTcp))
        {
            var statsd = Enumerable.Range(0, _metrics).Where(m => _protocolOf[m] == protocol).ToArray();
            await ForEachBatchAsync(statsd, 1000, async batch =>
            {
                // The count under StatsD's legacy name (Horizon's default), or the other namespace's.
                var reads = batch.Select(m => db.StringGetAsync(StoreKeys.Series($"stats_counts.{Name(m)}"))).ToArray();
                var others = batch.Select(m => db.StringGetAsync(StoreKeys.Series($"stats.counters.{Name(m)}.count"))).ToArray();
                await Task.WhenAll(reads.Concat(others));
                for (var i = 0; i < batch.Length; i++)
                {
                    byte[]? bytes = reads[i].Result.HasValue ? reads[i].Result : others[i].Result;
                    var total = 0.0;
                    if (bytes is not null)
                    {
                        var ts = new long[bytes.Length / 3 + 1];
                        var vs = new double[ts.Length];
                        var n = SeriesCodec.Decode(bytes, ts, vs, out _, out _);
                        total = vs.AsSpan(0, n).ToArray().Sum();
                    }
                    lock (perProtocol)
                    {
                        var counted = (long)Math.Min(total, _sent[batch[i]]);
                        present += counted;
                        expected += _sent[batch[i]];
                        var p = perProtocol[protocol];
                        perProtocol[protocol] = (p.Sent + _sent[batch[i]], p.Stored + counted);
                    }
                }
            });
        }
        report.Verified = true;
        report.Stored = present;
        report.Lost = expected - present;
        report.Duplicates = duplicates;
        report.ValueMismatches = mismatched;
        report.PerProtocol = perProtocol.ToDictionary(p => p.Key.ToString(), p => new ProtocolResult(p.Value.Sent, p.Value.Stored, p.Value.Sent - p.Value.Stored,
            p.Value.Sent == 0 ? 0 : 100.0 * (p.Value.Sent - p.Value.Stored) / p.Value.Sent));
    }

    // Counts which of the metric's sent points are in the bytes. Returns -1 found when the bytes
    // are not whole points (the region shifted under a rewrite).
    private (long Found, long Duplicates, long Mismatched) Compare(int m, byte[] bytes, bool wholeSeries = false)
    {
        var ts = new long[bytes.Length / 3 + 1];
        var vs = new double[ts.Length];
        var n = SeriesCodec.Decode(bytes, ts, vs, out var status, out _);
        if (status != PointReadStatus.Ok)
        {
            return wholeSeries ? (0, 0, 0) : (-1, 0, 0);
        }
        var seen = new HashSet<int>();
        long duplicates = 0, mismatched = 0;
        for (var i = 0; i < n; i++)
        {
            int k;
            if (_max)
            {
                k = (int)vs[i];
                if (vs[i] != k || k < 0 || k >= _sent[m])
                {
                    if (!wholeSeries)
                    {
                        mismatched++;
                    }
                    continue;
                }
            }
            else
            {
                var offset = ts[i] - _base;
                if (offset < 0 || offset % _resolution != 0 || offset / _resolution >= _sent[m])
                {
                    if (!wholeSeries)
                    {
                        mismatched++;
                    }
                    continue;
                }
                k = (int)(offset / _resolution);
                if (vs[i] != ValueOf(m, k))
                {
                    mismatched++;
                    continue;
                }
            }
            if (!seen.Add(k))
            {
                duplicates++;
            }
        }
        return (seen.Count, duplicates, mismatched);
    }

    private static async Task ForEachBatchAsync(int[] items, int size, Func<int[], Task> action)
    {
        for (var start = 0; start < items.Length; start += size)
        {
            await action(items[start..Math.Min(items.Length, start + size)]);
        }
    }
}

/// <summary>Per-protocol delivery.</summary>
public sealed record ProtocolResult(long Sent, long Stored, long Lost, double LossPercent);

/// <summary>The run's summary, printed and written as JSON.</summary>
public sealed class Report
{
#pragma warning disable CS1591
    public int Metrics { get; set; }
    public string[] Protocols { get; set; } = [];
    public int Connections { get; set; }
    public string Mode { get; set; } = "";
    public double SendSeconds { get; set; }
    public long Sent { get; set; }
    public double AchievedRate { get; set; }
    public long SendErrors { get; set; }
    public bool Verified { get; set; }
    public long Stored { get; set; }
    public long Lost { get; set; }
    public long Duplicates { get; set; }
    public long ValueMismatches { get; set; }
    public Dictionary<string, ProtocolResult> PerProtocol { get; set; } = [];
    public long KernelUdpReceiveErrors { get; set; }
    public double HorizonKernelDrops { get; set; }
    public double HorizonDropped { get; set; }
    public double HorizonRejected { get; set; }
    public int Injected { get; set; }
    public int Detected { get; set; }
    public double Recall { get; set; }
    public double LatencyP50 { get; set; } = double.NaN;
    public double LatencyP99 { get; set; } = double.NaN;
    public double LatencyMax { get; set; } = double.NaN;
    public int FalseAlarmMetrics { get; set; }
    public Dictionary<string, int> FalseAlarmsByShape { get; set; } = [];
    public int CleanMetrics { get; set; }
    public long HistoryEntries { get; set; }
#pragma warning restore CS1591

    /// <summary>Prints the table.</summary>
    public void Print()
    {
        Console.WriteLine();
        Console.WriteLine($"| {"measure",-42} | {"value",22} |");
        Console.WriteLine($"|{new string('-', 44)}|{new string('-', 24)}|");
        void Row(string k, string v) => Console.WriteLine($"| {k,-42} | {v,22} |");
        Row("metrics", Metrics.ToString("N0", System.Globalization.CultureInfo.InvariantCulture));
        Row("protocols", string.Join(",", Protocols));
        Row("mode", Mode);
        Row("points sent", Sent.ToString("N0", System.Globalization.CultureInfo.InvariantCulture));
        Row("send rate (points/s)", AchievedRate.ToString("N0", System.Globalization.CultureInfo.InvariantCulture));
        if (Verified)
        {
            Row("points read back", Stored.ToString("N0", System.Globalization.CultureInfo.InvariantCulture));
            Row("points lost", $"{Lost:N0} ({(Sent == 0 ? 0 : 100.0 * Lost / Sent):F4} %)");
            Row("duplicates / value mismatches", $"{Duplicates:N0} / {ValueMismatches:N0}");
            foreach (var (protocol, r) in PerProtocol)
            {
                Row($"  {protocol}: sent / stored / lost", $"{r.Sent:N0}/{r.Stored:N0}/{r.Lost:N0}");
            }
        }
        Row("UDP: kernel receive-buffer drops (host)", KernelUdpReceiveErrors.ToString("N0", System.Globalization.CultureInfo.InvariantCulture));
        Row("UDP: drops on Horizon's sockets", HorizonKernelDrops.ToString("N0", System.Globalization.CultureInfo.InvariantCulture));
        Row("UDP: sender-side send errors", SendErrors.ToString("N0", System.Globalization.CultureInfo.InvariantCulture));
        Row("Horizon: dropped / rejected", $"{HorizonDropped:N0} / {HorizonRejected:N0}");
        if (Injected > 0)
        {
            Row("anomalies injected / detected", $"{Injected} / {Detected}");
            Row("recall", Recall.ToString("P1", System.Globalization.CultureInfo.InvariantCulture));
            Row("detection latency p50 / p99 (s)", $"{LatencyP50:F1} / {LatencyP99:F1}");
        }
        Row("clean metrics flagged (false alarms)", $"{FalseAlarmMetrics:N0} of {CleanMetrics:N0}");
        foreach (var (shape, count) in FalseAlarmsByShape.OrderByDescending(p => p.Value))
        {
            Row($"  of shape {shape}", count.ToString("N0", System.Globalization.CultureInfo.InvariantCulture));
        }
    }
}
