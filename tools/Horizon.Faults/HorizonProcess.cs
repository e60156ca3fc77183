using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;

namespace Horizon.Faults;

/// <summary>A horizon process started from the horizon.dll beside this assembly, on free loopback
/// ports, with its output kept for the report; it can be stopped (SIGTERM), killed (SIGKILL) and
/// started again with the same settings and data.</summary>
public sealed class HorizonProcess : IAsyncDisposable
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(5) };
    private readonly string[] _arguments;
    private readonly StringBuilder _output = new();
    private Process? _process;

    private HorizonProcess(string[] arguments, int plaintextPort, int webPort, int storePort, string workDirectory)
    {
        _arguments = arguments;
        PlaintextPort = plaintextPort;
        WebPort = webPort;
        StorePort = storePort;
        WorkDirectory = workDirectory;
    }

    /// <summary>Carbon plaintext port.</summary>
    public int PlaintextPort { get; }

    /// <summary>HTTP port (/health, /metrics).</summary>
    public int WebPort { get; }

    /// <summary>The embedded store's RESP port (0 when a Redis is used).</summary>
    public int StorePort { get; }

    /// <summary>The process's working directory (its data directory when embedded).</summary>
    public string WorkDirectory { get; }

    /// <summary>The running process id.</summary>
    public int Pid => _process?.Id ?? 0;

    /// <summary>What the process printed, for the report when something went wrong.</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>Starts <c>horizon &lt;role&gt;</c>: on <paramref name="redis"/> when given, else on the
    /// embedded store in <paramref name="workDirectory"/>. Only the plaintext listener is on.</summary>
    public static async Task<HorizonProcess> StartAsync(string role, string? redis, string workDirectory, params string[] settings)
    {
        Directory.CreateDirectory(workDirectory);
        int plaintext = RedisServer.FreePort(), web = RedisServer.FreePort(), store = redis is null ? RedisServer.FreePort() : 0;
        var arguments = new List<string>
        {
            Path.Combine(AppContext.BaseDirectory, "horizon.dll"), role,
            $"--Listeners:Plaintext:Port={plaintext}", "--Listeners:Pickle:Enabled=false", "--Listeners:Msgpack:Enabled=false",
            "--Listeners:StatsdUdp:Enabled=false", "--Listeners:StatsdTcp:Enabled=false", $"--Web:Port={web}",
            // Points carry synthetic timestamps (a second per round), older than the default bound allows.
            "--Series:MaxResolution=100000", "--Analyzer:AnomaliesFile=",
            $"--Analyzer:CacheDirectory={Path.Combine(workDirectory, "analyzer")}",
        };
        if (redis is null)
        {
            arguments.AddRange(["--data", Path.Combine(workDirectory, "data"), $"--Store:Embedded:Port={store}", "--Store:Embedded:MemorySize=512m"]);
        }
        else
        {
            arguments.AddRange(["--redis", redis]);
        }
        arguments.AddRange(settings);
        var horizon = new HorizonProcess([.. arguments], plaintext, web, store, workDirectory);
        await horizon.StartAgainAsync();
        return horizon;
    }

    /// <summary>Starts the process (again) with the same settings, and waits until it is live.</summary>
    public async Task StartAgainAsync()
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = WorkDirectory,
        };
        foreach (var argument in _arguments)
        {
            info.ArgumentList.Add(argument);
        }
        _process = Process.Start(info) ?? throw new InvalidOperationException("dotnet did not start");
        _process.OutputDataReceived += (_, e) => Append(e.Data);
        _process.ErrorDataReceived += (_, e) => Append(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(90))
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"horizon exited with {_process.ExitCode} at start-up:\n{Output}");
            }
            try
            {
                using var response = await Http.GetAsync($"http://127.0.0.1:{WebPort}/health/live");
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
            }
            await Task.Delay(100);
        }
        throw new TimeoutException($"horizon did not come up within 90 s:\n{Output}");
    }

    /// <summary>The plaintext endpoint.</summary>
    public IPEndPoint Plaintext => new(IPAddress.Loopback, PlaintextPort);

    /// <summary>The store's connection string for an observer (the embedded store's port).</summary>
    public string EmbeddedStore => $"127.0.0.1:{StorePort}";

    /// <summary>One value of Horizon's own metrics (the sum over label sets), or null when absent.</summary>
    public async Task<double?> MetricAsync(string name)
    {
        var text = await Http.GetStringAsync($"http://127.0.0.1:{WebPort}/metrics");
        double? sum = null;
        foreach (var line in text.Split('\n'))
        {
            if (line.StartsWith(name, StringComparison.Ordinal) && line.Length > name.Length && line[name.Length] is ' ' or '{')
            {
                sum = (sum ?? 0) + double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
            }
        }
        return sum;
    }

    /// <summary>The process's peak resident memory so far (VmHWM), in bytes.</summary>
    public long PeakResidentBytes()
    {
        try
        {
            var line = File.ReadLines($"/proc/{Pid}/status").FirstOrDefault(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
            return line is null ? 0 : long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
        }
        catch (IOException)
        {
            return 0;
        }
    }

    /// <summary>SIGTERM, then waits for the exit; returns the exit code.</summary>
    public async Task<int> StopAsync(TimeSpan timeout)
    {
        if (_process is not { HasExited: false } process)
        {
            return _process?.ExitCode ?? 0;
        }
        Signals.Terminate(process.Id);
        using var wait = new CancellationTokenSource(timeout);
        await process.WaitForExitAsync(wait.Token);
        return process.ExitCode;
    }

    /// <summary>SIGKILL: a crash, nothing flushed.</summary>
    public async Task KillAsync()
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill();
            await process.WaitForExitAsync();
        }
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }
        lock (_output)
        {
            if (_output.Length < 1 << 20)
            {
                _output.AppendLine(line);
            }
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        _process?.Dispose();
    }
}
