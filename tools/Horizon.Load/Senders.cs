using System.Buffers;
using System.Buffers.Binary;
using System.Buffers.Text;
using System.Net;
using System.Net.Sockets;
using MessagePack;

namespace Horizon.Load;

/// <summary>A point to send: metric index, timestamp, value.</summary>
public readonly record struct LoadPoint(int Metric, long Timestamp, double Value);

/// <summary>One connection (or UDP socket) speaking one protocol.</summary>
public abstract class Sender : IAsyncDisposable
{
    /// <summary>Names of the metrics, as UTF-8, by index.</summary>
    protected byte[][] Names { get; }

    /// <summary>Bytes written so far.</summary>
    public long BytesSent { get; protected set; }

    /// <summary>Datagrams the socket refused to send (UDP only).</summary>
    public long SendErrors { get; protected set; }

    protected Sender(byte[][] names) => Names = names;

    /// <summary>Sends the points and returns when they are handed to the kernel.</summary>
    public abstract ValueTask SendAsync(ReadOnlyMemory<LoadPoint> points);

    /// <inheritdoc />
    public abstract ValueTask DisposeAsync();

    /// <summary>Opens a sender.</summary>
    public static async Task<Sender> OpenAsync(Protocol protocol, IPEndPoint target, byte[][] names) => protocol switch
    {
        Protocol.Plaintext => await TcpSender.ConnectAsync(target, names, TcpFormat.Plaintext),
        Protocol.StatsdTcp => await TcpSender.ConnectAsync(target, names, TcpFormat.StatsdCounter),
        Protocol.Pickle => await TcpSender.ConnectAsync(target, names, TcpFormat.Pickle),
        Protocol.StatsdUdp => new UdpSender(target, names, UdpFormat.StatsdCounter),
        _ => new UdpSender(target, names, UdpFormat.Msgpack),
    };

    /// <summary>Writes a number as carbon and StatsD expect it (shortest round-trip form).</summary>
    protected static int FormatNumber(double value, Span<byte> destination)
    {
        if (value == Math.Floor(value) && Math.Abs(value) < 1e15)
        {
            Utf8Formatter.TryFormat((long)value, destination, out var n);
            return n;
        }
        value.TryFormat(destination, out var written, "R", System.Globalization.CultureInfo.InvariantCulture);
        return written;
    }
}

/// <summary>How a TCP sender encodes points.</summary>
public enum TcpFormat
{
    Plaintext,
    StatsdCounter,
    Pickle,
}

/// <summary>Plaintext lines, StatsD lines or carbon-relay pickle frames over one TCP connection.</summary>
public sealed class TcpSender : Sender
{
    private readonly Socket _socket;
    private readonly TcpFormat _format;
    private readonly ArrayBufferWriter<byte> _buffer = new(1 << 17);

    private TcpSender(Socket socket, byte[][] names, TcpFormat format) : base(names)
    {
        _socket = socket;
        _format = format;
    }

    /// <summary>Connects.</summary>
    public static async Task<TcpSender> ConnectAsync(IPEndPoint target, byte[][] names, TcpFormat format)
    {
        var socket = new Socket(target.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true, SendBufferSize = 1 << 20 };
        await socket.ConnectAsync(target);
        return new TcpSender(socket, names, format);
    }

    /// <inheritdoc />
    public override async ValueTask SendAsync(ReadOnlyMemory<LoadPoint> points)
    {
        _buffer.ResetWrittenCount();
        if (_format == TcpFormat.Pickle)
        {
            // carbon-relay sends at most 500 datapoints per message (MAX_DATAPOINTS_PER_MESSAGE).
            for (var start = 0; start < points.Length; start += 500)
            {
                Pickle.WriteFrame(_buffer, Names, points.Span.Slice(start, Math.Min(500, points.Length - start)));
            }
        }
        else
        {
            foreach (var p in points.Span)
            {
                var name = Names[p.Metric];
                var span = _buffer.GetSpan(name.Length + 64);
                name.CopyTo(span);
                var n = name.Length;
                if (_format == TcpFormat.Plaintext)
                {
                    span[n++] = (byte)' ';
                    n += FormatNumber(p.Value, span[n..]);
                    span[n++] = (byte)' ';
                    Utf8Formatter.TryFormat(p.Timestamp, span[n..], out var w);
                    n += w;
                }
                else
                {
                    ":1|c"u8.CopyTo(span[n..]);
                    n += 4;
                }
                span[n++] = (byte)'\n';
                _buffer.Advance(n);
            }
        }
        var memory = _buffer.WrittenMemory;
        while (!memory.IsEmpty)
        {
            var sent = await _socket.SendAsync(memory, SocketFlags.None);
            memory = memory[sent..];
            BytesSent += sent;
        }
    }

