using System.Buffers.Binary;
using System.Text;

namespace Horizon.Benchmarks.Ingest;

/// <summary>Realistic inputs: Graphite-style names over 10k metrics, current timestamps.</summary>
public static class Payloads
{
    public const long Now = 1_763_900_000;

    public static string Name(int i) => $"servers.web{i % 200:D3}.app{i % 7}.requests.p{i % 10000}";

    /// <summary>Plaintext lines, about 60 bytes each.</summary>
    public static byte[] Plaintext(int lines)
    {
        var sb = new StringBuilder();
        for (var i = 0; i < lines; i++)
        {
            sb.Append(Name(i)).Append(' ').Append(i % 3 == 0 ? (i * 0.25).ToString(System.Globalization.CultureInfo.InvariantCulture) : (i % 1000).ToString(System.Globalization.CultureInfo.InvariantCulture))
              .Append(' ').Append(Now - i % 60).Append('\n');
        }
        return Encoding.ASCII.GetBytes(sb.ToString());
    }

    /// <summary>StatsD lines: counters, timers and gauges.</summary>
    public static byte[][] StatsdDatagrams(int count)
    {
        var result = new byte[count][];
        for (var i = 0; i < count; i++)
        {
            var line = (i % 3) switch
            {
                0 => $"api.{Name(i)}.hits:1|c",
                1 => $"api.{Name(i)}.latency:{i % 250}|ms|@0.5",
                _ => $"api.{Name(i)}.queue:{i % 50}|g",
            };
            result[i] = Encoding.ASCII.GetBytes(line);
        }
        return result;
    }

    /// <summary>A carbon-relay pickle payload of <paramref name="points"/> datapoints (protocol 2,
    /// with the memo puts Python writes).</summary>
    public static byte[] Pickle(int points)
    {
        var o = new List<byte> { 0x80, 2, (byte)']', (byte)'q', 0, (byte)'(' };
        var memo = 1;
        void Put()
        {
            if (memo < 256)
            {
                o.Add((byte)'q');
                o.Add((byte)memo);
            }
            else
            {
                o.Add((byte)'r');
                o.AddRange(BitConverter.GetBytes(memo));
            }
            memo++;
        }
        void Float(double d)
        {
            o.Add((byte)'G');
            var b = new byte[8];
            BinaryPrimitives.WriteDoubleBigEndian(b, d);
            o.AddRange(b);
        }
        for (var i = 0; i < points; i++)
        {
            var name = Encoding.UTF8.GetBytes(Name(i));
            o.Add((byte)'X');
            o.AddRange(BitConverter.GetBytes(name.Length));
            o.AddRange(name);
            Put();
            Float(Now - i % 60);
            Float(i * 0.5);
            o.Add(0x86);
            Put();
            o.Add(0x86);
            Put();
        }
        o.Add((byte)'e');
        o.Add((byte)'.');
        return [.. o];
    }
}
