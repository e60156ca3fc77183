using System.Net.Sockets;
using System.Text;
using Horizon.Ingest;
using Microsoft.Extensions.DependencyInjection;
using static Horizon.Integration.Tests.TestSupport;

namespace Horizon.Integration.Tests;

/// <summary>StatsD's management interface on its own TCP port, spoken to as an operator's
/// <c>echo counters | nc 127.0.0.1 8126</c> would.</summary>
public sealed class StatsdAdminTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task TheAdminPortListsDeletesAndReportsAsStatsdsDoes()
    {
        await using var host = await HorizonHost.StartAsync(null, new Dictionary<string, string?>
        {
            ["Listeners:StatsdUdp:Enabled"] = "true",
            // One long interval: the counters the test reads are the interval's so far.
            ["Statsd:FlushInterval"] = "01:00:00",
        });
        await SendUdpAsync(host.Endpoint("statsd_udp"), "api.hits:3|c\nweb.hits:1|c\nweb.misses:2|c\nlat:5|ms:7|ms\nqueue.depth:7|g\nbroken line"u8.ToArray());

        using var client = new TcpClient();
        await client.ConnectAsync(host.Endpoint("statsd_admin"), Ct);
        var stream = client.GetStream();
        var reader = new StreamReader(stream, Encoding.ASCII);
        async Task<string> AskAsync(string command, string until)
        {
            await stream.WriteAsync(Encoding.ASCII.GetBytes(command + "\n"), Ct);
            var answer = new StringBuilder();
            while (!answer.ToString().EndsWith(until, StringComparison.Ordinal))
            {
                var line = await reader.ReadLineAsync(Ct) ?? throw new IOException($"closed after {answer}");
                answer.Append(line).Append('\n');
            }
            return answer.ToString();
        }

        await WaitUntilAsync(async () => (await AskAsync("counters", "END\n\n")).Contains("'api.hits': 3", StringComparison.Ordinal), "the packet in the counters");
        var counters = await AskAsync("counters", "END\n\n");
        Assert.Contains("'statsd.packets_received': 1,", counters, StringComparison.Ordinal);
        Assert.Contains("'statsd.bad_lines_seen': 1,", counters, StringComparison.Ordinal);
        Assert.Contains("'web.misses': 2\n}", counters, StringComparison.Ordinal);
        Assert.Equal("{\n  lat: [5, 7]\n}\nEND\n\n", await AskAsync("timers", "END\n\n"));
        Assert.Equal("{\n  'queue.depth': 7\n}\nEND\n\n", await AskAsync("gauges", "END\n\n"));

        Assert.Equal("deleted: web.hits\ndeleted: web.misses\nmetric nothing.here not found\nEND\n\n", await AskAsync("delcounters web.* nothing.here", "END\n\n"));
        Assert.DoesNotContain("web.", await AskAsync("counters", "END\n\n"), StringComparison.Ordinal);
        Assert.Equal("deleted: lat\nEND\n\n", await AskAsync("deltimers lat", "END\n\n"));

        var stats = await AskAsync("stats", "END\n\n");
        Assert.Matches(@"^uptime: \d+\nmessages.last_msg_seen: \d+\nmessages.bad_lines_seen: 1\ngraphite.last_flush: \d+\ngraphite.last_exception: \d+\ngraphite.flush_time: [\d.]+\ngraphite.flush_length: \d+\nEND\n\n$", stats);

        Assert.Equal("health: up\n", await AskAsync("health", "\n"));
        Assert.Equal("health: down\n", await AskAsync("health down", "\n"));
        Assert.Equal("health: down\n", await AskAsync("health", "\n"));
        Assert.Equal("ERROR\n", await AskAsync("bogus", "\n"));
        Assert.StartsWith("Commands: stats, counters", await AskAsync("help", "\n\n"), StringComparison.Ordinal);
        Assert.Contains("graphite > legacyNamespace: true\n", await AskAsync("config", "prefixSet: sets\n"), StringComparison.Ordinal);

        await stream.WriteAsync("quit\n"u8.ToArray(), Ct);
        Assert.Null(await reader.ReadLineAsync(Ct));

        // What was deleted is not flushed; what was kept is.
        await host.Services.GetRequiredService<StatsdFlusher>().FlushAsync();
        await WaitUntilAsync(async () => (await ReadSeriesAsync(host.Db, "stats_counts.api.hits")).Count == 1, "the flush stored");
        Assert.Equal(3, Assert.Single(await ReadSeriesAsync(host.Db, "stats_counts.api.hits")).Value);
        Assert.Empty(await ReadSeriesAsync(host.Db, "stats_counts.web.hits"));
        Assert.Empty(await ReadSeriesAsync(host.Db, "stats.timers.lat.count"));
    }
}