    /// <inheritdoc />
    public override ValueTask DisposeAsync()
    {
        try
        {
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (SocketException)
        {
        }
        _socket.Dispose();
        return ValueTask.CompletedTask;
    }
}

/// <summary>How a UDP sender encodes points.</summary>
public enum UdpFormat
{
    StatsdCounter,
    Msgpack,
}

/// <summary>StatsD datagrams (lines packed up to 1,400 bytes) or Skyline's msgpack datagrams (one point each).</summary>
public sealed class UdpSender : Sender
{
    private const int MaxDatagram = 1400;
    private readonly Socket _socket;
    private readonly UdpFormat _format;
    private readonly byte[] _datagram = new byte[65536];

    /// <summary>Creates a connected UDP socket.</summary>
    public UdpSender(IPEndPoint target, byte[][] names, UdpFormat format) : base(names)
    {
        _format = format;
        _socket = new Socket(target.AddressFamily, SocketType.Dgram, ProtocolType.Udp) { SendBufferSize = 1 << 20 };
        _socket.Connect(target);
    }

    /// <inheritdoc />
    public override async ValueTask SendAsync(ReadOnlyMemory<LoadPoint> points)
    {
        var length = 0;
        for (var i = 0; i < points.Length; i++)
        {
            var p = points.Span[i];
            if (_format == UdpFormat.Msgpack)
            {
                length = EncodeMsgpack(p);
                await SendDatagramAsync(length);
                length = 0;
                continue;
            }
            var name = Names[p.Metric];
            if (length > 0 && length + name.Length + 5 > MaxDatagram)
            {
                await SendDatagramAsync(length);
                length = 0;
            }
            if (length > 0)
            {
                _datagram[length++] = (byte)'\n';
            }
            name.CopyTo(_datagram, length);
            length += name.Length;
            ":1|c"u8.CopyTo(_datagram.AsSpan(length));
            length += 4;
        }
        if (length > 0)
        {
            await SendDatagramAsync(length);
        }
    }

    private int EncodeMsgpack(LoadPoint p)
    {
        var writer = new ArrayBufferWriter<byte>(256);
        var w = new MessagePackWriter(writer);
        w.WriteArrayHeader(2);
        w.WriteString(Names[p.Metric]);
        w.WriteArrayHeader(2);
        w.Write(p.Timestamp);
        w.Write(p.Value);
        w.Flush();
        writer.WrittenSpan.CopyTo(_datagram);
        return writer.WrittenCount;
    }

    private async ValueTask SendDatagramAsync(int length)
    {
        try
        {
            await _socket.SendAsync(_datagram.AsMemory(0, length), SocketFlags.None);
            BytesSent += length;
        }
        catch (SocketException)
        {
            // The kernel refuses a datagram when the local buffer is full (ENOBUFS) or the port
            // answered ICMP unreachable: that is loss on the sending side, counted apart.
            SendErrors++;
        }
    }

    /// <inheritdoc />
    public override ValueTask DisposeAsync()
    {
        _socket.Dispose();
        return ValueTask.CompletedTask;
    }
}

/// <summary>carbon-relay's pickle message: Python 3 <c>pickle.dumps(datapoints, protocol=2)</c>
/// of a list of (name, (timestamp, value)), with its 4-byte length prefix.</summary>
public static class Pickle
{
    /// <summary>Appends one frame to <paramref name="output"/>.</summary>
    public static void WriteFrame(ArrayBufferWriter<byte> output, byte[][] names, ReadOnlySpan<LoadPoint> points)
    {
        var headerAt = output.WrittenCount;
        output.GetSpan(4);
        output.Advance(4);
        var start = output.WrittenCount;
        var memo = 0;
        void Put()
        {
            var s = output.GetSpan(5);
            if (memo < 256)
            {
                s[0] = (byte)'q';
                s[1] = (byte)memo;
                output.Advance(2);
            }
            else
            {
                s[0] = (byte)'r';
                BinaryPrimitives.WriteInt32LittleEndian(s[1..], memo);
                output.Advance(5);
            }
            memo++;
        }
        void Raw(ReadOnlySpan<byte> bytes) => output.Write(bytes);
        void Float(double d)
        {
            var s = output.GetSpan(9);
            s[0] = (byte)'G';
            BinaryPrimitives.WriteDoubleBigEndian(s[1..], d);
            output.Advance(9);
        }
        Raw([0x80, 2, (byte)']']);
        Put();
        if (points.Length > 1)
        {
            Raw("("u8);
        }
        foreach (var p in points)
        {
            var name = names[p.Metric];
            var s = output.GetSpan(5);
            s[0] = (byte)'X';
            BinaryPrimitives.WriteInt32LittleEndian(s[1..], name.Length);
            output.Advance(5);
            Raw(name);
            Put();
            Float(p.Timestamp);
            Float(p.Value);
            Raw([0x86]);
            Put();
            Raw([0x86]);
            Put();
        }
        Raw(points.Length > 1 ? "e."u8 : "a."u8);
        var length = output.WrittenCount - start;
        // The header sits before the payload in the same buffer.
        BinaryPrimitives.WriteInt32BigEndian(System.Runtime.InteropServices.MemoryMarshal.AsMemory(output.WrittenMemory).Span.Slice(headerAt, 4), length);
    }
}
