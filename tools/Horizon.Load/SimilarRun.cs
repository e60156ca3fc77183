using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;

namespace Horizon.Load;

/// <summary>
/// <c>horizon-load similar</c>: similarity queries against a running Horizon's <c>/api/similar</c>
/// (one at a time, like a person clicking "Similar"), by the names the seeder gives, reporting the
/// server's search time and the round trip (p50, p99), and, every Nth query, whether the ranking
/// equals the brute-force reference (recall@k).
/// </summary>
public static class SimilarRun
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public static async Task<int> RunAsync(Options options)
    {
        var url = options.Get("url", "http://127.0.0.1:1500").TrimEnd('/');
        var metrics = (int)options.GetLong("metrics", 1000);
        var prefix = options.Get("prefix", "load");
        var shape = options.Get("shape") is { } s ? Enum.Parse<ShapeKind>(s, ignoreCase: true) : (ShapeKind?)null;
        var queries = (int)options.GetLong("queries", 500);
        var range = options.Get("range", "1d");
        var mode = options.Get("mode", "euclidean");
        var checkEvery = (int)options.GetLong("check-every", 10);
        var wait = options.GetDuration("wait", TimeSpan.FromMinutes(10));
        var json = options.Get("json");
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
        var random = new Random(42);

        // Wait until the analyzer has indexed the metrics (its first pass over them ended).
        var waited = Stopwatch.StartNew();
        int searched;
        while (true)
        {
            var probe = await http.GetAsync($"{url}/api/similar?metric={Uri.EscapeDataString(Name(prefix, shape, 0))}&range={range}&k=1");
            searched = probe.IsSuccessStatusCode ? (await probe.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("searched").GetInt32() : 0;
            if (searched >= metrics * 0.99 || waited.Elapsed > wait)
            {
                break;
            }
            await Task.Delay(2000);
        }
        Console.WriteLine($"index holds {searched} metrics after {waited.Elapsed.TotalSeconds:F0} s");
        var server = new List<double>(queries);
        var roundTrip = new List<double>(queries);
        var checks = 0;
        var equal = 0;
        var recall = 0.0;
        var failed = 0;
        for (var q = 0; q < queries; q++)
        {
            var m = random.Next(metrics);
            var check = checkEvery > 0 && q % checkEvery == 0;
            var watch = Stopwatch.StartNew();
            var response = await http.GetAsync($"{url}/api/similar?metric={Uri.EscapeDataString(Name(prefix, shape, m))}&range={range}&k=10&mode={mode}{(check ? "&check=true" : "")}");
            if (!response.IsSuccessStatusCode)
            {
                failed++;
                continue;
            }
            var body = await response.Content.ReadFromJsonAsync<JsonElement>();
            watch.Stop();
            server.Add(body.GetProperty("took_ms").GetDouble());
            if (!check)
            {
                roundTrip.Add(watch.Elapsed.TotalMilliseconds); // a checked query also runs the reference
            }
            else if (body.GetProperty("reference") is { ValueKind: JsonValueKind.Object } reference)
            {
                checks++;
                equal += reference.GetProperty("equal").GetBoolean() ? 1 : 0;
                recall += reference.GetProperty("recall").GetDouble();
            }
        }
        server.Sort();
        roundTrip.Sort();
        double P(List<double> sorted, double p) => sorted.Count == 0 ? double.NaN : sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p * sorted.Count) - 1)];
        var report = new Dictionary<string, object>
        {
            ["metrics_indexed"] = searched,
            ["queries"] = queries,
            ["failed"] = failed,
            ["range"] = range,
            ["mode"] = mode,
            ["search_ms_p50"] = Math.Round(P(server, 0.5), 2),
            ["search_ms_p99"] = Math.Round(P(server, 0.99), 2),
            ["round_trip_ms_p50"] = Math.Round(P(roundTrip, 0.5), 2),
            ["round_trip_ms_p99"] = Math.Round(P(roundTrip, 0.99), 2),
            ["checked"] = checks,
            ["equal_to_reference"] = equal,
            ["recall_at_10"] = checks == 0 ? double.NaN : Math.Round(recall / checks, 4),
        };
        Console.WriteLine(string.Join("\n", report.Select(r => $"{r.Key}: {Convert.ToString(r.Value, CultureInfo.InvariantCulture)}")));
        if (json is not null)
        {
            await File.WriteAllTextAsync(json, JsonSerializer.Serialize(report, Indented));
        }
        return failed == 0 ? 0 : 1;
    }

    private static string Name(string prefix, ShapeKind? shape, int m) => Shapes.Name(prefix, Shapes.KindOf(m, shape), m);
}
