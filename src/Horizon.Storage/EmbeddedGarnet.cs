using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Garnet;
using Microsoft.Extensions.Logging;

namespace Horizon.Storage;

/// <summary>A Garnet server hosted in this process and reached over loopback RESP like any Redis,
/// so that the same code paths serve the embedded and the external store.</summary>
public sealed class EmbeddedGarnet : IDisposable
{
    private readonly GarnetServer _server;

    private EmbeddedGarnet(GarnetServer server, IPEndPoint endpoint, string dataDirectory)
    {
        _server = server;
        EndPoint = endpoint;
        DataDirectory = dataDirectory;
    }

    /// <summary>Where the server listens.</summary>
    public IPEndPoint EndPoint { get; }

    /// <summary>The absolute data directory.</summary>
    public string DataDirectory { get; }

    /// <summary>The arguments Horizon passes to Garnet for these options (Garnet's own CLI syntax).</summary>
    public static List<string> Arguments(EmbeddedStoreOptions options, int port, string dataDirectory)
    {
        var args = new List<string>
        {
            "--bind", options.Bind,
            "--port", port.ToString(CultureInfo.InvariantCulture),
            "--memory", options.MemorySize,
            "--index", options.IndexSize,
            "--page", options.PageSize,
            // Series grow by APPEND; a grown record moves to the log's tail, and revivification
            // reuses the space it left instead of letting the log grow without bound.
            "--reviv",
            // Roomba trims atomically with a Lua script.
            "--lua",
            // Debian 12 ships libaio.so.1t64-less images; the managed device needs no native library.
            "--device-type", "RandomAccess",
            "--logger-level", "Warning",
            "-q",
        };
        if (options.Persist)
        {
            args.AddRange(
            [
                "--storage-tier",
                "--logdir", Path.Combine(dataDirectory, "log"),
                "--checkpointdir", Path.Combine(dataDirectory, "checkpoints"),
                "--recover",
                "--aof",
                "--aof-commit-freq", options.AofCommitMilliseconds.ToString(CultureInfo.InvariantCulture),
            ]);
            if (options.CheckpointIntervalSeconds > 0)
            {
                args.AddRange(["--checkpoint-freq", options.CheckpointIntervalSeconds.ToString(CultureInfo.InvariantCulture)]);
            }
        }
        return args;
    }

    /// <summary>Starts the server; port 0 picks a free loopback port.</summary>
    public static EmbeddedGarnet Start(EmbeddedStoreOptions options, ILoggerFactory? loggerFactory)
    {
        var dataDirectory = Path.GetFullPath(options.DataDirectory);
        Directory.CreateDirectory(dataDirectory);
        var port = options.Port == 0 ? FreePort(options.Bind) : options.Port;
        var server = new GarnetServer([.. Arguments(options, port, dataDirectory)],
            loggerFactory is null ? null : new WarningsOnly(loggerFactory), cleanupDir: false);
        server.Start();
        return new EmbeddedGarnet(server, new IPEndPoint(IPAddress.Parse(options.Bind), port), dataDirectory);
    }

    private static int FreePort(string bind)
    {
        using var probe = new TcpListener(IPAddress.Parse(bind), 0);
        probe.Start();
        var port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        return port;
    }

    /// <summary>Stops the server, keeping its data directory.</summary>
    public void Dispose() => _server.Dispose(deleteDir: false);

    // Garnet reports its recovery and sizing at Information level in detail; Horizon's log keeps
    // only its warnings and errors.
    private sealed class WarningsOnly(ILoggerFactory inner) : ILoggerFactory
    {
        // ArgParser only warns that Garnet's own logging switches are ignored, which is intended.
        public ILogger CreateLogger(string categoryName) => categoryName == "ArgParser"
            ? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance
            : new Filtered(inner.CreateLogger("Garnet." + categoryName));

        public void AddProvider(ILoggerProvider provider) => inner.AddProvider(provider);

        public void Dispose()
        {
        }

        private sealed class Filtered(ILogger logger) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => logger.BeginScope(state);

            public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning && logger.IsEnabled(logLevel);

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                if (IsEnabled(logLevel))
                {
                    logger.Log(logLevel, eventId, state, exception, formatter);
                }
            }
        }
    }
}
