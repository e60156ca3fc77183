using System.Net;
using System.Net.Sockets;
using System.Text;
using static Horizon.Integration.Tests.TestSupport;

namespace Horizon.Integration.Tests;

/// <summary>Connections as a resource: the ingest listeners share one bound, HTTP has its own,
/// idle ingest connections are closed, and requests must name this host.</summary>
public sealed class ConnectionTests
{
    private static readonly CancellationToken Ct = TestContext.Current.CancellationToken;

    private static async Task<TcpClient> ConnectAsync(IPEndPoint endpoint)
    {
        var client = new TcpClient();
        await client.ConnectAsync(endpoint, Ct);
        return client;
    }

    // True when the server closes the connection within the timeout.
    private static async Task<bool> ClosedByServerAsync(TcpClient client, TimeSpan timeout)
    {
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        wait.CancelAfter(timeout);
        try
        {
            return await client.GetStream().ReadAsync(new byte[16], wait.Token) == 0;
        }
        catch (IOException)
        {
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private static double Active(HorizonHost host) =>
        new[] { "plaintext", "pickle", "statsd_tcp" }.Sum(l => host.ConnectionMetrics.ConnectionsActive.WithLabels(l).Value);

    [Fact]
    public async Task TheIngestListenersShareOneConnectionBoundAndARefusalIsCounted()
    {
        await using var host = await HorizonHost.StartAsync(null, new Dictionary<string, string?> { ["Listeners:MaxConnections"] = "3" });
        using var a = await ConnectAsync(host.Endpoint("plaintext"));
        using var b = await ConnectAsync(host.Endpoint("plaintext"));
        using var c = await ConnectAsync(host.Endpoint("pickle"));
        await WaitUntilAsync(() => Task.FromResult(Active(host) == 3), "three connections open");

        using var fourth = await ConnectAsync(host.Endpoint("pickle"));
        Assert.True(await ClosedByServerAsync(fourth, TimeSpan.FromSeconds(10)), "the fourth connection should be closed");
        Assert.Equal(1, host.ConnectionMetrics.ConnectionsRefused.WithLabels("pickle").Value);

        // A freed place is taken again.
        a.Dispose();
        await WaitUntilAsync(() => Task.FromResult(Active(host) == 2), "a connection closed");
        await SendTcpAsync(host.Endpoint("plaintext"), $"limit.ok 1 {Now}\n");
        await WaitUntilAsync(() => Task.FromResult(host.WriterMetrics.PointsStored.WithLabels("plaintext").Value == 1), "the point stored");
    }

    [Fact]
    public async Task IdleHttpConnectionsDoNotCutOffHealthOrMetrics()
    {
        // The ingest bound is small; HTTP has its own. 100 idle connections to the web port used
        // to take every place of the shared bound.
        await using var host = await HorizonHost.StartAsync(null, new Dictionary<string, string?> { ["Listeners:MaxConnections"] = "50" });
        var idle = new List<TcpClient>();
        try
        {
            for (var i = 0; i < 100; i++)
            {
                idle.Add(await ConnectAsync(host.Endpoint("web")));
            }
            using var http = new HttpClient();
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync($"http://{host.Endpoint("web")}/health/live", Ct)).StatusCode);
            Assert.Contains("horizon_points_received_total", await http.GetStringAsync($"http://{host.Endpoint("web")}/metrics", Ct), StringComparison.Ordinal);
            using var ingest = await ConnectAsync(host.Endpoint("plaintext"));
            await WaitUntilAsync(() => Task.FromResult(Active(host) == 1), "an ingest connection admitted");
        }
        finally
        {
            idle.ForEach(c => c.Dispose());
        }
    }

    [Fact]
    public async Task AnIngestConnectionThatSendsNothingIsClosedAfterTheIdleTimeoutAndABusyOneIsNot()
    {
        await using var host = await HorizonHost.StartAsync(null, new Dictionary<string, string?> { ["Listeners:IdleTimeout"] = "00:00:01" });
        using var quiet = await ConnectAsync(host.Endpoint("plaintext"));
        using var busy = await ConnectAsync(host.Endpoint("plaintext"));
        var now = Now;
        for (var i = 0; i < 10; i++)
        {
            await busy.GetStream().WriteAsync(Encoding.ASCII.GetBytes($"idle.busy {i} {now - 10 + i}\n"), Ct);
            await Task.Delay(300, Ct);
        }
        Assert.True(await ClosedByServerAsync(quiet, TimeSpan.FromSeconds(5)), "the quiet connection should have been closed");
        Assert.Equal(1, host.ConnectionMetrics.ConnectionsClosed.WithLabels("plaintext", "idle_timeout").Value);
        await WaitUntilAsync(() => Task.FromResult(host.WriterMetrics.PointsStored.WithLabels("plaintext").Value == 10), "the busy connection's points stored");
        Assert.Equal(1, host.ConnectionMetrics.ConnectionsActive.WithLabels("plaintext").Value);
    }

    [Fact]
    public async Task ARequestAddressedToAnotherHostIsRefused()
    {
        await using var host = await HorizonHost.StartAsync(null);
        var web = host.Endpoint("web");
        using var http = new HttpClient();
        using var rebound = new HttpRequestMessage(HttpMethod.Get, $"http://{web}/api/anomalies");
        rebound.Headers.Host = $"attacker.example:{web.Port}";
        Assert.Equal(HttpStatusCode.BadRequest, (await http.SendAsync(rebound, Ct)).StatusCode);
        using var local = new HttpRequestMessage(HttpMethod.Get, $"http://{web}/api/anomalies");
        local.Headers.Host = $"localhost:{web.Port}";
        Assert.Equal(HttpStatusCode.OK, (await http.SendAsync(local, Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync($"http://{web}/api/anomalies", Ct)).StatusCode);
    }
}
