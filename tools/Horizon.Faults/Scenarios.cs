using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Horizon.Core;
using StackExchange.Redis;

namespace Horizon.Faults;

/// <summary>How a scenario runs.</summary>
/// <param name="Seconds">How long points are streamed.</param>
/// <param name="Rate">Points a second.</param>
/// <param name="Names">Distinct metric names.</param>
/// <param name="WorkDirectory">Where processes keep their data (deleted afterwards).</param>
/// <param name="Writer">The writer's path: direct (Horizon's own connection) or multiplexer.</param>
/// <param name="CrashWindow">A crash may lose points accepted this long before it, no older.</param>
public sealed record FaultOptions(double Seconds = 9, double Rate = 20_000, int Names = 2_000, string? WorkDirectory = null,
    string Writer = "direct", double CrashWindow = 1.0)
{
    /// <summary>A fresh folder under the work directory.</summary>
    public string NewDirectory(string name)
    {
        var path = Path.Combine(WorkDirectory ?? Path.GetTempPath(), $"horizon-faults-{name}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(path);
        return path;
    }

    /// <summary>Horizon settings for the writer path.</summary>
    public string[] WriterSettings => [$"--Writer:DirectConnections={(Writer == "direct" ? "true" : "false")}"];
}

/// <summary>One scenario's outcome.</summary>
public sealed record FaultReport(string Scenario, string Store, AuditResult Audit, string Expectation, bool Passed, string Notes)
{
    /// <summary>A row of the Markdown table RELIABILITY.md keeps.</summary>
    public string Row() => string.Create(CultureInfo.InvariantCulture,
        $"| {Scenario} | {Store} | {Audit.Sent:N0} | {Audit.Stored:N0} | {Audit.Lost:N0} | {Audit.Duplicated:N0} | {Audit.Reordered:N0} | {Audit.Unindexed:N0} | {(Audit.Lost == 0 || double.IsNaN(Audit.OldestLostSeconds) ? "-" : $"{Audit.OldestLostSeconds:F2} s")} | {(Passed ? "yes" : "**no**")} | {Notes} |");

    /// <summary>The table's header.</summary>
    public const string Header = """
        | scenario | store | sent | stored | lost | duplicated | reordered | unindexed | oldest lost, before the fault | as expected | notes |
        |---|---|---:|---:|---:|---:|---:|---:|---:|---|---|
        """;
}

/// <summary>The fault scenarios. Each streams numbered points through a real Horizon process into a
/// real store, injects one fault, waits for Horizon to settle and audits every point.</summary>
public static partial class Scenarios
{
    /// <summary>Every scenario by name.</summary>
    public static readonly IReadOnlyDictionary<string, Func<FaultOptions, Task<FaultReport>>> All = new Dictionary<string, Func<FaultOptions, Task<FaultReport>>>
    {
        ["store-kill"] = o => StoreOutageAsync(o, kill: true),
        ["store-stop"] = o => StoreOutageAsync(o, kill: false),
        ["store-slow"] = StoreSlowAsync,
        ["host-term"] = HostTermAsync,
        ["host-kill"] = o => HostKillAsync(o, embedded: false),
        ["embedded-kill"] = o => HostKillAsync(o, embedded: true),
        ["disk-full"] = DiskFullAsync,
    };

    private static long BaseTimestamp => DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 80_000;

    /// <summary>One run: a work folder, redis-server unless embedded, a horizon process, and the
    /// numbered points streaming into it (for <see cref="FaultOptions.Seconds"/>).</summary>
    private sealed class Run : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop;
        private readonly Task _sending;

        private Run(string directory, RedisServer? redis, FaultyProxy? proxy, HorizonProcess horizon, NumberedPoints stream, CancellationTokenSource stop, Task sending)
        {
            Directory = directory;
            Redis = redis;
            Proxy = proxy;
            Horizon = horizon;
            Stream = stream;
            _stop = stop;
            _sending = sending;
        }

        public string Directory { get; }

        public RedisServer? Redis { get; }

        public FaultyProxy? Proxy { get; }

        public HorizonProcess Horizon { get; }

        public NumberedPoints Stream { get; }

        /// <summary>Starts everything. <paramref name="proxied"/> puts a <see cref="FaultyProxy"/>
        /// between Horizon and redis-server; <paramref name="prepare"/> runs on the work folder first.</summary>
        public static async Task<Run> StartAsync(FaultOptions o, string name, bool embedded, bool reconnect, bool proxied = false,
            Func<string, Task>? prepare = null, params string[] settings)
        {
            var directory = o.NewDirectory(name);
            RedisServer? redis = null;
            FaultyProxy? proxy = null;
            try
            {
                if (prepare is not null)
                {
                    await prepare(directory);
                }
                redis = embedded ? null : await RedisServer.StartAsync();
                proxy = proxied ? FaultyProxy.Start(redis!.Port) : null;
                var store = redis is null ? null : proxy is null ? redis.ConnectionString : $"127.0.0.1:{proxy.Port}";
                var horizon = await HorizonProcess.StartAsync(embedded ? "all" : "ingest", store, directory, [.. o.WriterSettings, .. settings]);
                var stream = new NumberedPoints(horizon.Plaintext, "fault", o.Names, BaseTimestamp);
                var stop = new CancellationTokenSource(TimeSpan.FromSeconds(o.Seconds));
                return new Run(directory, redis, proxy, horizon, stream, stop, stream.RunAsync(o.Rate, reconnect, stop.Token));
            }
            catch
            {
                if (proxy is not null)
                {
                    await proxy.DisposeAsync();
                }
                if (redis is not null)
                {
                    await redis.DisposeAsync();
                }
                Delete(directory);
                throw;
            }
        }

        /// <summary>Waits for the stream to end and Horizon to hold nothing it accepted.</summary>
        public async Task SettleAsync()
        {
            await _sending;
            await SettledAsync(Horizon);
        }

        /// <summary>Settles, then audits.</summary>
        public async Task<AuditResult> FinishAsync(long? faultAt = null, TimeSpan window = default)
        {
            await SettleAsync();
            await using var observer = await ConnectionMultiplexer.ConnectAsync(Redis?.ConnectionString ?? Horizon.EmbeddedStore);
            var audit = await Audit.RunAsync(observer.GetDatabase(), Stream, faultAt, window);
            if (Environment.GetEnvironmentVariable("HORIZON_FAULTS_LOG") is { } log)
            {
                await File.WriteAllTextAsync(log, Horizon.Output);
            }
            return audit;
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            try
            {
                await _sending;
            }
            catch (OperationCanceledException)
            {
            }
            _stop.Dispose();
            await Horizon.DisposeAsync();
            if (Proxy is not null)
            {
                await Proxy.DisposeAsync();
            }
            if (Redis is not null)
            {
                await Redis.DisposeAsync();
            }
            Delete(Directory);
        }
    }

    private static Task FaultTimeAsync(FaultOptions o) => Task.Delay(TimeSpan.FromSeconds(o.Seconds / 3));

    /// <summary>redis-server killed (SIGKILL) or stopped (SIGTERM) for two seconds mid-stream.</summary>
    public static async Task<FaultReport> StoreOutageAsync(FaultOptions o, bool kill)
    {
        await using var run = await Run.StartAsync(o, "store", embedded: false, reconnect: false);
        await FaultTimeAsync(o);
        if (kill)
        {
            await run.Redis!.KillAsync();
        }
        else
        {
            await run.Redis!.StopAsync();
        }
        await Task.Delay(2000);
        await run.Redis.RestartAsync();
        var audit = await run.FinishAsync();
        var retried = await run.Horizon.MetricAsync("horizon_redis_write_errors_total") ?? 0;
        var skipped = await run.Horizon.MetricAsync("horizon_write_resends_skipped_total") ?? 0;
        return Report(kill ? "store-kill" : "store-stop", $"redis ({o.Writer})", audit, "nothing lost, duplicated or reordered",
            audit is { Lost: 0, Duplicated: 0, Reordered: 0, Unindexed: 0 },
            string.Create(CultureInfo.InvariantCulture, $"store down 2 s; {retried:N0} commands failed and were resent, {skipped:N0} found already applied"));
    }

    /// <summary>The store answers nothing for six seconds (a proxy in front of redis-server holds
    /// its replies, as a stalled fork or fsync would): the TCP reader is slowed (back-pressure),
    /// the buffer stays within its bound, nothing is lost.</summary>
    public static async Task<FaultReport> StoreSlowAsync(FaultOptions o)
    {
        await using var run = await Run.StartAsync(o with { Seconds = Math.Max(o.Seconds, 12) }, "slow", embedded: false, reconnect: false, proxied: true,
            settings: "--Writer:MaxBufferedPoints=65536");
        var horizon = run.Horizon;
        await FaultTimeAsync(o);
        var before = horizon.PeakResidentBytes();
        run.Proxy!.HoldReplies = true;
        double maxHeld = 0;
        var slow = Stopwatch.StartNew();
        double? readAtHalf = null;
        while (slow.Elapsed < TimeSpan.FromSeconds(6))
        {
            var held = (await horizon.MetricAsync("horizon_points_buffered") ?? 0) + (await horizon.MetricAsync("horizon_points_in_flight") ?? 0);
            maxHeld = Math.Max(maxHeld, held);
            if (readAtHalf is null && slow.Elapsed > TimeSpan.FromSeconds(3))
            {
                readAtHalf = await horizon.MetricAsync("horizon_points_received_total");
            }
            await Task.Delay(200);
        }
        // Once the buffer is full Horizon stops reading: what it read in the stall's second half.
        var readLate = (await horizon.MetricAsync("horizon_points_received_total") ?? 0) - (readAtHalf ?? 0);
        run.Proxy.HoldReplies = false;
        var audit = await run.FinishAsync();
        var peak = horizon.PeakResidentBytes();
        // The writer's buffer, the flushes awaiting replies, and the batch the reading connection holds.
        const double bound = 65536 + 4 * (16384 + 1024) + 1024;
        return Report("store-slow", $"redis ({o.Writer})", audit, "nothing lost; accepted points held within the writer's bounds; reading stops",
            audit is { Lost: 0, Duplicated: 0, Reordered: 0 } && maxHeld <= bound && readLate == 0,
            string.Create(CultureInfo.InvariantCulture, $"no reply for 6 s: held at most {maxHeld:N0} points (bound {bound:N0}), read {readLate:N0} in the last 3 s (the rest waited in the socket); peak RSS {before / 1048576.0:F0} -> {peak / 1048576.0:F0} MB"));
    }

    /// <summary>SIGTERM to the ingest process mid-stream, then a restart: every point it had read
    /// before it stopped is stored (points still in the socket when it stopped were never accepted).</summary>
    public static async Task<FaultReport> HostTermAsync(FaultOptions o)
    {
        await using var run = await Run.StartAsync(o, "term", embedded: false, reconnect: true);
        await FaultTimeAsync(o);
        var exit = await run.Horizon.StopAsync(TimeSpan.FromSeconds(60));
        var received = ReceivedAtShutdown(run.Horizon.Output);
        await run.Horizon.StartAgainAsync();
        var audit = await run.FinishAsync();
        // One connection, read in order: the first `received` points were accepted.
        await using var observer = await run.Redis!.ConnectAsync();
        var acceptedLost = received is { } r ? await CountMissingAsync(observer.GetDatabase(), run.Stream, r) : -1;
        return Report("host-term", $"redis ({o.Writer})", audit, "exit 0; every point read before SIGTERM stored",
            exit == 0 && acceptedLost == 0 && audit is { Duplicated: 0, Reordered: 0 },
            string.Create(CultureInfo.InvariantCulture, $"exit code {exit}; {received:N0} points read before the stop, {acceptedLost:N0} of them missing; the rest lost were in the socket, never read"));
    }

    /// <summary>kill -9 of the ingest process (on redis-server) or of the all-in-one process (on the
    /// embedded store) mid-stream, then a restart: only points accepted within the crash window
    /// before the kill may be missing, and every stored series is in the unique set.</summary>
    public static async Task<FaultReport> HostKillAsync(FaultOptions o, bool embedded)
    {
        await using var run = await Run.StartAsync(o, embedded ? "embedded" : "kill", embedded, reconnect: true);
        await FaultTimeAsync(o);
        await run.Horizon.KillAsync();
        var killedAt = Stopwatch.GetTimestamp();
        await run.Horizon.StartAgainAsync();
        await run.SettleAsync();
        // Roomba's first pass after the restart reconciles the unique set.
        await Task.Delay(TimeSpan.FromSeconds(2));
        var audit = await run.FinishAsync(killedAt, TimeSpan.FromSeconds(o.CrashWindow));
        return Report(embedded ? "embedded-kill" : "host-kill", embedded ? "embedded" : $"redis ({o.Writer})", audit,
            string.Create(CultureInfo.InvariantCulture, $"lost only within {o.CrashWindow:0.##} s before the kill; every series indexed"),
            audit is { LostBeforeFault: 0, Duplicated: 0, Reordered: 0, Unindexed: 0 },
            string.Create(CultureInfo.InvariantCulture, $"kill -9 after {o.Seconds / 3:0.#} s, restarted at once"));
    }

    /// <summary>The embedded store's data directory on a small tmpfs that fills up mid-stream (needs
    /// root to mount): writes pause at the reserve, Horizon stays up and says so, and once the disk
    /// has room it stores everything it accepted. Fails when the disk never filled.</summary>
    public static async Task<FaultReport> DiskFullAsync(FaultOptions o)
    {
        if (!OperatingSystem.IsLinux() || Environment.UserName != "root")
        {
            return new FaultReport("disk-full", "embedded", new AuditResult(0, 0, 0, 0, 0, 0, 0, 0, 0), "", false, "not run: mounting a tmpfs needs root");
        }
        o = o with { Seconds = Math.Max(o.Seconds, 20) };
        string? data = null;
        try
        {
            await using var run = await Run.StartAsync(o, "disk", embedded: true, reconnect: true, prepare: async dir =>
            {
                data = Path.Combine(dir, "data");
                System.IO.Directory.CreateDirectory(data);
                await Command("mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", data);
            }, settings: ["--Store:Embedded:MemorySize=16m", "--Store:Embedded:PageSize=1m", "--Store:Embedded:DiskReserveMegabytes=24"]);
            // Until the guard pauses writes (or most of the run has gone), then two seconds paused.
            var full = false;
            var filling = Stopwatch.StartNew();
            while (!full && filling.Elapsed < TimeSpan.FromSeconds(o.Seconds * 0.7))
            {
                full = await run.Horizon.MetricAsync("horizon_store_disk_full") == 1;
                await Task.Delay(200);
            }
            await Task.Delay(TimeSpan.FromSeconds(full ? 2 : 0));
            await Command("mount", "-o", "remount,size=1g", data!);
            var audit = await run.FinishAsync();
            var alive = await run.Horizon.MetricAsync("horizon_points_received_total") is not null;
            return Report("disk-full", "embedded", audit, "writes pause when the disk fills; the process stays up; nothing lost once there is room",
                full && alive && audit is { Lost: 0, Duplicated: 0, Reordered: 0 },
                $"64 MB tmpfs, 16 MB in-memory log, 24 MB reserve: writes {(full ? "paused" : "never paused")}, then the disk grew to 1 GB");
        }
        finally
        {
            if (data is not null)
            {
                await Command("umount", "-l", data);
                Delete(Path.GetDirectoryName(data)!);
            }
        }
    }

    private static FaultReport Report(string scenario, string store, AuditResult audit, string expectation, bool passed, string notes) =>
        new(scenario, store, audit, expectation, passed, audit.FirstReorder is null ? notes : $"{notes}; first reorder {audit.FirstReorder}");

    // Waits until Horizon holds no point it accepted: nothing buffered or in flight for a second.
    private static async Task SettledAsync(HorizonProcess horizon)
    {
        var quiet = 0;
        var deadline = Stopwatch.StartNew();
        while (quiet < 5 && deadline.Elapsed < TimeSpan.FromSeconds(120))
        {
            var pending = (await horizon.MetricAsync("horizon_points_buffered") ?? 0) + (await horizon.MetricAsync("horizon_points_in_flight") ?? 0);
            quiet = pending == 0 ? quiet + 1 : 0;
            await Task.Delay(200);
        }
    }

    private static long? ReceivedAtShutdown(string output)
    {
        var match = DrainedLine().Match(output);
        return match.Success ? long.Parse(match.Groups[1].Value.Replace(",", "", StringComparison.Ordinal), CultureInfo.InvariantCulture) : null;
    }

    [GeneratedRegex(@"since start-up: ([\d,]+) points received")]
    private static partial Regex DrainedLine();

    private static async Task<long> CountMissingAsync(IDatabase db, NumberedPoints stream, long firstPoints)
    {
        var seen = new bool[firstPoints];
        for (var i = 0; i < stream.Names; i++)
        {
            byte[]? raw = await db.StringGetAsync(StoreKeys.Series($"{stream.Prefix}.m{i}"));
            var (ts, values) = Horizon.Core.Series.SeriesCodec.DecodeAll(raw ?? [], out _);
            foreach (var v in values)
            {
                if (v >= 0 && v < firstPoints)
                {
                    seen[(long)v] = true;
                }
            }
        }
        return seen.LongCount(s => !s);
    }

    private static async Task Command(string file, params string[] args)
    {
        using var process = Process.Start(file, args);
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} exited with {process.ExitCode}");
        }
    }

    private static void Delete(string dir)
    {
        try
        {
            Directory.Delete(dir, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
