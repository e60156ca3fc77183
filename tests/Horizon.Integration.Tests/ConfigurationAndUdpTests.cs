using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Horizon.Ingest;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Horizon.Integration.Tests;

public sealed class ConfigurationTests
{
    private static HorizonOptions Options(string[] switches, Action<IConfigurationBuilder>? extra = null)
    {
        var app = HorizonApp.Build(HorizonRole.Web, switches, extra);
        return app.Services.GetRequiredService<HorizonOptions>();
    }

    [Fact]
    public void DefaultsAreTheDocumentedOnes()
    {
        var o = Options([]);
        Assert.Equal("127.0.0.1", o.Listeners.Bind);
        Assert.Equal((2003, 2024, 8125, 8125, 2025), (o.Listeners.Plaintext.Port, o.Listeners.Pickle.Port, o.Listeners.StatsdUdp.Port, o.Listeners.StatsdTcp.Port, o.Listeners.Msgpack.Port));
        Assert.Equal(("127.0.0.1", 1500), (o.Web.Bind, o.Web.Port));
        Assert.Equal((86400L, 1000L), (o.Series.FullDuration, o.Series.MaxResolution));
        Assert.Equal(TimeSpan.FromSeconds(10), o.Statsd.FlushInterval);
        Assert.Equal([90.0], o.Statsd.PercentThreshold);
        Assert.True(o.Store.UsesEmbedded);
        Assert.Equal(6389, o.Store.Embedded.Port);
    }

    [Fact]
    public void EnvironmentVariablesAndSwitchesOverrideInThatOrder()
    {
        // Roomba's scan batch changes nothing for the other tests running in this process.
        Environment.SetEnvironmentVariable("HORIZON_Roomba__ScanBatch", "777");
        Environment.SetEnvironmentVariable("HORIZON_Roomba__Parallelism", "5");
        try
        {
            var o = Options(["--redis", "10.0.0.1:6379", "--web-port", "1600", "--Roomba:Parallelism=3", "--Statsd:PercentThreshold:0=99", "--Statsd:PercentThreshold:1=-10",
                "--Analyzer:Ensemble:Detectors:0=Level", "--Analyzer:Ensemble:Detectors:1=Sustained"]);
            Assert.Equal(777, o.Roomba.ScanBatch);
            Assert.Equal(3, o.Roomba.Parallelism);
            Assert.Equal("10.0.0.1:6379", o.Store.Redis);
            Assert.Equal(1600, o.Web.Port);
            // Lists replace their default instead of being appended to it.
            Assert.Equal([99.0, -10.0], o.Statsd.PercentThreshold);
            Assert.Equal([Horizon.Algorithms.Detection.Detector.Level, Horizon.Algorithms.Detection.Detector.Sustained], o.Analyzer.Ensemble.Detectors);
        }
        finally
        {
            Environment.SetEnvironmentVariable("HORIZON_Roomba__ScanBatch", null);
            Environment.SetEnvironmentVariable("HORIZON_Roomba__Parallelism", null);
        }
    }

