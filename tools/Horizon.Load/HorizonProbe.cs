using System.Globalization;

namespace Horizon.Load;

/// <summary>Reads Horizon's Prometheus endpoint and the kernel's UDP counters.</summary>
public sealed class HorizonProbe(string? metricsUrl)
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(5) };

    /// <summary>Samples of the last scrape: full series name with labels → value.</summary>
    public async Task<Dictionary<string, double>> ScrapeAsync()
    {
        var result = new Dictionary<string, double>(StringComparer.Ordinal);
        if (metricsUrl is null)
        {
            return result;
        }
        try
        {
            var text = await Http.GetStringAsync(metricsUrl);
            foreach (var line in text.Split('\n'))
            {
                if (line.Length == 0 || line[0] == '#')
                {
                    continue;
                }
                var space = line.LastIndexOf(' ');
                if (space > 0 && double.TryParse(line.AsSpan(space + 1), NumberStyles.Float, CultureInfo.InvariantCulture, out var v))
                {
                    result[line[..space]] = v;
                }
            }
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
        }
        return result;
    }

    /// <summary>Sum of every sample of a metric whose labels contain all the given fragments.</summary>
    public static double Sum(Dictionary<string, double> samples, string metric, params string[] labelFragments) =>
        samples.Where(s => (s.Key == metric || s.Key.StartsWith(metric + "{", StringComparison.Ordinal)) &&
                           labelFragments.All(f => s.Key.Contains(f, StringComparison.Ordinal)))
               .Sum(s => s.Value);

    /// <summary>The kernel's UDP receive-buffer errors (datagrams dropped because a socket's
    /// buffer was full), from /proc/net/snmp.</summary>
    public static long KernelUdpReceiveErrors()
    {
        try
        {
            var lines = File.ReadAllLines("/proc/net/snmp").Where(l => l.StartsWith("Udp:", StringComparison.Ordinal)).ToList();
            if (lines.Count < 2)
            {
                return 0;
            }
            var names = lines[0].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var values = lines[1].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var i = Array.IndexOf(names, "RcvbufErrors");
            return i > 0 ? long.Parse(values[i], CultureInfo.InvariantCulture) : 0;
        }
        catch (IOException)
        {
            return 0;
        }
    }
}
