using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Text;
using Horizon.Core.Logs;
using Horizon.Core.Protocols;

namespace Horizon.Ingest.Logs;

/// <summary>Adds one frame to a <see cref="LogLineSink"/>; false when its block is full (the frame
/// is offered again after the hand-over).</summary>
public delegate bool AddFrame(ReadOnlySpan<byte> frame);

/// <summary>What the log listeners share: each frame parsed into a line of a <see cref="LogBlock"/>,
/// a block handed to the pipeline after every read (or when full; the pipeline's full queue slows
/// the peer), and refusals counted with their reason.</summary>
public sealed class LogLineSink(LogPipeline pipeline, int listener, string? peer, TimeProvider time)
{
    private readonly byte[] _message = new byte[pipeline.Options.MaxLineLength];
    private readonly byte[] _source = new byte[64];
    private LogBlock _block = pipeline.Pool.Rent(listener);
    private long _nowMs = time.GetUtcNow().ToUnixTimeMilliseconds();

    /// <summary>The peer's address as a source name (for lines that name none).</summary>
    public byte[] PeerSource { get; set; } = Encoding.UTF8.GetBytes(PeerName(peer));

    /// <summary>Refreshes the arrival time stamped on lines (once per read).</summary>
    public void Tick() => _nowMs = time.GetUtcNow().ToUnixTimeMilliseconds();

    /// <summary>A syslog frame.</summary>
    public bool AddSyslog(ReadOnlySpan<byte> frame, IPEndPoint? from = null)
    {
        var reject = SyslogMessage.TryParse(frame, out var m);
        if (reject != LogReject.None)
        {
            return Refuse(reject, frame);
        }
        var source = !m.App.IsEmpty ? m.App : !m.Host.IsEmpty ? m.Host : PeerSource;
        return Add(source, m.Message, m.Severity);
    }

    /// <summary>A plain line (severity read from its words later).</summary>
    public bool AddPlain(ReadOnlySpan<byte> line)
    {
        line = line.TrimEnd("\r\0"u8);
        return line.Trim(" \t"u8).IsEmpty || Add(PeerSource, line, LogSeverity.Unknown);
    }

    /// <summary>A JSON line.</summary>
    public bool AddJson(ReadOnlySpan<byte> line)
    {
        if (line.Trim(" \t\r\0"u8).IsEmpty)
        {
            return true;
        }
        var reject = JsonLogLine.TryParse(line, _message, _source, out var length, out var sourceLength, out var severity);
        if (reject != LogReject.None)
        {
            return Refuse(reject, line);
        }
        return Add(sourceLength > 0 ? _source.AsSpan(0, sourceLength) : PeerSource, _message.AsSpan(0, length), severity);
    }

    /// <summary>Counts an over-long line.</summary>
    public bool TooLong(ReadOnlySpan<byte> start) => Refuse(LogReject.TooLong, start);

    /// <summary>Reads <paramref name="input"/> to its end, cutting it into frames with
    /// <paramref name="framer"/> and adding each with <paramref name="add"/>; a full block is handed
    /// over (waiting while the pipeline's queue is full: the sender is slowed, nothing dropped) and
    /// the frame added again. What was read is handed over after every read.</summary>
    public async Task PumpAsync(PipeReader input, IFrameReader framer, AddFrame add)
    {
        while (true)
        {
            var result = await input.ReadAsync();
            var buffer = result.Buffer;
            Tick();
            while (Frames(framer, ref buffer, result.IsCompleted, add))
            {
                await HandOverAsync();
            }
            input.AdvanceTo(result.IsCompleted || result.IsCanceled ? buffer.End : buffer.Start, buffer.End);
            await HandOverAsync();
            if (result.IsCompleted || result.IsCanceled)
            {
                return;
            }
        }
    }

    // Frames and adds lines (at the end of the stream, the last one without its newline too);
    // true when it stopped because the block is full, the frame that did not fit left unread.
    private bool Frames(IFrameReader framer, ref ReadOnlySequence<byte> buffer, bool final, AddFrame add)
    {
        var reader = new SequenceReader<byte>(buffer);
        while (true)
        {
            var before = reader.Position;
            if (!framer.TryRead(ref reader, out var frame, out var tooLong))
            {
                break;
            }
            if (tooLong)
            {
                TooLong(frame);
            }
            else if (!add(frame))
            {
                buffer = buffer.Slice(before);
                return true;
            }
        }
        buffer = buffer.Slice(reader.Position);
        if (final && framer.TryReadFinal(buffer, out var last, out var lastTooLong))
        {
            if (lastTooLong)
            {
                TooLong(last);
            }
            else if (!add(last))
            {
                return true;
            }
            buffer = buffer.Slice(buffer.End);
        }
        return false;
    }

