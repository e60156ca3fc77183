using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
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

    /// <summary>redis-server killed (SIGKILL) or stopped (SIGTERM) for two seconds mid-stream.</summary>
    public static async Task<FaultReport> StoreOutageAsync(FaultOptions o, bool kill)
    {
        var dir = o.NewDirectory("store");
        try
        {
            await using var redis = await RedisServer.StartAsync();
            await using var horizon = await HorizonProcess.StartAsync("ingest", redis.ConnectionString, dir, o.WriterSettings);
            var stream = new NumberedPoints(horizon.Plaintext, "fault", o.Names, BaseTimestamp);
            using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(o.Seconds));
            var sending = stream.RunAsync(o.Rate, reconnect: false, stop.Token);
            await Task.Delay(TimeSpan.FromSeconds(o.Seconds / 3));
            if (kill)
            {
                await redis.KillAsync();
            }
            else
            {
                await redis.StopAsync();
            }
            await Task.Delay(2000);
            await redis.RestartAsync();
            await sending;
            await SettledAsync(horizon);
            await using var observer = await redis.ConnectAsync();
            var audit = await Audit.RunAsync(observer.GetDatabase(), stream);
            var retried = await horizon.MetricAsync("horizon_redis_write_errors_total") ?? 0;
            var skipped = await horizon.MetricAsync("horizon_write_resends_skipped_total") ?? 0;
            return Report(kill ? "store-kill" : "store-stop", $"redis ({o.Writer})", audit, "nothing lost, duplicated or reordered",
                audit is { Lost: 0, Duplicated: 0, Reordered: 0, Unindexed: 0 },
                string.Create(CultureInfo.InvariantCulture, $"store down 2 s; {retried:N0} commands failed and were resent, {skipped:N0} found already applied"));
        }
        finally
        {
            Delete(dir);
        }
    }

    /// <summary>The store answers nothing for six seconds (a proxy in front of redis-server holds
    /// its replies, as a stalled fork or fsync would): the TCP reader is slowed (back-pressure),
    /// the buffer stays within its bound, nothing is lost.</summary>
    public static async Task<FaultReport> StoreSlowAsync(FaultOptions o)
    {
        var dir = o.NewDirectory("slow");
        try
        {
            await using var redis = await RedisServer.StartAsync();
            await using var proxy = FaultyProxy.Start(redis.Port);
            await using var horizon = await HorizonProcess.StartAsync("ingest", $"127.0.0.1:{proxy.Port}", dir,
                [.. o.WriterSettings, "--Writer:MaxBufferedPoints=65536"]);
            var stream = new NumberedPoints(horizon.Plaintext, "fault", o.Names, BaseTimestamp);
            using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(o.Seconds));
            var sending = stream.RunAsync(o.Rate, reconnect: false, stop.Token);
            await Task.Delay(TimeSpan.FromSeconds(o.Seconds / 3));
            var before = horizon.PeakResidentBytes();
            proxy.HoldReplies = true;
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
            proxy.HoldReplies = false;
            await sending;
            await SettledAsync(horizon);
            var peak = horizon.PeakResidentBytes();
            await using var observer = await redis.ConnectAsync();
            var audit = await Audit.RunAsync(observer.GetDatabase(), stream);
            // The writer's buffer, the flushes awaiting replies, and the batch the reading connection holds.
            const double bound = 65536 + 4 * (16384 + 1024) + 1024;
            return Report("store-slow", $"redis ({o.Writer})", audit, "nothing lost; accepted points held within the writer's bounds; reading stops",
                audit is { Lost: 0, Duplicated: 0, Reordered: 0 } && maxHeld <= bound && readLate == 0,
                string.Create(CultureInfo.InvariantCulture, $"no reply for 6 s: held at most {maxHeld:N0} points (bound {bound:N0}), read {readLate:N0} in the last 3 s (the rest waited in the socket); peak RSS {before / 1048576.0:F0} -> {peak / 1048576.0:F0} MB"));
        }
        finally
        {
            Delete(dir);
        }
    }

    /// <summary>SIGTERM to the ingest process mid-stream, then a restart: every point it had read
    /// before it stopped is stored (points still in the socket when it stopped were never accepted).</summary>
    public static async Task<FaultReport> HostTermAsync(FaultOptions o)
    {
        var dir = o.NewDirectory("term");
        try
        {
            await using var redis = await RedisServer.StartAsync();
            await using var horizon = await HorizonProcess.StartAsync("ingest", redis.ConnectionString, dir, o.WriterSettings);
            var stream = new NumberedPoints(horizon.Plaintext, "fault", o.Names, BaseTimestamp);
            using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(o.Seconds));
            var sending = stream.RunAsync(o.Rate, reconnect: true, stop.Token);
            await Task.Delay(TimeSpan.FromSeconds(o.Seconds / 3));
            var exit = await horizon.StopAsync(TimeSpan.FromSeconds(60));
            var received = ReceivedAtShutdown(horizon.Output);
            await horizon.StartAgainAsync();
            await sending;
            await SettledAsync(horizon);
            await using var observer = await redis.ConnectAsync();
            var db = observer.GetDatabase();
            var audit = await Audit.RunAsync(db, stream);
            // One connection, read in order: the first `received` points were accepted.
            var acceptedLost = received is { } r ? await CountMissingAsync(db, stream, r) : -1;
            return Report("host-term", $"redis ({o.Writer})", audit, "exit 0; every point read before SIGTERM stored",
                exit == 0 && acceptedLost == 0 && audit is { Duplicated: 0, Reordered: 0 },
                string.Create(CultureInfo.InvariantCulture, $"exit code {exit}; {received:N0} points read before the stop, {acceptedLost:N0} of them missing; the rest lost were in the socket, never read"));
        }
        finally
        {
            Delete(dir);
        }
    }

    /// <summary>kill -9 of the ingest process (on redis-server) or of the all-in-one process (on the
    /// embedded store) mid-stream, then a restart: only points accepted within the crash window
    /// before the kill may be missing, and every stored series is in the unique set.</summary>
    public static async Task<FaultReport> HostKillAsync(FaultOptions o, bool embedded)
    {
        var dir = o.NewDirectory(embedded ? "embedded" : "kill");
        try
        {
            await using var redis = embedded ? null : await RedisServer.StartAsync();
            await using var horizon = await HorizonProcess.StartAsync(embedded ? "all" : "ingest", redis?.ConnectionString, dir, o.WriterSettings);
            var stream = new NumberedPoints(horizon.Plaintext, "fault", o.Names, BaseTimestamp);
            using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(o.Seconds));
            var sending = stream.RunAsync(o.Rate, reconnect: true, stop.Token);
            await Task.Delay(TimeSpan.FromSeconds(o.Seconds / 3));
            await horizon.KillAsync();
            var killedAt = Stopwatch.GetTimestamp();
            await horizon.StartAgainAsync();
            await sending;
            await SettledAsync(horizon);
            // Roomba's first pass after the restart reconciles the unique set.
            await Task.Delay(TimeSpan.FromSeconds(2));
            await using var observer = await ConnectionMultiplexer.ConnectAsync(embedded ? horizon.EmbeddedStore : redis!.ConnectionString);
            var window = TimeSpan.FromSeconds(o.CrashWindow);
            var audit = await Audit.RunAsync(observer.GetDatabase(), stream, killedAt, window);
            if (Environment.GetEnvironmentVariable("HORIZON_FAULTS_LOG") is { } log)
            {
                await File.WriteAllTextAsync(log, horizon.Output);
            }
            return Report(embedded ? "embedded-kill" : "host-kill", embedded ? "embedded" : $"redis ({o.Writer})", audit,
                string.Create(CultureInfo.InvariantCulture, $"lost only within {o.CrashWindow:0.##} s before the kill; every series indexed"),
                audit is { LostBeforeFault: 0, Duplicated: 0, Reordered: 0, Unindexed: 0 },
                string.Create(CultureInfo.InvariantCulture, $"kill -9 after {o.Seconds / 3:0.#} s, restarted at once"));
        }
        finally
        {
            Delete(dir);
        }
    }

    /// <summary>The embedded store's data directory on a small tmpfs that fills up mid-stream (needs
    /// root to mount): Horizon stays up and says so, and once there is room again it stores what
    /// it accepts.</summary>
    public static async Task<FaultReport> DiskFullAsync(FaultOptions o)
    {
        if (!OperatingSystem.IsLinux() || Environment.UserName != "root")
        {
            return new FaultReport("disk-full", "embedded", new AuditResult(0, 0, 0, 0, 0, 0, 0, 0, 0), "", true, "not run: mounting a tmpfs needs root");
        }
        var dir = o.NewDirectory("disk");
        var data = Path.Combine(dir, "data");
        Directory.CreateDirectory(data);
        await Run("mount", "-t", "tmpfs", "-o", "size=40m", "tmpfs", data);
        try
        {
            await using var horizon = await HorizonProcess.StartAsync("all", null, dir, [.. o.WriterSettings, "--Store:Embedded:MemorySize=64m", "--Store:Embedded:PageSize=1m", "--Store:Embedded:DiskReserveMegabytes=12"]);
            var stream = new NumberedPoints(horizon.Plaintext, "fault", o.Names, BaseTimestamp);
            using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(o.Seconds));
            var sending = stream.RunAsync(o.Rate, reconnect: true, stop.Token);
            // Until the guard pauses writes (or most of the run has gone), then two seconds paused.
            var full = false;
            var filling = Stopwatch.StartNew();
            while (!full && filling.Elapsed < TimeSpan.FromSeconds(o.Seconds * 0.7))
            {
                full = await horizon.MetricAsync("horizon_store_disk_full") == 1;
                await Task.Delay(200);
            }
            await Task.Delay(TimeSpan.FromSeconds(full ? 2 : 0));
            await Run("mount", "-o", "remount,size=1g", data);
            await sending;
            await SettledAsync(horizon);
            await using var observer = await ConnectionMultiplexer.ConnectAsync(horizon.EmbeddedStore);
            var audit = await Audit.RunAsync(observer.GetDatabase(), stream);
            var alive = await horizon.MetricAsync("horizon_points_received_total") is not null;
            if (Environment.GetEnvironmentVariable("HORIZON_FAULTS_LOG") is { } log)
            {
                await File.WriteAllTextAsync(log, horizon.Output);
            }
            return Report("disk-full", "embedded", audit, "the process stays up; nothing lost once there is room",
                alive && audit is { Lost: 0, Duplicated: 0, Reordered: 0 },
                $"40 MB tmpfs, 12 MB reserve: writes {(full ? "paused" : "never paused")}, then the disk grew to 1 GB");
        }
        finally
        {
            await Run("umount", "-l", data);
            Delete(dir);
        }
    }

    private static FaultReport Report(string scenario, string store, AuditResult audit, string expectation, bool passed, string notes) =>
        new(scenario, store, audit, expectation, passed, notes);

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
            byte[]? raw = await db.StringGetAsync($"metrics.{stream.Prefix}.m{i}");
            var count = Horizon.Core.Series.SeriesCodec.Count(raw ?? [], out _, out _);
            var ts = new long[count];
            var values = new double[count];
            Horizon.Core.Series.SeriesCodec.Decode(raw ?? [], ts, values, out _, out _);
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

    private static async Task Run(string file, params string[] args)
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
