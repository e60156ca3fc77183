using StackExchange.Redis;

namespace Horizon.Storage;

/// <summary>The outcome of one APPEND: the string's new length, or why it failed.</summary>
internal readonly record struct AppendResult(long Length, Exception? Error = null);

/// <summary>How a flush reaches the store: one pipelined round of APPENDs (and a SADD of new names).</summary>
internal interface IFlushTransport : IDisposable
{
    /// <summary>APPENDs the points of each slot in <paramref name="pending"/> to its key and, when
    /// <paramref name="names"/> is not null, adds them to the unique-metrics set. Sets
    /// <c>results[i]</c> for <c>pending[i]</c>; returns the SADD's error, if it failed.</summary>
    Task<Exception?> SendAsync(FlushUnit u, List<int> pending, List<byte[]>? names, AppendResult[] results);
}

/// <summary>Sends flushes through StackExchange.Redis: a message and a task per command, routed to
/// the node that owns each key, so it works on Redis Cluster.</summary>
internal sealed class MultiplexerTransport(IDatabase database, byte[] uniqueSet) : IFlushTransport
{
    public async Task<Exception?> SendAsync(FlushUnit u, List<int> pending, List<byte[]>? names, AppendResult[] results)
    {
        var appends = new Task<long>[pending.Count];
        for (var i = 0; i < pending.Count; i++)
        {
            var s = pending[i];
            appends[i] = database.StringAppendAsync(u.Keys[s].RedisKey, u.Value(s));
        }
        var sadd = names is null ? null : database.SetAddAsync(uniqueSet, names.Select(n => (RedisValue)n).ToArray());
        try
        {
            await (sadd is null ? Task.WhenAll(appends) : Task.WhenAll(Task.WhenAll(appends), sadd));
        }
        catch (Exception)
        {
            // Inspected one by one below.
        }
        for (var i = 0; i < appends.Length; i++)
        {
            results[i] = appends[i].IsCompletedSuccessfully ? new(appends[i].Result) : new(0, Failure(appends[i]));
        }
        return sadd is null || sadd.IsCompletedSuccessfully ? null : Failure(sadd);
    }

    private static Exception Failure(Task task) =>
        task.Exception?.GetBaseException() ?? new TaskCanceledException("The store command was cancelled.");

    public void Dispose()
    {
    }
}

/// <summary>Sends flushes over Horizon's own RESP connection to a single (non-cluster) store: each
/// flush is written as one buffer of commands and its replies are parsed in order, with no
/// per-command object. One connection, pipelined: the APPENDs of a key reach the store in the
/// order its points were accepted.</summary>
internal sealed class DirectTransport(RespEndpoint endpoint, byte[] uniqueSet) : IFlushTransport
{
    private readonly RespConnection _connection = new(endpoint);

    /// <summary>Set once the store answered MOVED or ASK: it is a cluster node, and flushes must
    /// go through the multiplexer, which routes keys to their owners.</summary>
    public bool ClusterDetected { get; private set; }

    public async Task<Exception?> SendAsync(FlushUnit u, List<int> pending, List<byte[]>? names, AppendResult[] results)
    {
        var saddError = await _connection.AppendAsync(u, pending, uniqueSet, names, results);
        for (var i = 0; i < pending.Count && !ClusterDetected; i++)
        {
            ClusterDetected = results[i].Error is RedisServerException e && IsRedirect(e.Message);
        }
        return saddError;
    }

    private static bool IsRedirect(string message) =>
        message.StartsWith("MOVED ", StringComparison.Ordinal) || message.StartsWith("ASK ", StringComparison.Ordinal);

    public void Dispose() => _connection.Dispose();
}