    /// <summary>Hands the lines gathered so far to the pipeline (waiting while its queue is full).</summary>
    public async ValueTask HandOverAsync()
    {
        if (_block.Count > 0)
        {
            await pipeline.SubmitAsync(_block);
            _block = pipeline.Pool.Rent(listener);
        }
    }

    /// <summary>Hands the lines over without waiting (UDP).</summary>
    public void HandOverNow()
    {
        if (_block.Count > 0)
        {
            pipeline.TrySubmit(_block);
            _block = pipeline.Pool.Rent(listener);
        }
    }

    /// <summary>Returns the block when the connection ends.</summary>
    public void Release() => pipeline.Pool.Return(_block);

    private bool Add(ReadOnlySpan<byte> source, ReadOnlySpan<byte> message, LogSeverity severity)
    {
        if (_block.TryAdd(source, message, severity, _nowMs))
        {
            return true;
        }
        // The block is full: the caller hands it over and repeats the line.
        return false;
    }

    private bool Refuse(LogReject reason, ReadOnlySpan<byte> line)
    {
        pipeline.Reject(listener, reason, line, peer);
        return true;
    }

    private static string PeerName(string? peer)
    {
        if (peer is null)
        {
            return "unknown";
        }
        var host = IPEndPoint.TryParse(peer, out var ep) ? ep.Address.ToString() : peer;
        return LogSourceNames.Sanitise(host);
    }
}

/// <summary>Log lines over TCP: syslog (octet-counted or newline frames), plain text or JSON lines.</summary>
public abstract class LogConnectionHandler(IngestServices services, LogPipeline pipeline, int listener)
    : IngestConnectionHandler(services, LogPipeline.Listeners[listener])
{
    /// <inheritdoc />
    protected override async Task RunAsync(PipeReader input, string? peer)
    {
        var sink = new LogLineSink(pipeline, listener, peer, Services.Time);
        try
        {
            await sink.PumpAsync(input, NewFramer(pipeline.Options.MaxLineLength), Adder(sink));
        }
        finally
        {
            await sink.HandOverAsync();
            sink.Release();
        }
    }

    /// <summary>How this listener's stream is cut into lines: newline-ended by default.</summary>
    protected virtual IFrameReader NewFramer(int maxLength) => new LineFramer(maxLength);

    /// <summary>What adds one frame of a connection to its sink.</summary>
    protected abstract AddFrame Adder(LogLineSink sink);
}

/// <summary>Syslog over TCP (5140): octet-counted or newline-ended frames.</summary>
public sealed class SyslogTcpConnectionHandler(IngestServices services, LogPipeline pipeline) : LogConnectionHandler(services, pipeline, 1)
{
    /// <inheritdoc />
    protected override IFrameReader NewFramer(int maxLength) => new SyslogFramer(maxLength);

    /// <inheritdoc />
    protected override AddFrame Adder(LogLineSink sink) => frame => frame.Trim(" \t\r\n\0"u8).IsEmpty || sink.AddSyslog(frame);
}

/// <summary>Plain lines over TCP (5141); a first line <c>source=&lt;name&gt;</c> names the source.</summary>
public sealed class PlainLogConnectionHandler(IngestServices services, LogPipeline pipeline) : LogConnectionHandler(services, pipeline, 2)
{
    /// <inheritdoc />
    protected override AddFrame Adder(LogLineSink sink)
    {
        var first = true;
        return frame =>
        {
            if (first)
            {
                first = false;
                if (frame.StartsWith("source="u8))
                {
                    var name = frame["source="u8.Length..].Trim(" \t\r"u8);
                    Span<char> chars = stackalloc char[64];
                    var n = LogSourceNames.Sanitise(name, chars);
                    if (n > 0)
                    {
                        sink.PeerSource = Encoding.UTF8.GetBytes(chars[..n].ToString());
                        return true;
                    }
                }
            }
            return sink.AddPlain(frame);
        };
    }
}

/// <summary>JSON lines over TCP (5142).</summary>
public sealed class JsonLogConnectionHandler(IngestServices services, LogPipeline pipeline) : LogConnectionHandler(services, pipeline, 3)
{
    /// <inheritdoc />
    protected override AddFrame Adder(LogLineSink sink) => sink.AddJson;
}

/// <summary>Syslog datagrams (UDP 5140): one message each; lines are handed over when the socket
/// has nothing more queued, dropped and counted when the pipeline's queue is full.</summary>
public sealed class SyslogDatagramHandler(LogPipeline pipeline, TimeProvider time) : IDatagramHandler
{
    private readonly LogLineSink _sink = new(pipeline, 0, null, time);

    /// <inheritdoc />
    public void Handle(ReadOnlySpan<byte> datagram, System.Net.SocketAddress peer)
    {
        _sink.Tick();
        if (!_sink.AddSyslog(datagram))
        {
            _sink.HandOverNow();
            _sink.AddSyslog(datagram);
        }
    }

    /// <inheritdoc />
    public void Flush() => _sink.HandOverNow();
}
