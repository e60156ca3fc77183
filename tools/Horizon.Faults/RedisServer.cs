using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using StackExchange.Redis;

namespace Horizon.Faults;

/// <summary>A real redis-server on a free loopback port, in its own temporary directory, with
/// the append-only file fsynced on every write so that a kill and restart loses nothing acknowledged.
/// ./test.sh installs redis-server; without it this fails with a message saying so.</summary>
public sealed class RedisServer : IAsyncDisposable
{
    private Process? _process;
    private readonly string[] _extraArguments;

    private RedisServer(int port, string directory, string[] extraArguments)
    {
        Port = port;
        Directory = directory;
        _extraArguments = extraArguments;
    }

    /// <summary>The port.</summary>
    public int Port { get; }

    /// <summary>The server's working directory (AOF lives here).</summary>
    public string Directory { get; }

    /// <summary>host:port for StackExchange.Redis.</summary>
    public string ConnectionString => $"127.0.0.1:{Port},allowAdmin=true";

    /// <summary>Starts a server.</summary>
    public static async Task<RedisServer> StartAsync(params string[] extraArguments)
    {
        var directory = Path.Combine(Path.GetTempPath(), "horizon-redis-" + Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(directory);
        var server = new RedisServer(FreePort(), directory, extraArguments);
        await server.StartProcessAsync();
        return server;
    }

    /// <summary>Starts the process again on the same port and directory (after a stop or kill).</summary>
    public Task RestartAsync() => StartProcessAsync();

    private async Task StartProcessAsync()
    {
        var binary = FindRedisServer() ?? throw new InvalidOperationException(
            "redis-server is not installed. Install it (apt-get install -y redis-server) or run the tests through .ci/run / ./test.sh, which do.");
        var info = new ProcessStartInfo(binary)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[]
        {
            "--port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1",
            "--dir", Directory, "--save", "", "--appendonly", "yes", "--appendfsync", "always",
            "--daemonize", "no", "--protected-mode", "yes", "--logfile", "",
        }.Concat(_extraArguments))
        {
            info.ArgumentList.Add(arg);
        }
        _process = Process.Start(info)!;
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                await using var mux = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{Port},connectTimeout=500,allowAdmin=true");
                if ((await mux.GetServers()[0].PingAsync()) >= TimeSpan.Zero && ((string?)await mux.GetServers()[0].ExecuteAsync("INFO", "persistence"))?.Contains("loading:0", StringComparison.Ordinal) == true)
                {
                    return;
                }
            }
            catch (Exception e) when (e is RedisConnectionException or RedisServerException or RedisTimeoutException)
            {
                // Not listening yet, or still loading its append-only file (-LOADING).
            }
            await Task.Delay(50);
        }
        throw new TimeoutException($"redis-server did not start on port {Port}");
    }

    /// <summary>Stops the process as an operator would (SIGTERM: redis-server flushes its
    /// append-only file and exits).</summary>
    public async Task StopAsync()
    {
        if (_process is { HasExited: false })
        {
            Signals.Terminate(_process.Id);
            await _process.WaitForExitAsync();
        }
    }

    /// <summary>Kills the process abruptly (a crash).</summary>
    public async Task KillAsync()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }
    }

    /// <summary>A new connection for test assertions.</summary>
    public Task<ConnectionMultiplexer> ConnectAsync() => ConnectionMultiplexer.ConnectAsync(ConnectionString);

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static readonly string[] CliPaths = ["/usr/bin/redis-cli", "/usr/local/bin/redis-cli"];
    private static readonly string[] ServerPaths = ["/usr/bin/redis-server", "/usr/local/bin/redis-server"];

    /// <summary>Where redis-cli is (installed with redis-server).</summary>
    public static string RedisCli =>
        CliPaths.FirstOrDefault(File.Exists)
        ?? throw new InvalidOperationException("redis-cli is not installed (it comes with redis-server: apt-get install -y redis-server).");

    private static string? FindRedisServer() =>
        ServerPaths.FirstOrDefault(File.Exists)
        ?? Environment.GetEnvironmentVariable("PATH")?.Split(':').Select(p => Path.Combine(p, "redis-server")).FirstOrDefault(File.Exists);

    /// <summary>A free loopback TCP port.</summary>
    public static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }
}
