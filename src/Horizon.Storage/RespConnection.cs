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

/// <summary>A minimal RESP2 client for the writer's hot path: APPEND and SADD written into one
/// buffer and sent together, integer and error replies parsed in order without allocating (an
/// error reply allocates its message). Not thread-safe: one flush at a time. Any transport
/// failure, a reply it cannot parse or a round that outlives the timeout closes the socket; the
/// commands left without a reply are reported failed, and the next round reconnects.</summary>
internal sealed class RespConnection(RespEndpoint endpoint) : IDisposable
{
    private static readonly byte[] AppendHeader = "*3\r\n$6\r\nAPPEND\r\n"u8.ToArray();
    private static readonly byte[] Crlf = "\r\n"u8.ToArray();
    private Socket? _socket;
    private byte[] _out = new byte[1 << 16];
    private int _outLength;
    private byte[] _in = new byte[1 << 16];
    private int _inStart;
    private int _inEnd;
    private int _answered;

    /// <summary>One round: APPEND each pending slot's points, then SADD <paramref name="names"/> to
    /// <paramref name="set"/> if given. Fills <paramref name="results"/>; returns the SADD's error.</summary>
    public async Task<Exception?> AppendAsync(FlushUnit u, List<int> pending, byte[] set, List<byte[]>? names, AppendResult[] results)
    {
        _answered = 0;
        using var timeout = new CancellationTokenSource(endpoint.Timeout);
        try
        {
            await EnsureConnectedAsync(timeout.Token);
            _outLength = 0;
            foreach (var s in pending)
            {
                Write(AppendHeader);
                WriteBulk(u.Keys[s].RedisKey);
                WriteBulk(u.Value(s).Span);
            }
            if (names is not null)
            {
                WriteArrayHeader(2 + names.Count);
                WriteBulk("SADD"u8);
                WriteBulk(set);
                foreach (var name in names)
                {
                    WriteBulk(name);
                }
            }
            // Replies are read while the commands are still being written: a store that blocks
            // on a full socket until its replies are read must not deadlock the round.
            var reading = ReadRepliesAsync(results, pending.Count, names is not null, timeout.Token);
            try
            {
                await SendAsync(timeout.Token);
            }
            catch
            {
                Close();
                await reading.AsTask().ContinueWith(static _ => { }, TaskScheduler.Default);
                throw;
            }
            return await reading;
        }
        catch (Exception e)
        {
            Close();
            var error = new RedisConnectionException(ConnectionFailureType.SocketFailure, CommandFlags.None,
                $"Direct connection to {endpoint.EndPoint}: {(e is OperationCanceledException ? $"no reply within {endpoint.Timeout.TotalSeconds:0.#} s" : e.Message)}", e, CommandStatus.Unknown);
            for (var i = _answered; i < pending.Count; i++)
            {
                results[i] = new(0, error);
            }
            return names is null ? null : error;
        }
    }

    public void Dispose() => Close();

    private void Close()
    {
        _socket?.Dispose();
        _socket = null;
    }

    private async Task EnsureConnectedAsync(CancellationToken cancellationToken)
    {
        if (_socket is not null)
        {
            return;
        }
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(endpoint.EndPoint, cancellationToken);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        _socket = socket;
        _inStart = _inEnd = 0;
        _outLength = 0;
        var replies = 0;
        if (endpoint.Password is not null)
        {
            WriteArrayHeader(endpoint.User is null ? 2 : 3);
            WriteBulk("AUTH"u8);
            if (endpoint.User is not null)
            {
                WriteBulk(Encoding.UTF8.GetBytes(endpoint.User));
            }
            WriteBulk(Encoding.UTF8.GetBytes(endpoint.Password));
            replies++;
        }
        if (endpoint.Database != 0)
        {
            WriteArrayHeader(2);
            WriteBulk("SELECT"u8);
            WriteBulk(Encoding.ASCII.GetBytes(endpoint.Database.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            replies++;
        }
        await SendAsync(cancellationToken);
        for (var i = 0; i < replies; i++)
        {
            if (await ReadReplyAsync(cancellationToken) is { } error)
            {
                throw error;
            }
        }
    }

    private async ValueTask<Exception?> ReadRepliesAsync(AppendResult[] results, int appends, bool sadd, CancellationToken cancellationToken)
    {
        while (_answered < appends)
        {
            while (_answered < appends && TryParseReply(out var length, out var error))
            {
                results[_answered++] = new(length, error);
            }
            if (_answered < appends)
            {
                await ReceiveAsync(cancellationToken);
            }
        }
        return sadd ? await ReadReplyAsync(cancellationToken) : null;
    }

    private async ValueTask<Exception?> ReadReplyAsync(CancellationToken cancellationToken)
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
        var received = await _socket!.ReceiveAsync(_in.AsMemory(_inEnd), SocketFlags.None, cancellationToken);
        if (received == 0)
        {
            throw new IOException("The store closed the connection.");
        }
        _inEnd += received;
    }

    private async ValueTask SendAsync(CancellationToken cancellationToken)
    {
        for (var sent = 0; sent < _outLength;)
        {
            sent += await _socket!.SendAsync(_out.AsMemory(sent, _outLength - sent), SocketFlags.None, cancellationToken);
        }
        _outLength = 0;
    }

    private void WriteArrayHeader(int count)
    {
        Reserve(16);
        _out[_outLength++] = (byte)'*';
        WriteNumberLine(count);
    }

    private void WriteBulk(ReadOnlySpan<byte> data)
    {
        Reserve(data.Length + 16);
        _out[_outLength++] = (byte)'$';
        WriteNumberLine(data.Length);
        data.CopyTo(_out.AsSpan(_outLength));
        _outLength += data.Length;
        Write(Crlf);
    }

    private void Write(ReadOnlySpan<byte> data)
    {
        Reserve(data.Length);
        data.CopyTo(_out.AsSpan(_outLength));
        _outLength += data.Length;
    }

    private void WriteNumberLine(int n)
    {
        Utf8Formatter.TryFormat(n, _out.AsSpan(_outLength), out var written);
        _outLength += written;
        _out[_outLength++] = (byte)'\r';
        _out[_outLength++] = (byte)'\n';
    }

    private void Reserve(int bytes)
    {
        if (_outLength + bytes > _out.Length)
        {
            Array.Resize(ref _out, Math.Max(_out.Length * 2, _outLength + bytes));
        }
    }
}
