using System.Diagnostics;
using Horizon.Core;
using Horizon.Core.Series;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Horizon.Storage;

/// <summary>The connection to the store, embedded or external. Created once at start-up; the
/// embedded server, if any, lives as long as this object.</summary>
public sealed partial class StoreConnection : IAsyncDisposable
{
    private readonly EmbeddedGarnet? _embedded;
    private readonly ILogger _logger;

    private StoreConnection(ConnectionMultiplexer multiplexer, ConfigurationOptions configuration, EmbeddedGarnet? embedded, string description, ILogger logger, DiskGuard? diskGuard = null)
    {
        DiskGuard = diskGuard;
        Multiplexer = multiplexer;
        Configuration = configuration;
        _embedded = embedded;
        Description = description;
        _logger = logger;
        Database = multiplexer.GetDatabase();
        multiplexer.ConnectionFailed += (_, e) => Log.ConnectionLost(_logger, e.EndPoint?.ToString() ?? "?", e.FailureType.ToString(), e.Exception?.Message ?? "");
        multiplexer.ConnectionRestored += (_, e) => Log.ConnectionRestored(_logger, e.EndPoint?.ToString() ?? "?");
    }

    /// <summary>The StackExchange.Redis multiplexer (pipelines every call on one socket per node).</summary>
    public ConnectionMultiplexer Multiplexer { get; }

    /// <summary>The options the multiplexer was connected with (endpoints, credentials, timeouts).</summary>
    public ConfigurationOptions Configuration { get; }

    /// <summary>Database 0.</summary>
    public IDatabase Database { get; }

    /// <summary>"embedded Garnet at 127.0.0.1:6389 (data: ...)" or the external endpoints.</summary>
    public string Description { get; }

    /// <summary>The embedded server, when there is one.</summary>
    public EmbeddedGarnet? Embedded => _embedded;

    /// <summary>The free-space guard of the embedded store's disk (null for an external store, or
    /// when the embedded one does not persist).</summary>
    public DiskGuard? DiskGuard { get; }

    /// <summary>Connection options Horizon uses for every store: fail fast while disconnected
    /// (the writer buffers and retries itself, boundedly) and keep reconnecting forever.</summary>
    public static ConfigurationOptions Configure(string connectionString)
    {
        var options = ConfigurationOptions.Parse(connectionString);
        options.AbortOnConnectFail = false;
        options.BacklogPolicy = BacklogPolicy.FailFast;
        options.ConnectRetry = 3;
        options.ConnectTimeout = Math.Max(options.ConnectTimeout, 5000);
        options.AsyncTimeout = Math.Max(options.AsyncTimeout, 10000);
        options.ReconnectRetryPolicy = new ExponentialRetry(250, 5000);
        options.ClientName ??= "horizon";
        return options;
    }

    /// <summary>Starts the embedded store if needed and connects. With an external store that is
    /// down, this returns at once and the multiplexer keeps trying in the background.</summary>
    public static StoreConnection Open(StoreOptions options, ILoggerFactory loggerFactory, NameIndex? names = null)
    {
        names ??= new NameIndex(StoreKeys.DefaultNamespace, NameIndexMode.Skyline);
        var logger = loggerFactory.CreateLogger<StoreConnection>();
        var started = Stopwatch.GetTimestamp();
        if (!options.UsesEmbedded)
        {
            var configuration = Configure(options.Redis!);
            var mux = ConnectionMultiplexer.Connect(configuration);
            var external = new StoreConnection(mux, configuration, null, $"Redis at {options.Redis}", logger) { Names = names };
            Log.Connected(logger, external.Description);
            external.CountSeries(started);
            return external;
        }
        var embedded = EmbeddedGarnet.Start(options.Embedded, loggerFactory);
        try
        {
            var configuration = Configure(embedded.EndPoint.ToString());
            configuration.AllowAdmin = true; // SAVE at shutdown
            var mux = ConnectionMultiplexer.Connect(configuration);
            var guard = options.Embedded is { Persist: true, DiskReserveBytes: > 0 }
                ? new DiskGuard(embedded.DataDirectory, options.Embedded.DiskReserveBytes, TimeSpan.FromMilliseconds(250), logger)
                : null;
            var connection = new StoreConnection(mux, configuration, embedded,
                $"embedded Garnet at {embedded.EndPoint} (data in {embedded.DataDirectory})", logger, guard) { Names = names };
            Log.Connected(logger, connection.Description);
            connection.CountSeries(started);
            return connection;
        }
        catch
        {
            embedded.Dispose();
            throw;
        }
    }

    /// <summary>Series in the unique set when Horizon started (what the embedded store recovered
    /// from its data directory, or what the external store held); null if it could not be read.</summary>
    public long? SeriesAtStart { get; private set; }

