using System.Globalization;
using System.Text;
using static Horizon.Integration.Tests.TestSupport;

namespace Horizon.Integration.Tests;

/// <summary>Forwarding into real carbon-caches (Debian's graphite-carbon, <see cref="CarbonDaemon"/>),
/// read back from the whisper files they write with whisper's own Python module.</summary>
public sealed partial class ForwardingTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task EveryAcceptedPointReachesWhisperByPlaintextAndByPickleIncludingADestinationThatCameUpLate()
    {
        await using var plain = await CarbonDaemon.StartedAsync(CarbonDaemon.Cache());
        // The pickle destination is down when Horizon starts and while the points arrive.
        await using var late = CarbonDaemon.Cache();
        await using var host = await HorizonHost.StartAsync(null, new Dictionary<string, string?>
        {
            ["Forward:Destinations:0"] = $"127.0.0.1:{plain.LinePort}",
            ["Forward:Destinations:1"] = $"pickle://127.0.0.1:{late.PicklePort}",
        });
        var step = Now - (Now % 10);
        var points = new List<(string Name, long Ts, double Value)>();
        var text = new StringBuilder();
        for (var m = 0; m < 20; m++)
        {
            for (var i = 0; i < 30; i++)
            {
                var point = ($"fwd.web{m:D2}.requests", step - (i * 10), Math.Round((m * 1000) + (i * 1.25) - 7.5, 2));
                points.Add(point);
                text.Append(CultureInfo.InvariantCulture, $"{point.Item1} {point.Item3} {point.Item2}\n");
            }
        }
        await SendTcpAsync(host.Endpoint("plaintext"), text.ToString());

        await WaitUntilAsync(async () => (await plain.ReadAsync(points)).Count == 0, "every point in the plaintext destination's whisper files", 60);
        var pickle = $"destination=\"pickle://127.0.0.1:{late.PicklePort}\"";
        await WaitUntilAsync(async () => Sample(await host.ScrapeAsync(), "horizon_forward_queue_points", pickle) == points.Count,
            "the points queued for the pickle destination while it is down");
        Assert.Equal(0, Sample(await host.ScrapeAsync(), "horizon_forward_connected", pickle));

        await late.StartAsync();
        await WaitUntilAsync(async () => (await late.ReadAsync(points)).Count == 0, "every point in the late pickle destination's whisper files", 90);
        var scrape = await host.ScrapeAsync();
        Assert.Equal(points.Count, Sample(scrape, "horizon_forward_points_total", $"destination=\"tcp://127.0.0.1:{plain.LinePort}\",outcome=\"sent\""));
        Assert.Equal(points.Count, Sample(scrape, "horizon_forward_points_total", pickle + ",outcome=\"sent\""));
        Assert.Equal(0, Sample(scrape, "horizon_forward_queue_points", pickle));
        Assert.Equal(1, Sample(scrape, "horizon_forward_connected", pickle));
        // And the store has them all too.
        Assert.Equal(30, (await ReadSeriesAsync(host.Db, "fwd.web07.requests")).Count);
    }

    [Fact]
    public async Task ADestinationThatStaysDownLosesOnlyWhatItsQueueCannotHoldCountedAndTheStoreGetsEverything()
    {
        var nobody = RedisServer.FreePort();
        await using var host = await HorizonHost.StartAsync(null, new Dictionary<string, string?>
        {
            ["Forward:Destinations:0"] = $"127.0.0.1:{nobody}",
            ["Forward:QueuePoints"] = "100",
        });
        var now = Now;
        for (var round = 0; round < 5; round++)
        {
            var text = new StringBuilder();
            for (var i = 0; i < 100; i++)
            {
                text.Append(CultureInfo.InvariantCulture, $"down.m{i:D3} {round} {now - 60 + round}\n");
            }
            await SendTcpAsync(host.Endpoint("plaintext"), text.ToString());
        }
        var labels = $"destination=\"tcp://127.0.0.1:{nobody}\"";
        await WaitUntilAsync(async () =>
        {
            var scrape = await host.ScrapeAsync();
            return Sample(scrape, "horizon_forward_queue_points", labels) + Sample(scrape, "horizon_forward_points_total", labels + ",outcome=\"dropped\"") == 500;
        }, "every point either queued or counted as dropped");
        var final = await host.ScrapeAsync();
        Assert.InRange(Sample(final, "horizon_forward_queue_points", labels), 1, 100);
        Assert.InRange(Sample(final, "horizon_forward_points_total", labels + ",outcome=\"dropped\""), 400, 499);
        Assert.Equal(0, Sample(final, "horizon_forward_connected", labels));
        for (var i = 0; i < 100; i += 33)
        {
            Assert.Equal(5, (await ReadSeriesAsync(host.Db, $"down.m{i:D3}")).Count);
        }
    }

    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("pickle://127.0.0.1")]
    [InlineData("udp://127.0.0.1:2003")]
    [InlineData("127.0.0.1:70000")]
    public async Task ADestinationThatIsNotHostAndPortStopsStartUpNamingIt(string destination)
    {
        var error = await Assert.ThrowsAnyAsync<Exception>(() => HorizonHost.StartAsync(null, new Dictionary<string, string?> { ["Forward:Destinations:0"] = destination }));
        Assert.Contains($"Forward:Destinations entry '{destination}'", error.Message, StringComparison.Ordinal);
    }

    private static double Sample(string scrape, string metric, string labels) => Scraped(scrape, $"{metric}{{{labels}}}");
}
