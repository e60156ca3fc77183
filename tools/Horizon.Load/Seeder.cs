using System.Diagnostics;
using System.Text;
using Horizon.Algorithms.Detection;
using Horizon.Core;
using Horizon.Core.Metrics;
using Horizon.Core.Points;
using Horizon.Core.Series;
using Horizon.Storage;
using Microsoft.Extensions.Logging.Abstractions;
using Prometheus;

namespace Horizon.Load;

/// <summary>Backfills history for N metrics: through Horizon's own writer (pipelined APPENDs of
/// whole series, the fast way), or through a listener like any sender (which the target accepts
/// only if its Series:MaxResolution covers the history).</summary>
public static class Seeder
{
    /// <summary>Runs the seed command.</summary>
    public static async Task<int> RunAsync(Options options)
    {
        var metrics = (int)options.GetLong("metrics", 1000);
        var step = (int)options.GetLong("step", 60);
        var hours = options.GetDouble("hours", 24);
        var prefix = options.Get("prefix", "load");
        var shape = options.Get("shape") is { } s ? Enum.Parse<ShapeKind>(s, ignoreCase: true) : (ShapeKind?)null;
        var via = options.Get("via", "writer");
        var redis = options.Get("redis", "127.0.0.1:6379");
        var target = options.Get("target");
        var json = options.Get("json");
        var rollupDays = options.GetDouble("rollup-days", 0);
        var names = Enum.Parse<NameIndexMode>(options.Get("name-index", "skyline"), ignoreCase: true);
        options.RejectUnknown();

        var points = (int)(hours * 3600 / step);
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds() / step * step;
        var first = now - (long)(points - 1) * step;
        Console.WriteLine($"seeding {metrics:N0} metrics x {points:N0} points ({hours} h at {step} s) via {via}");
        var watch = Stopwatch.StartNew();
        long total;
        if (via == "writer")
        {
            total = await ThroughWriterAsync(redis, names, metrics, points, first, step, prefix, shape, watch);
        }
        else
        {
            var protocol = Options.ParseProtocol(via);
            var endpoint = Options.LoopbackEndpoint(target ?? $"127.0.0.1:{Options.DefaultPort(protocol)}");
            total = await ThroughListenerAsync(protocol, endpoint, metrics, points, first, step, prefix, shape, watch);
        }
        var seconds = watch.Elapsed.TotalSeconds;
        Console.WriteLine($"seeded {total:N0} points in {seconds:F1} s ({total / seconds:N0} points/s)");
        var rollupSeconds = 0.0;
        if (rollupDays > 0)
        {
            var rollupWatch = Stopwatch.StartNew();
            var keys = await RollupsAsync(redis, metrics, rollupDays, first, prefix, shape);
            rollupSeconds = rollupWatch.Elapsed.TotalSeconds;
            Console.WriteLine($"stored {keys:N0} roll-ups of {rollupDays} days before the seeded points in {rollupSeconds:F1} s");
        }
        if (json is not null)
        {
            await File.WriteAllTextAsync(json, System.Text.Json.JsonSerializer.Serialize(new
            {
                command = "seed", via, metrics, points_per_metric = points, step, points = total, seconds, points_per_second = total / seconds,
                rollup_days = rollupDays, rollup_seconds = rollupSeconds,
            }));
        }
        return 0;
    }

