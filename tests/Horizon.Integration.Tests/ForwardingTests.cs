using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using static Horizon.Integration.Tests.TestSupport;

namespace Horizon.Integration.Tests;

/// <summary>Forwarding into real carbon-caches (Debian's graphite-carbon), read back from the
/// whisper files they write with whisper's own Python module.</summary>
public sealed partial class ForwardingTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task EveryAcceptedPointReachesWhisperByPlaintextAndByPickleIncludingADestinationThatCameUpLate()
    {
        await using var plain = await CarbonCache.StartedAsync();
        // The pickle destination is down when Horizon starts and while the points arrive.
        await using var late = CarbonCache.Prepare();
        await using var host = await HorizonHost.StartAsync(null, new Dictionary<string, string?>
        {
            ["Forward:Destinations:0"] = $"127.0.0.1:{plain.LinePort}",
            ["Forward:Destinations:1"] = $"pickle://127.0.0.1:{late.PicklePort}",
        });
        var step = Now - (Now % 10);
        var points = new List<(string Name, long Ts, double Value)>();
        var text = new StringBuilder();
        for (var m = 0; m < 20; m++)
        {
            for (var i = 0; i < 30; i++)
            {
                var point = ($"fwd.web{m:D2}.requests", step - (i * 10), Math.Round((m * 1000) + (i * 1.25) - 7.5, 2));
                points.Add(point);
                text.Append(CultureInfo.InvariantCulture, $"{point.Item1} {point.Item3} {point.Item2}\n");
            }
        }
        await SendTcpAsync(host.Endpoint("plaintext"), text.ToString());

        await WaitUntilAsync(async () => (await plain.ReadAsync(points)).Count == 0, "every point in the plaintext destination's whisper files", 60);
        var pickle = $"destination=\"pickle://127.0.0.1:{late.PicklePort}\"";
        await WaitUntilAsync(async () => Sample(await host.ScrapeAsync(), "horizon_forward_queue_points", pickle) == points.Count,
            "the points queued for the pickle destination while it is down");
        Assert.Equal(0, Sample(await host.ScrapeAsync(), "horizon_forward_connected", pickle));

        await late.StartAsync();
        await WaitUntilAsync(async () => (await late.ReadAsync(points)).Count == 0, "every point in the late pickle destination's whisper files", 90);
        var scrape = await host.ScrapeAsync();
        Assert.Equal(points.Count, Sample(scrape, "horizon_forward_points_total", $"destination=\"tcp://127.0.0.1:{plain.LinePort}\",outcome=\"sent\""));
        Assert.Equal(points.Count, Sample(scrape, "horizon_forward_points_total", pickle + ",outcome=\"sent\""));
        Assert.Equal(0, Sample(scrape, "horizon_forward_queue_points", pickle));
        Assert.Equal(1, Sample(scrape, "horizon_forward_connected", pickle));
        // And the store has them all too.
        Assert.Equal(30, (await ReadSeriesAsync(host.Db, "fwd.web07.requests")).Count);
    }

    [Fact]
    public async Task ADestinationThatStaysDownLosesOnlyWhatItsQueueCannotHoldCountedAndTheStoreGetsEverything()
    {
        var nobody = RedisServer.FreePort();
        await using var host = await HorizonHost.StartAsync(null, new Dictionary<string, string?>
        {
            ["Forward:Destinations:0"] = $"127.0.0.1:{nobody}",
            ["Forward:QueuePoints"] = "100",
        });
        var now = Now;
        for (var round = 0; round < 5; round++)
        {
            var text = new StringBuilder();
            for (var i = 0; i < 100; i++)
            {
                text.Append(CultureInfo.InvariantCulture, $"down.m{i:D3} {round} {now - 60 + round}\n");
            }
            await SendTcpAsync(host.Endpoint("plaintext"), text.ToString());
        }
        var labels = $"destination=\"tcp://127.0.0.1:{nobody}\"";
        await WaitUntilAsync(async () =>
        {
            var scrape = await host.ScrapeAsync();
            return Sample(scrape, "horizon_forward_queue_points", labels) + Sample(scrape, "horizon_forward_points_total", labels + ",outcome=\"dropped\"") == 500;
        }, "every point either queued or counted as dropped");
        var final = await host.ScrapeAsync();
        Assert.InRange(Sample(final, "horizon_forward_queue_points", labels), 1, 100);
        Assert.InRange(Sample(final, "horizon_forward_points_total", labels + ",outcome=\"dropped\""), 400, 499);
        Assert.Equal(0, Sample(final, "horizon_forward_connected", labels));
        for (var i = 0; i < 100; i += 33)
        {
            Assert.Equal(5, (await ReadSeriesAsync(host.Db, $"down.m{i:D3}")).Count);
        }
    }

    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("pickle://127.0.0.1")]
    [InlineData("udp://127.0.0.1:2003")]
    [InlineData("127.0.0.1:70000")]
    public async Task ADestinationThatIsNotHostAndPortStopsStartUpNamingIt(string destination)
    {
        var error = await Assert.ThrowsAnyAsync<Exception>(() => HorizonHost.StartAsync(null, new Dictionary<string, string?> { ["Forward:Destinations:0"] = destination }));
        Assert.Contains($"Forward:Destinations entry '{destination}'", error.Message, StringComparison.Ordinal);
    }

    private static double Sample(string scrape, string metric, string labels)
    {
        var match = Regex.Match(scrape, $@"^{Regex.Escape(metric)}\{{{Regex.Escape(labels)}\}} (\S+)$", RegexOptions.Multiline);
        return match.Success ? double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture) : 0;
    }

    /// <summary>A carbon-cache of its own: config, whisper tree and logs in a temporary folder,
    /// line and pickle receivers on loopback ports, 10 s whisper buckets kept for a day.</summary>
    private sealed class CarbonCache : IAsyncDisposable
    {
        private readonly string _dir;
        private Process? _process;

        private CarbonCache(string dir, int linePort, int picklePort)
        {
            _dir = dir;
            LinePort = linePort;
            PicklePort = picklePort;
        }

        public int LinePort { get; }

        public int PicklePort { get; }

        /// <summary>Ports and folder chosen, not started.</summary>
        public static CarbonCache Prepare()
        {
            var dir = Directory.CreateTempSubdirectory("horizon-carbon-").FullName;
            return new CarbonCache(dir, RedisServer.FreePort(), RedisServer.FreePort());
        }

        public static async Task<CarbonCache> StartedAsync()
        {
            var cache = Prepare();
            await cache.StartAsync();
            return cache;
        }

        public async Task StartAsync()
        {
            Directory.CreateDirectory(Path.Combine(_dir, "whisper"));
            Directory.CreateDirectory(Path.Combine(_dir, "log"));
            await File.WriteAllTextAsync(Path.Combine(_dir, "carbon.conf"), $"""
                [cache]
                STORAGE_DIR = {_dir}
                LOCAL_DATA_DIR = {_dir}/whisper
                WHITELISTS_DIR = {_dir}
                CONF_DIR = {_dir}
                LOG_DIR = {_dir}/log
                PID_DIR = {_dir}
                ENABLE_LOGROTATION = False
                USER =
                MAX_CACHE_SIZE = inf
                MAX_UPDATES_PER_SECOND = inf
                MAX_CREATES_PER_MINUTE = inf
                LINE_RECEIVER_INTERFACE = 127.0.0.1
                LINE_RECEIVER_PORT = {LinePort}
                ENABLE_UDP_LISTENER = False
                PICKLE_RECEIVER_INTERFACE = 127.0.0.1
                PICKLE_RECEIVER_PORT = {PicklePort}
                CACHE_QUERY_INTERFACE = 127.0.0.1
                CACHE_QUERY_PORT = {RedisServer.FreePort()}

                """, Ct);
            await File.WriteAllTextAsync(Path.Combine(_dir, "storage-schemas.conf"), "[default]\npattern = .*\nretentions = 10s:1d\n", Ct);
            _process = Process.Start(new ProcessStartInfo("carbon-cache", ["--config=" + Path.Combine(_dir, "carbon.conf"), "--debug", "start"])
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
                Assert.False(_process.HasExited, $"carbon-cache exited: {log}");
                lock (log)
                {
                    var text = log.ToString();
                    return Task.FromResult(text.Contains($"starting on {LinePort}", StringComparison.Ordinal) && text.Contains($"starting on {PicklePort}", StringComparison.Ordinal));
                }
            }, "carbon-cache listening");
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
                    if os.path.exists(path):
                        (start, end, step), values = whisper.fetch(path, ts - 1, ts + 1)
                        got = values[(ts - start) // step] if start <= ts < end else None
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
}
