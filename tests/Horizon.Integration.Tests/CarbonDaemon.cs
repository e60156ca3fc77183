using System.Diagnostics;
using System.Text;
using static Horizon.Integration.Tests.TestSupport;

namespace Horizon.Integration.Tests;

/// <summary>A real carbon daemon of Debian's graphite-carbon, of its own: config, whisper tree and
/// logs in a temporary folder, line and pickle receivers on free loopback ports. A carbon-cache
/// keeps 10 s whisper buckets for a day; a carbon-relay sends on by consistent hashing, pickled,
/// as a shop's relay in front of several nodes does.</summary>
public sealed class CarbonDaemon : IAsyncDisposable
{
    private readonly string _dir;
    private readonly string _program;
    private readonly string _section;
    private Process? _process;

    private CarbonDaemon(string program, string section)
    {
        _dir = Directory.CreateTempSubdirectory("horizon-carbon-").FullName;
        _program = program;
        _section = section;
        LinePort = RedisServer.FreePort();
        PicklePort = RedisServer.FreePort();
    }

    public int LinePort { get; }

    public int PicklePort { get; }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>A carbon-cache, ports and folder chosen, not started.</summary>
    public static CarbonDaemon Cache() => new("carbon-cache", """
        [cache]
        MAX_CACHE_SIZE = inf
        MAX_UPDATES_PER_SECOND = inf
        MAX_CREATES_PER_MINUTE = inf
        """);

    /// <summary>A carbon-relay to <paramref name="destinations"/> (pickle ports), not started.</summary>
    public static CarbonDaemon Relay(IEnumerable<int> destinations) => new("carbon-relay", $"""
        [relay]
        RELAY_METHOD = consistent-hashing
        REPLICATION_FACTOR = 1
        DESTINATIONS = {string.Join(", ", destinations.Select((port, i) => $"127.0.0.1:{port}:{(char)('a' + i)}"))}
        DESTINATION_PROTOCOL = pickle
        MAX_QUEUE_SIZE = 1000000
        """);

    public static async Task<CarbonDaemon> StartedAsync(CarbonDaemon daemon)
    {
        await daemon.StartAsync();
        return daemon;
    }

    public async Task StartAsync()
    {
        Directory.CreateDirectory(Path.Combine(_dir, "whisper"));
        Directory.CreateDirectory(Path.Combine(_dir, "log"));
        await File.WriteAllTextAsync(Path.Combine(_dir, "carbon.conf"), $"""
            {_section}
            STORAGE_DIR = {_dir}
            LOCAL_DATA_DIR = {_dir}/whisper
            WHITELISTS_DIR = {_dir}
            CONF_DIR = {_dir}
            LOG_DIR = {_dir}/log
            PID_DIR = {_dir}
            ENABLE_LOGROTATION = False
            USER =
            LINE_RECEIVER_INTERFACE = 127.0.0.1
            LINE_RECEIVER_PORT = {LinePort}
            ENABLE_UDP_LISTENER = False
            PICKLE_RECEIVER_INTERFACE = 127.0.0.1
            PICKLE_RECEIVER_PORT = {PicklePort}
            CACHE_QUERY_INTERFACE = 127.0.0.1
            CACHE_QUERY_PORT = {RedisServer.FreePort()}
            LOG_LISTENER_CONN_SUCCESS = False

            """, Ct);
        await File.WriteAllTextAsync(Path.Combine(_dir, "storage-schemas.conf"), "[default]\npattern = .*\nretentions = 10s:1d\n", Ct);
        _process = Process.Start(new ProcessStartInfo(_program, ["--config=" + Path.Combine(_dir, "carbon.conf"), "--debug", "start"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        var log = new StringBuilder();
        _process.OutputDataReceived += (_, e) => { lock (log) { log.AppendLine(e.Data); } };
        _process.ErrorDataReceived += (_, e) => { lock (log) { log.AppendLine(e.Data); } };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        await WaitUntilAsync(() =>
        {
            Assert.False(_process.HasExited, $"{_program} exited: {log}");
            lock (log)
            {
                var text = log.ToString();
                return Task.FromResult(text.Contains($"starting on {LinePort}", StringComparison.Ordinal) && text.Contains($"starting on {PicklePort}", StringComparison.Ordinal));
            }
        }, $"{_program} listening");
    }

    /// <summary>The points not (yet) in the whisper files, as whisper.fetch reads them.</summary>
    public async Task<List<(string Name, long Ts, double Value)>> ReadAsync(IReadOnlyList<(string Name, long Ts, double Value)> points)
    {
        var script = """
            import json, os, sys, whisper
            root, wanted = sys.argv[1], json.load(sys.stdin)
            missing = []
            for name, ts, value in wanted:
                path = os.path.join(root, *name.split('.')) + '.wsp'
                got = None
                try:
                    (start, end, step), values = whisper.fetch(path, ts - 1, ts + 1)
                    got = values[(ts - start) // step] if start <= ts < end else None
                except (FileNotFoundError, whisper.CorruptWhisperFile):
                    pass  # not created yet, or carbon-cache is still writing its header
                if got != value:
                    missing.append([name, ts, value])
            json.dump(missing, sys.stdout)
            """;
        using var python = Process.Start(new ProcessStartInfo("/usr/bin/python3", ["-c", script, Path.Combine(_dir, "whisper")])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        await python.StandardInput.WriteAsync(System.Text.Json.JsonSerializer.Serialize(points.Select(p => new object[] { p.Name, p.Ts, p.Value })));
        python.StandardInput.Close();
        var output = await python.StandardOutput.ReadToEndAsync(Ct);
        var errors = await python.StandardError.ReadToEndAsync(Ct);
        await python.WaitForExitAsync(Ct);
        Assert.True(python.ExitCode == 0, errors);
        using var doc = System.Text.Json.JsonDocument.Parse(output);
        return [.. doc.RootElement.EnumerateArray().Select(e => (e[0].GetString()!, e[1].GetInt64(), e[2].GetDouble()))];
    }

    public async ValueTask DisposeAsync()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process?.Dispose();
        Directory.Delete(_dir, recursive: true);
    }
}
