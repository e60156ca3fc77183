using System.Buffers;
using System.Buffers.Text;
using System.Net;
using System.Net.Sockets;
using System.Text;
using StackExchange.Redis;

namespace Horizon.Storage;

/// <summary>Where and as whom a <see cref="RespConnection"/> connects: taken from the same
/// connection string the multiplexer uses.</summary>
internal sealed record RespEndpoint(EndPoint EndPoint, string? User, string? Password, int Database, TimeSpan Timeout)
{
    /// <summary>The endpoint of a single plain-TCP store, or null when the configuration names several
    /// nodes, TLS or a proxy: those stay with the multiplexer.</summary>
    public static RespEndpoint? From(ConfigurationOptions options)
    {
        if (options.EndPoints.Count != 1 || options.Ssl || options.Proxy != Proxy.None || options.Tunnel is not null)
        {
            return null;
        }
        var endPoint = options.EndPoints[0] switch
        {
            DnsEndPoint { Port: 0 } dns => new DnsEndPoint(dns.Host, 6379),
            IPEndPoint { Port: 0 } ip => new IPEndPoint(ip.Address, 6379),
            var e => e,
        };
        return new RespEndpoint(endPoint, options.User, options.Password, options.DefaultDatabase ?? 0,
            TimeSpan.FromMilliseconds(options.AsyncTimeout));
    }
}

/// <summary>A minimal RESP2 client for the writer's hot path, over one connection: each round (a
/// flush's SADD and APPENDs) is encoded into its own buffer, written after the rounds before it and
/// its replies read after theirs, so several rounds are in flight while the store sees the
/// commands in the order they were sent. Integer, status and error replies are parsed without
/// allocating (an error reply allocates its message). A transport failure, a reply it cannot
/// parse or a round that outlives the timeout closes the connection: the commands of every round
/// on it left without a reply are reported failed (and possibly applied), and the connection halts:
/// rounds queued before <see cref="Resume"/> fail unsent, so none of them reaches the store on a new
/// connection ahead of the failed one's resend.</summary>
internal sealed class RespConnection(RespEndpoint endpoint) : IDisposable
{
    private static readonly byte[] AppendHeader = "*3\r\n$6\r\nAPPEND\r\n"u8.ToArray();
    private static readonly byte[] Crlf = "\r\n"u8.ToArray();
    private readonly Lock _order = new();
    private Task _written = Task.CompletedTask;
    private Task _read = Task.CompletedTask;
    private Link? _link; // touched only by the round whose turn it is to write
    private volatile bool _disposed;
    // Bumped (under _order) by every failure and every Resume: a round may be written only in the
    // epoch it was queued in, and only while the connection is not halted.
    private long _epoch;
    private bool _halted;

    /// <summary>Lets rounds queued from now on be sent again after a failure halted the connection.</summary>
    public void Resume()
    {
        lock (_order)
        {
            _halted = false;
            _epoch++;
        }
    }