    [Theory]
    [InlineData("--Listeners:Plaintext:Port=70000", "Listeners:Plaintext:Port")]
    [InlineData("--Listeners:Bind=not-an-ip", "Listeners:Bind")]
    [InlineData("--Writer:UniqueSetRefresh=2.00:00:00", "Writer:UniqueSetRefresh")]
    [InlineData("--Statsd:PercentThreshold:0=150", "Statsd:PercentThreshold")]
    [InlineData("--Series:FullDuration=10", "Series:FullDuration")]
    public void BadSettingsFailAtStartWithTheirName(string change, string named)
    {
        var e = Assert.Throws<ArgumentException>(() => Options([change]));
        Assert.Contains(named, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--Listeners:Plaintext:Prot=2103", "'Listeners:Plaintext:Prot' (did you mean 'Listeners:Plaintext:Port'?)")]
    [InlineData("--Analyzer:Ensemble:Treshold=0.3", "'Analyzer:Ensemble:Treshold' (did you mean 'Analyzer:Ensemble:Threshold'?)")]
    [InlineData("--Listener:Bind=0.0.0.0", "'Listener' (did you mean 'Listeners'?)")]
    [InlineData("--Web:Port:Number=1", "'Web:Port:Number': Web:Port is a single value")]
    [InlineData("--Statsd:PercentThreshold:first=90", "'Statsd:PercentThreshold:first': Statsd:PercentThreshold is a list")]
    public void AnUnknownSettingFailsAtStartNamingItAndTheNearestKnownOne(string change, string message)
    {
        var e = Assert.Throws<ArgumentException>(() => Options([change]));
        Assert.Contains("unknown setting " + message, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void UnknownSettingsAreFoundInEverySourceWhileKnownOnesInAnyCasePass()
    {
        // Not an environment variable: other tests build hosts in this process at the same time.
        var e = Assert.Throws<ArgumentException>(() => Options([], c => c.AddInMemoryCollection([new("Roomba:ScanBtach", "5")])));
        Assert.Contains("'Roomba:ScanBtach' (did you mean 'Roomba:ScanBatch'?)", e.Message, StringComparison.Ordinal);
        var o = Options(["--listeners:plaintext:port=2103", "--Analyzer:Alerts:Webhooks:0=http://127.0.0.1:9/x", "--Logging:LogLevel:Horizon=Debug"]);
        Assert.Equal(2103, o.Listeners.Plaintext.Port);
        Assert.Equal(["http://127.0.0.1:9/x"], o.Analyzer.Alerts.Webhooks);
    }
}

public sealed class UdpTests
{
    [Fact]
    public void KernelDropsAreReadFromProcForTheListenersPort()
    {
        using var quiet = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        quiet.ReceiveBufferSize = 4096; // nobody reads it, so the kernel must drop
        quiet.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var port = ((IPEndPoint)quiet.LocalEndPoint!).Port;
        Assert.Equal(0, UdpListener.KernelDrops(port));
        using var sender = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        var datagram = new byte[1000];
        for (var i = 0; i < 2000; i++)
        {
            sender.SendTo(datagram, quiet.LocalEndPoint!);
        }
        Assert.True(UdpListener.KernelDrops(port) > 0);
    }

    [Fact]
    public async Task SeveralReceiveLoopsShareOnePortAndTheKernelDropGaugeIsExported()
    {
        await using var host = await HorizonHost.StartAsync(null, new Dictionary<string, string?> { ["Listeners:UdpReceiveLoops"] = "3", ["Listeners:StatsdUdp:Enabled"] = "true" });
        var port = host.Endpoint("statsd_udp").Port;
        var hexPort = ":" + port.ToString("X4", CultureInfo.InvariantCulture);
        var sockets = File.ReadLines("/proc/net/udp").Count(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries) is var f && f.Length > 2 && f[1].EndsWith(hexPort, StringComparison.Ordinal));
        Assert.Equal(3, sockets);
        Assert.Contains("horizon_udp_kernel_drops{listener=\"statsd_udp\"} 0", await host.ScrapeAsync(), StringComparison.Ordinal);
    }

    private static int FreeUdpPort()
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)probe.LocalEndPoint!).Port;
    }

    [Fact]
    public async Task ASecondInstanceOnTheSameUdpPortsFailsThemAndGetsNoTraffic()
    {
        var settings = new Dictionary<string, string?>
        {
            ["Listeners:StatsdUdp:Enabled"] = "true",
            ["Listeners:StatsdUdp:Port"] = FreeUdpPort().ToString(CultureInfo.InvariantCulture),
            ["Listeners:Msgpack:Port"] = FreeUdpPort().ToString(CultureInfo.InvariantCulture),
        };
        await using var first = await HorizonHost.StartAsync(null, settings);
        await using var second = await HorizonHost.StartAsync(null, settings);
        var firstScrape = await first.ScrapeAsync();
        var secondScrape = await second.ScrapeAsync();
        Assert.Contains("horizon_listener_up{listener=\"msgpack\"} 1", firstScrape, StringComparison.Ordinal);
        Assert.Contains("horizon_listener_up{listener=\"statsd_udp\"} 1", firstScrape, StringComparison.Ordinal);
        Assert.Contains("horizon_listener_up{listener=\"msgpack\"} 0", secondScrape, StringComparison.Ordinal);
        Assert.Contains("horizon_listener_up{listener=\"statsd_udp\"} 0", secondScrape, StringComparison.Ordinal);

        var now = TestSupport.Now;
        var target = first.Endpoint("msgpack");
        for (var i = 0; i < 200; i++)
        {
            await TestSupport.SendUdpAsync(target, MessagePack.MessagePackSerializer.Serialize(new object[] { "shared.port", new object[] { now, i } }, cancellationToken: TestContext.Current.CancellationToken));
        }
        await TestSupport.WaitUntilAsync(() => Task.FromResult(first.IngestMetrics.PointsReceived.WithLabels("msgpack").Value == 200), "every datagram at the first instance");
        Assert.Equal(0, second.IngestMetrics.PointsReceived.WithLabels("msgpack").Value);
    }

    [Fact]
    public async Task AUdpPortSomeoneElseHoldsIsNotSharedEvenWithReusePort()
    {
        using var foreign = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        foreign.SetRawSocketOption(1 /* SOL_SOCKET */, 15 /* SO_REUSEPORT */, BitConverter.GetBytes(1));
        foreign.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var port = ((IPEndPoint)foreign.LocalEndPoint!).Port;
        await using var host = await HorizonHost.StartAsync(null, new Dictionary<string, string?> { ["Listeners:Msgpack:Port"] = port.ToString(CultureInfo.InvariantCulture) });
        Assert.Contains("horizon_listener_up{listener=\"msgpack\"} 0", await host.ScrapeAsync(), StringComparison.Ordinal);
    }
}