    /// <summary>Seconds from opening to the store answering (for the embedded store: its recovery).</summary>
    public double SecondsToReady { get; private set; }

    /// <summary>Where series names are indexed (<c>Series:NameIndex</c>).</summary>
    public NameIndex Names { get; private init; } = new(StoreKeys.DefaultNamespace, NameIndexMode.Skyline);

    /// <summary>Every series key in the name index, set after set (SSCAN: a page at a time).</summary>
    public async IAsyncEnumerable<RedisValue> ScanNamesAsync(RedisValue pattern = default, int pageSize = 1000,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        foreach (var set in Names.ReadSets)
        {
            await foreach (var member in Database.SetScanAsync(set, pattern, pageSize).WithCancellation(cancellationToken))
            {
                yield return member;
            }
        }
    }

    private void CountSeries(long started)
    {
        try
        {
            SeriesAtStart = Names.ReadSets.Sum(set => Database.SetLength(set));
            SecondsToReady = Stopwatch.GetElapsedTime(started).TotalSeconds;
            var where = Names.Mode == NameIndexMode.Skyline ? Names.Unique : $"{NameIndex.Parts} sets horizon.names.*";
            Log.Ready(_logger, SecondsToReady, SeriesAtStart.Value, where, _embedded is null ? "held" : "recovered");
            if (Names.Mode == NameIndexMode.Skyline && Multiplexer.GetServers().Any(s => s.ServerType == ServerType.Cluster))
            {
                Log.OneSetOnACluster(_logger, Names.Unique);
            }
            // The first process on a store marks its index; one configured otherwise says so.
            var stored = (string?)Database.StringGet(Names.Mark);
            if (stored is null)
            {
                Database.StringSet(Names.Mark, Names.ModeName, when: When.NotExists);
            }
            else if (stored != Names.ModeName)
            {
                Log.OtherNameIndex(_logger, stored, Names.Mark, Names.ModeName);
            }
        }
        catch (RedisException e)
        {
            Log.NotReadyYet(_logger, e.Message);
        }
    }

    /// <summary>Closes the connection; the embedded store takes a checkpoint and stops.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_embedded is not null && Multiplexer.IsConnected)
        {
            try
            {
                // A checkpoint at shutdown makes the next start recover without replaying the log.
                await Database.ExecuteAsync("SAVE").WaitAsync(TimeSpan.FromSeconds(30));
            }
            catch (Exception e)
            {
                // Shutdown goes on: the append-only log still holds everything.
                Log.CheckpointFailed(_logger, e.Message);
            }
        }
        await Multiplexer.CloseAsync();
        await Multiplexer.DisposeAsync();
        DiskGuard?.Dispose();
        _embedded?.Dispose();
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 100, Level = LogLevel.Information, Message = "Store: {Description}")]
        public static partial void Connected(ILogger logger, string description);

        [LoggerMessage(EventId = 104, Level = LogLevel.Information, Message = "Store ready in {Seconds:F1} s: {Series} series {How} ({Key})")]
        public static partial void Ready(ILogger logger, double seconds, long series, string key, string how);

        [LoggerMessage(EventId = 105, Level = LogLevel.Warning, Message = "Store not answering yet ({Reason}); points are buffered until it does")]
        public static partial void NotReadyYet(ILogger logger, string reason);

        [LoggerMessage(EventId = 107, Level = LogLevel.Warning, Message = "The store's names are indexed as {Stored} ({Mark}) but this process uses Series:NameIndex={Mine}: it will not see names the others index, nor they its; set the same on every process (README, Redis layout: a process that runs Roomba moves the store to its setting)")]
        public static partial void OtherNameIndex(ILogger logger, string stored, string mark, string mine);

        [LoggerMessage(EventId = 106, Level = LogLevel.Warning, Message = "The store is a Redis Cluster and every name is in one set ({Key}) on one node: set Series:NameIndex=Split (or Both, to keep that set for Skyline-era tools) on every Horizon process")]
        public static partial void OneSetOnACluster(ILogger logger, string key);

        [LoggerMessage(EventId = 101, Level = LogLevel.Warning, Message = "Lost the store connection to {EndPoint} ({FailureType}): {Reason}; reconnecting, points are buffered meanwhile")]
        public static partial void ConnectionLost(ILogger logger, string endPoint, string failureType, string reason);

        [LoggerMessage(EventId = 102, Level = LogLevel.Information, Message = "Store connection to {EndPoint} restored")]
        public static partial void ConnectionRestored(ILogger logger, string endPoint);

        [LoggerMessage(EventId = 103, Level = LogLevel.Warning, Message = "Checkpoint of the embedded store at shutdown failed: {Reason}")]
        public static partial void CheckpointFailed(ILogger logger, string reason);
    }
}
