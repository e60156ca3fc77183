using System.Buffers;
using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;
using MessagePack;
using StackExchange.Redis;

namespace Horizon.Integration.Tests;

/// <summary>Small helpers shared by the integration tests.</summary>
public static class TestSupport
{
    /// <summary>The write token test hosts are started with (Web:WriteToken).</summary>
    public const string WriteToken = "test-write-token-0123456789";

    /// <summary>An HTTP client that sends the test hosts' write token.</summary>
    public static HttpClient WritingClient()
    {
        var http = new HttpClient();
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", WriteToken);
        return http;
    }

    /// <summary>The value of one series (<c>name{labels}</c> as exported) in a Prometheus scrape; 0 when absent.</summary>
    public static double Scraped(string scrape, string series) =>
        scrape.Split('\n').Where(l => l.StartsWith(series + " ", StringComparison.Ordinal))
            .Select(l => double.Parse(l[(series.Length + 1)..], System.Globalization.CultureInfo.InvariantCulture)).SingleOrDefault();

    /// <summary>Unix seconds now.</summary>
    public static long Now => DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    /// <summary>Host settings that pick the writer's path: its own RESP connection, or StackExchange.Redis.</summary>
    public static Dictionary<string, string?> WriterPath(bool direct) => new() { ["Writer:DirectConnections"] = direct ? "true" : "false" };

    /// <summary>Opens a TCP connection, writes, and closes it cleanly.</summary>
    public static async Task SendTcpAsync(IPEndPoint endpoint, byte[] payload)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(endpoint);
        var stream = client.GetStream();
        await stream.WriteAsync(payload);
        await stream.FlushAsync();
        client.Client.Shutdown(SocketShutdown.Send);
        // Wait for the server to finish reading (it closes its side when done).
        var sink = new byte[256];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (await stream.ReadAsync(sink, timeout.Token) > 0)
        {
        }
    }

    /// <summary>Sends text over TCP.</summary>
    public static Task SendTcpAsync(IPEndPoint endpoint, string text) => SendTcpAsync(endpoint, Encoding.UTF8.GetBytes(text));

    /// <summary>Sends one datagram.</summary>
    public static async Task SendUdpAsync(IPEndPoint endpoint, byte[] datagram)
    {
        using var client = new UdpClient(AddressFamily.InterNetwork);
        await client.SendAsync(datagram, endpoint);
    }

    /// <summary>Polls until the condition holds, failing after the timeout.</summary>
    public static async Task WaitUntilAsync(Func<Task<bool>> condition, string what, int timeoutSeconds = 30)
    {
        var deadline = DateTime.UtcNow.AddSeconds(timeoutSeconds);
        while (DateTime.UtcNow < deadline)
        {
            if (await condition())
            {
                return;
            }
            await Task.Delay(50);
        }
        Assert.Fail($"timed out after {timeoutSeconds} s waiting for: {what}");
    }

    /// <summary>A series read back from the store, decoded by the reference msgpack library
    /// (independent of Horizon's own codec).</summary>
    public static async Task<List<(long Ts, double Value)>> ReadSeriesAsync(IDatabase db, string name)
    {
        byte[]? raw = await db.StringGetAsync("metrics." + name);
        return raw is null ? [] : DecodeSeries(raw);
    }

    /// <summary>Decodes concatenated msgpack [ts, value] pairs with MessagePack-CSharp.</summary>
    public static List<(long Ts, double Value)> DecodeSeries(byte[] raw)
    {
        var result = new List<(long, double)>();
        var reader = new MessagePackReader(raw);
        while (!reader.End)
        {
            Assert.Equal(2, reader.ReadArrayHeader());
            var ts = reader.NextMessagePackType == MessagePackType.Float ? (long)reader.ReadDouble() : reader.ReadInt64();
            var value = reader.NextMessagePackType == MessagePackType.Float ? reader.ReadDouble() : reader.ReadInt64();
            result.Add((ts, value));
        }
        return result;
    }

    /// <summary>A real horizon process (the horizon.dll built beside the tests) with these
    /// arguments, its standard output and error collected into <paramref name="output"/>. Its log
    /// listeners take free ports (after the arguments, which come first for the role): on their
    /// defaults (5140-5142) any other Horizon on the machine holds them, and /health then reports
    /// it unhealthy.</summary>
    public static System.Diagnostics.Process StartHorizon(IEnumerable<string> arguments, StringBuilder output)
    {
        var info = new System.Diagnostics.ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetTempPath(),
        };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "horizon.dll"));
        foreach (var argument in (string[])[.. arguments, "--Logs:SyslogUdp:Port=0", "--Logs:SyslogTcp:Port=0", "--Logs:PlainTcp:Port=0", "--Logs:JsonTcp:Port=0"])
        {
            info.ArgumentList.Add(argument);
        }
        var process = System.Diagnostics.Process.Start(info)!;
        process.OutputDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
        process.ErrorDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    /// <summary>Members of metrics.unique_metrics.</summary>
    public static async Task<HashSet<string>> UniqueMetricsAsync(IDatabase db) =>
        [.. (await db.SetMembersAsync("metrics.unique_metrics")).Select(m => m.ToString())];

    /// <summary>A carbon pickle frame (length prefix + payload) as carbon-relay sends it.</summary>
    public static byte[] PickleFrame(IEnumerable<(string Name, double Ts, double Value)> points)
    {
        var payload = PythonPickle.DumpsProtocol2(points);
        var frame = new byte[4 + payload.Length];
        BinaryPrimitives.WriteInt32BigEndian(frame, payload.Length);
        payload.CopyTo(frame, 4);
        return frame;
    }
}