    private static async Task<long> ThroughWriterAsync(string redis, NameIndexMode names, int metrics, int points, long first, int step, string prefix, ShapeKind? shape, Stopwatch watch)
    {
        var series = new SeriesOptions { NameIndex = names };
        await using var store = StoreConnection.Open(new StoreOptions { Redis = redis }, NullLoggerFactory.Instance, series.Names());
        var registry = new MetricRegistry(series.FullNamespace, maxMetrics: int.MaxValue);
        var writerOptions = new WriterOptions { BatchSize = 8192, FlushPoints = 65536, MaxInFlightFlushes = 8, MaxBufferedPoints = 1 << 22 };
        var hm = new WriterMetrics(Prometheus.Metrics.NewCustomRegistry());
        using var writer = new SeriesWriter(store, writerOptions, series, hm, NullLogger<SeriesWriter>.Instance);
        writer.Start();
        long total = 0;
        var batch = writer.Pool.Rent(PointSource.Plaintext);
        var lastReport = watch.Elapsed;
        for (var m = 0; m < metrics; m++)
        {
            var kind = Shapes.KindOf(m, shape);
            registry.GetOrAdd(Encoding.UTF8.GetBytes(Shapes.Name(prefix, kind, m)), out var key);
            for (var i = 0; i < points; i++)
            {
                var ts = first + (long)i * step;
                batch.Add(key!, ts, Shapes.Value(kind, m, ts));
                if (batch.IsFull)
                {
                    await writer.SubmitAsync(batch);
                    batch = writer.Pool.Rent(PointSource.Plaintext);
                }
            }
            total += points;
            if (watch.Elapsed - lastReport > TimeSpan.FromSeconds(2))
            {
                lastReport = watch.Elapsed;
                Console.WriteLine($"  {watch.Elapsed.TotalSeconds,6:F1}s {m + 1:N0} metrics, {total:N0} points ({total / watch.Elapsed.TotalSeconds:N0}/s)");
            }
        }
        await writer.SubmitAsync(batch);
        await writer.StopAsync(TimeSpan.FromMinutes(10));
        var stored = hm.PointsStored.WithLabels(PointSource.Plaintext.Label()).Value;
        if (stored != total)
        {
            throw new InvalidOperationException($"the writer stored {stored:N0} of {total:N0} points");
        }
        return total;
    }

    /// <summary>
    /// Stores <paramref name="days"/> of 10-minute roll-ups before <paramref name="first"/> for every
    /// metric, as the analyzer would have kept them (<c>horizon.rollup.&lt;name&gt;</c>, the
    /// <see cref="RollupHistory"/> layout): what weeks of history give the ensemble (seasonality,
    /// recurrence, drift, flatline) without storing weeks of raw points. Each slot is the mean of
    /// the shape at two times in it.
    /// </summary>
    private static async Task<long> RollupsAsync(string redis, int metrics, double days, long first, string prefix, ShapeKind? shape)
    {
        const int slotSeconds = 600;
        await using var store = StoreConnection.Open(new StoreOptions { Redis = redis }, NullLoggerFactory.Instance);
        var db = store.Database;
        var slots = (int)(days * 86400 / slotSeconds);
        var end = first / slotSeconds; // the slot of the first seeded point: the roll-up stops before it
        var writes = new List<Task>();
        for (var m = 0; m < metrics; m++)
        {
            var kind = Shapes.KindOf(m, shape);
            var history = new RollupHistory(slotSeconds, slots + 1);
            for (var slot = end - slots; slot <= end; slot++)
            {
                var t = slot * slotSeconds;
                history.Add(t + 60, Shapes.Value(kind, m, t + 60));
                if (slot < end)
                {
                    history.Add(t + 360, Shapes.Value(kind, m, t + 360));
                }
            }
            writes.Add(db.StringSetAsync(StoreKeys.RollupPrefix + Shapes.Name(prefix, kind, m), history.Serialize(history.FirstSlot, withHeader: true)));
            if (writes.Count >= 2000)
            {
                await Task.WhenAll(writes);
                writes.Clear();
            }
        }
        await Task.WhenAll(writes);
        return metrics;
    }

    private static async Task<long> ThroughListenerAsync(Protocol protocol, System.Net.IPEndPoint endpoint, int metrics, int points, long first, int step,
        string prefix, ShapeKind? shape, Stopwatch watch)
    {
        var names = Enumerable.Range(0, metrics).Select(m => Encoding.UTF8.GetBytes(Shapes.Name(prefix, Shapes.KindOf(m, shape), m))).ToArray();
        await using var sender = await Sender.OpenAsync(protocol, endpoint, names);
        var buffer = new LoadPoint[4096];
        var n = 0;
        long total = 0;
        for (var m = 0; m < metrics; m++)
        {
            var kind = Shapes.KindOf(m, shape);
            for (var i = 0; i < points; i++)
            {
                var ts = first + (long)i * step;
                buffer[n++] = new LoadPoint(m, ts, Shapes.Value(kind, m, ts));
                if (n == buffer.Length)
                {
                    await sender.SendAsync(buffer);
                    total += n;
                    n = 0;
                }
            }
        }
        await sender.SendAsync(buffer.AsMemory(0, n));
        return total + n;
    }
}