    /// <summary>One round: SADD each group of <paramref name="names"/> to its set if given, then
    /// APPEND each pending slot's points. Fills <paramref name="results"/>; returns the first
    /// SADD's error.</summary>
    public async Task<Exception?> AppendAsync(FlushUnit u, List<int> pending, List<(string Set, List<byte[]> Keys)>? names, AppendResult[] results)
    {
        using var round = new Round(pending.Count, names?.Count ?? 0, results);
        // The SADDs go first: a crash between them and the APPENDs can leave a name without points
        // (harmless), never points without their name.
        foreach (var (set, keys) in names ?? [])
        {
            round.Command.WriteArrayHeader(2 + keys.Count);
            round.Command.WriteBulk("SADD"u8);
            round.Command.WriteBulk(System.Text.Encoding.UTF8.GetBytes(set));
            foreach (var key in keys)
            {
                round.Command.WriteBulk(key);
            }
        }
        foreach (var s in pending)
        {
            round.Command.Write(AppendHeader);
            round.Command.WriteBulk(u.Keys[s].RedisKey);
            round.Command.WriteBulk(u.Value(s).Span);
        }
        // Both turns are taken before the first await: rounds go out, and are answered, in the
        // order the writer sent them.
        var written = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var read = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Task writeTurn, readTurn;
        long epoch;
        lock (_order)
        {
            (writeTurn, _written) = (_written, written.Task);
            (readTurn, _read) = (_read, read.Task);
            epoch = _epoch;
        }
        using var timeout = new CancellationTokenSource(endpoint.Timeout);
        Link? link = null;
        try
        {
            try
            {
                await writeTurn;
                lock (_order)
                {
                    if (_halted || epoch != _epoch)
                    {
                        round.Refused = true;
                    }
                }
                if (!round.Refused)
                {
                    link = await ConnectedAsync(timeout.Token);
                    round.Sent = true;
                    await link.SendAsync(round.Command, timeout.Token);
                }
            }
            finally
            {
                written.SetResult();
            }
            if (round.Refused)
            {
                var halted = Halted.Error();
                Array.Fill(results, new AppendResult(0, halted));
                return names is null ? null : halted;
            }
            await readTurn;
            var saddError = await link!.ReadRepliesAsync(round, timeout.Token);
            // A transient refusal (LOADING, BUSY, OOM) halts like a lost connection: the rounds
            // written after this one may already be applied, but none queued from now on is sent
            // before the writer resends this one.
            if (StoreErrors.IsRetried(saddError) || results.Any(r => StoreErrors.IsRetried(r.Error)))
            {
                lock (_order)
                {
                    _halted = true;
                    _epoch++;
                }
            }
            return saddError;
        }
        catch (Exception e)
        {
            link?.Close();
            lock (_order)
            {
                _halted = true;
                _epoch++;
            }
            var error = new RedisConnectionException(ConnectionFailureType.SocketFailure, CommandFlags.None,
                $"Direct connection to {endpoint.EndPoint}: {(e is OperationCanceledException ? $"no reply within {endpoint.Timeout.TotalSeconds:0.#} s" : e.Message)}", e, CommandStatus.Unknown);
            // Commands written without a reply may have been applied; the writer checks before resending.
            for (var i = round.AppendsAnswered; i < pending.Count; i++)
            {
                results[i] = new(0, error, round.Sent);
            }
            return names is null ? null : round.SaddAnswered ? round.SaddError : error;
        }
        finally
        {
            // Even a round that failed before reading waits for its turn, so that no two rounds
            // ever read from one connection at once.
            await readTurn;
            read.SetResult();
        }
    }

    /// <summary>Closes the connection once the rounds already queued are done.</summary>
    public void Dispose()
    {
        _disposed = true;
        Task last;
        lock (_order)
        {
            last = _read;
        }
        last.ContinueWith(_ => _link?.Close(), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    // The open link, or a new one (authenticated and on the configured database).
    private async Task<Link> ConnectedAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_link is { Closed: false })
        {
            return _link;
        }
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        var link = new Link(socket);
        try
        {
            await socket.ConnectAsync(endpoint.EndPoint, cancellationToken);
            using var hello = new CommandBuffer();
            var replies = 0;
            if (endpoint.Password is not null)
            {
                hello.WriteArrayHeader(endpoint.User is null ? 2 : 3);
                hello.WriteBulk("AUTH"u8);
                if (endpoint.User is not null)
                {
                    hello.WriteBulk(Encoding.UTF8.GetBytes(endpoint.User));
                }
                hello.WriteBulk(Encoding.UTF8.GetBytes(endpoint.Password));
                replies++;
            }
            if (endpoint.Database != 0)
            {
                hello.WriteArrayHeader(2);
                hello.WriteBulk("SELECT"u8);
                hello.WriteBulk(Encoding.ASCII.GetBytes(endpoint.Database.ToString(System.Globalization.CultureInfo.InvariantCulture)));
                replies++;
            }
            await link.SendAsync(hello, cancellationToken);
            for (var i = 0; i < replies; i++)
            {
                if (await link.ReadReplyAsync(cancellationToken) is { } error)
                {
                    throw error;
                }
            }
        }
        catch
        {
            link.Close();
            throw;
        }
        _link = link;
        return link;
    }

    /// <summary>A round's encoded commands and what its replies are read into.</summary>
    private sealed class Round(int appends, int sadds, AppendResult[] results) : IDisposable
    {
        public readonly CommandBuffer Command = new();
        public readonly int Appends = appends;
        public readonly int Sadds = sadds;
        public readonly AppendResult[] Results = results;
        public bool SaddAnswered;
        public Exception? SaddError;
        public int AppendsAnswered;
        public bool Refused;
        public bool Sent;

        public void Dispose() => Command.Dispose();
    }

    /// <summary>One socket and its receive buffer.</summary>
    private sealed class Link(Socket socket)
    {
        private byte[] _in = new byte[1 << 16];
        private int _inStart;
        private int _inEnd;

        public bool Closed { get; private set; }

        public void Close()
        {
            Closed = true;
            socket.Dispose();
        }

        public async ValueTask SendAsync(CommandBuffer command, CancellationToken cancellationToken)
        {
            for (var sent = 0; sent < command.Length;)
            {
                sent += await socket.SendAsync(command.Written[sent..], SocketFlags.None, cancellationToken);
            }
        }

        public async ValueTask<Exception?> ReadRepliesAsync(Round round, CancellationToken cancellationToken)
        {
            ObjectDisposedException.ThrowIf(Closed, socket);
            for (var i = 0; i < round.Sadds; i++)
            {
                var reply = await ReadReplyAsync(cancellationToken); // every reply read, the first error kept
                round.SaddError ??= reply;
            }
            round.SaddAnswered = true;
            while (round.AppendsAnswered < round.Appends)
            {
                while (round.AppendsAnswered < round.Appends && TryParseReply(out var length, out var error))
                {
                    round.Results[round.AppendsAnswered++] = new(length, error);
                }
                if (round.AppendsAnswered < round.Appends)
                {
                    await ReceiveAsync(cancellationToken);
                }
            }
            return round.SaddError;
        }

        public async ValueTask<Exception?> ReadReplyAsync(CancellationToken cancellationToken)
        {
            Exception? error;
            while (!TryParseReply(out _, out error))
            {
                await ReceiveAsync(cancellationToken);
            }
            return error;
        }

        // One reply from the receive buffer: an integer (":42"), a status ("+OK", read as 0) or an
        // error ("-ERR ..."). False when the buffer does not hold a whole reply yet.
        private bool TryParseReply(out long value, out Exception? error)
        {
            value = 0;
            error = null;
            var buffered = _in.AsSpan(_inStart, _inEnd - _inStart);
            var end = buffered.IndexOf(Crlf);
            if (end < 0)
            {
                return false;
            }
            var line = buffered[1..end];
            switch (buffered[0])
            {
                case (byte)':':
                    if (!Utf8Parser.TryParse(line, out value, out var consumed) || consumed != line.Length)
                    {
                        throw new InvalidDataException("The store sent an integer reply that does not parse.");
                    }
                    break;
                case (byte)'+':
                    break;
                case (byte)'-':
                    error = new RedisServerException(RedisErrorKind.Unknown, CommandFlags.None, Encoding.UTF8.GetString(line));
                    break;
                default:
                    throw new InvalidDataException($"The store sent an unexpected reply type '{(char)buffered[0]}'.");
            }
            _inStart += end + 2;
            return true;
        }

        private async ValueTask ReceiveAsync(CancellationToken cancellationToken)
        {
            if (_inStart > 0)
            {
                _in.AsSpan(_inStart, _inEnd - _inStart).CopyTo(_in);
                _inEnd -= _inStart;
                _inStart = 0;
            }
            if (_inEnd == _in.Length)
            {
                Array.Resize(ref _in, _in.Length * 2); // a reply longer than the buffer (a long error message)
            }
            var received = await socket.ReceiveAsync(_in.AsMemory(_inEnd), SocketFlags.None, cancellationToken);
            if (received == 0)
            {
                throw new IOException("The store closed the connection.");
            }
            _inEnd += received;
        }
    }

    /// <summary>RESP commands encoded into one growing buffer, rented from the shared pool (a flush
    /// of 16k points is about a megabyte: allocated afresh, every flush would be large-object garbage).</summary>
    private sealed class CommandBuffer : IDisposable
    {
        private byte[] _bytes = ArrayPool<byte>.Shared.Rent(1 << 12);

        public int Length { get; private set; }

        public ReadOnlyMemory<byte> Written => _bytes.AsMemory(0, Length);

        public void WriteArrayHeader(int count)
        {
            Reserve(16);
            _bytes[Length++] = (byte)'*';
            WriteNumberLine(count);
        }

        public void WriteBulk(ReadOnlySpan<byte> data)
        {
            Reserve(data.Length + 16);
            _bytes[Length++] = (byte)'$';
            WriteNumberLine(data.Length);
            Write(data);
            Write(Crlf);
        }

        public void Write(ReadOnlySpan<byte> data)
        {
            Reserve(data.Length);
            data.CopyTo(_bytes.AsSpan(Length));
            Length += data.Length;
        }

        private void WriteNumberLine(int n)
        {
            Utf8Formatter.TryFormat(n, _bytes.AsSpan(Length), out var written);
            Length += written;
            _bytes[Length++] = (byte)'\r';
            _bytes[Length++] = (byte)'\n';
        }

        private void Reserve(int bytes)
        {
            if (Length + bytes > _bytes.Length)
            {
                var larger = ArrayPool<byte>.Shared.Rent(Math.Max(_bytes.Length * 2, Length + bytes));
                _bytes.AsSpan(0, Length).CopyTo(larger);
                ArrayPool<byte>.Shared.Return(_bytes);
                _bytes = larger;
            }
        }

        public void Dispose()
        {
            ArrayPool<byte>.Shared.Return(_bytes);
            _bytes = [];
        }
    }
}