/// <summary>Writes exactly the bytes Python 3's pickle module writes for
/// <c>pickle.dumps([(name, (ts, value)), ...], protocol=2)</c>, which is carbon-relay's message
/// (carbon/client.py). A test checks it against Python's own output.</summary>
public static class PythonPickle
{
    /// <summary>Pickles a list of datapoints with protocol 2.</summary>
    public static byte[] DumpsProtocol2(IEnumerable<(string Name, double Ts, double Value)> points)
    {
        var items = points.ToList();
        var o = new ArrayBufferWriter<byte>();
        var memo = 0;
        void Byte(byte b) => o.Write([b]);
        void Put()
        {
            if (memo < 256)
            {
                Byte((byte)'q');
                Byte((byte)memo);
            }
            else
            {
                Byte((byte)'r');
                var id = new byte[4];
                BinaryPrimitives.WriteInt32LittleEndian(id, memo);
                o.Write(id);
            }
            memo++;
        }
        void Float(double d)
        {
            Byte((byte)'G');
            var b = new byte[8];
            BinaryPrimitives.WriteDoubleBigEndian(b, d);
            o.Write(b);
        }
        void Item((string Name, double Ts, double Value) p)
        {
            var name = Encoding.UTF8.GetBytes(p.Name);
            Byte((byte)'X');
            var len = new byte[4];
            BinaryPrimitives.WriteInt32LittleEndian(len, name.Length);
            o.Write(len);
            o.Write(name);
            Put();
            Float(p.Ts);
            Float(p.Value);
            Byte(0x86);
            Put();
            Byte(0x86);
            Put();
        }
        Byte(0x80);
        Byte(2);
        Byte((byte)']');
        Put();
        // Python appends in batches of 1000: MARK items APPENDS, or a single item and APPEND.
        for (var start = 0; start < items.Count; start += 1000)
        {
            var batch = items.Skip(start).Take(1000).ToList();
            if (batch.Count > 1)
            {
                Byte((byte)'(');
                batch.ForEach(Item);
                Byte((byte)'e');
            }
            else
            {
                Item(batch[0]);
                Byte((byte)'a');
            }
        }
        Byte((byte)'.');
        return o.WrittenSpan.ToArray();
    }
}
