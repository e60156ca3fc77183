using Horizon.Core.Series;
using StackExchange.Redis;

namespace Horizon.Storage;

/// <summary>The outcome of one APPEND: the string's new length, or why it failed. A failed command
/// that <see cref="MaybeApplied"/> was sent and left without a reply (the connection broke or
/// timed out), so the store may have applied it; one that was refused or never sent was not.</summary>
internal readonly record struct AppendResult(long Length, Exception? Error = null, bool MaybeApplied = false);

/// <summary>How a flush reaches the store: one pipelined round of a SADD of new names and the
/// APPENDs, queued (its place in the store's order fixed) before the first await of
/// <see cref="SendAsync"/>. After a command fails to be retried (no connection, no reply, a
/// transient refusal), a transport halts: every round it is given fails unsent until
/// <see cref="Resume"/>, so that no newer flush overtakes the one that failed (the writer resends
/// failed flushes oldest first, then resumes the rest).</summary>
internal interface IFlushTransport : IDisposable
{
    /// <summary>Adds <paramref name="names"/> (when not null) to the name index's sets, then APPENDs
    /// the points of each slot in <paramref name="pending"/> to its key: a name is in the set before
    /// any point of its key is stored. Sets <c>results[i]</c> for <c>pending[i]</c>; returns the
    /// error of a SADD that failed, if one did (all of them are then sent again).</summary>
    Task<Exception?> SendAsync(FlushUnit u, List<int> pending, List<byte[]>? names, AppendResult[] results);

    /// <summary>Accepts rounds again after a failure halted the transport.</summary>
    void Resume();
}

/// <summary>How a store error is read: for good, to retry, or a key of another type.</summary>
public static class StoreErrors
{
    /// <summary>A command the store will refuse however often it is sent (the key holds another
    /// type, or the string reached Redis's size limit): retrying would wedge the writer.</summary>
    public static bool IsPermanent(Exception e) =>
        e is RedisServerException server &&
        (server.Message.StartsWith("WRONGTYPE", StringComparison.Ordinal) ||
         server.Message.Contains("maximum allowed size", StringComparison.OrdinalIgnoreCase));

    /// <summary>An error to resend after (a lost connection, a timeout, or a transient refusal such
    /// as LOADING, BUSY or OOM): the transport halts, so no newer round overtakes it.</summary>
    public static bool IsRetried(Exception? e) => e is not null && !IsPermanent(e);

    /// <summary>The key holds another type: no series.</summary>
    public static bool IsWrongType(Exception e) =>
        e is RedisServerException && e.Message.StartsWith("WRONGTYPE", StringComparison.Ordinal);
}

/// <summary>The error of a round that a halted transport did not send.</summary>
internal static class Halted
{
    public static RedisConnectionException Error() =>
        new(ConnectionFailureType.UnableToConnect, CommandFlags.None, "Not sent: an earlier write failed and is resent first.", null, CommandStatus.WaitingToBeSent);
}

/// <summary>Sends flushes through StackExchange.Redis: a message and a task per command, routed to
/// the node that owns each key, so it works on Redis Cluster.</summary>
internal sealed class MultiplexerTransport(IDatabase database, NameIndex index) : IFlushTransport
{
    private volatile bool _halted;

    public async Task<Exception?> SendAsync(FlushUnit u, List<int> pending, List<byte[]>? names, AppendResult[] results)
    {
        if (_halted)
        {
            var halted = Halted.Error();
            Array.Fill(results, new AppendResult(0, halted));
            return names is null ? null : halted;
        }
        // Issued in this order on each node's connection: the SADDs before the APPENDs they cover.
        Task? sadd = names is null ? null
            : Task.WhenAll(index.Group(names).Select(g => database.SetAddAsync(g.Set, g.Keys.Select(n => (RedisValue)n).ToArray())));
        var appends = new Task<long>[pending.Count];
        for (var i = 0; i < pending.Count; i++)
        {
            var s = pending[i];
            appends[i] = database.StringAppendAsync(u.Keys[s].RedisKey, u.Value(s));
        }
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
            if (appends[i].IsCompletedSuccessfully)
            {
                results[i] = new(appends[i].Result);
                continue;
            }
            var error = Failure(appends[i]);
            // An error reply means the store refused the command; anything else (a lost
            // connection, a timeout) leaves it unknown whether the store applied it.
            _halted |= StoreErrors.IsRetried(error);
            results[i] = new(0, error, error is not RedisServerException);
        }
        if (sadd is null || sadd.IsCompletedSuccessfully)
        {
            return null;
        }
        var saddError = Failure(sadd);
        _halted |= StoreErrors.IsRetried(saddError);
        return saddError;
    }

    public void Resume() => _halted = false;

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
internal sealed class DirectTransport(RespEndpoint endpoint, NameIndex index) : IFlushTransport
{
    private readonly RespConnection _connection = new(endpoint);

    /// <summary>Set once the store answered MOVED or ASK: it is a cluster node, and flushes must
    /// go through the multiplexer, which routes keys to their owners.</summary>
    public bool ClusterDetected { get; private set; }

    public async Task<Exception?> SendAsync(FlushUnit u, List<int> pending, List<byte[]>? names, AppendResult[] results)
    {
        var saddError = await _connection.AppendAsync(u, pending, names is null ? null : index.Group(names), results);
        for (var i = 0; i < pending.Count && !ClusterDetected; i++)
        {
            ClusterDetected = results[i].Error is RedisServerException e && IsRedirect(e.Message);
        }
        return saddError;
    }

    public void Resume() => _connection.Resume();

    private static bool IsRedirect(string message) =>
        message.StartsWith("MOVED ", StringComparison.Ordinal) || message.StartsWith("ASK ", StringComparison.Ordinal);

    public void Dispose() => _connection.Dispose();
}

/// <summary>Starts on Horizon's own connection and moves to the multiplexer for good once the store
/// turns out to be a cluster node (it answered MOVED): redirected keys then go to their owners.</summary>
internal sealed class ClusterFallbackTransport(DirectTransport direct, Func<MultiplexerTransport> multiplexer, Action switched) : IFlushTransport
{
    private IFlushTransport _current = direct;

    /// <summary>True until the store was found to be a cluster node.</summary>
    public bool UsesDirect => Volatile.Read(ref _current) == direct;

    public async Task<Exception?> SendAsync(FlushUnit u, List<int> pending, List<byte[]>? names, AppendResult[] results)
    {
        var current = Volatile.Read(ref _current);
        var saddError = await current.SendAsync(u, pending, names, results);
        if (current == direct && direct.ClusterDetected && Interlocked.CompareExchange(ref _current, multiplexer(), direct) == direct)
        {
            direct.Dispose();
            switched();
        }
        return saddError;
    }

    public void Resume() => Volatile.Read(ref _current).Resume();

    public void Dispose() => Volatile.Read(ref _current).Dispose();
}
