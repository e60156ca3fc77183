using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using static Horizon.Integration.Tests.TestSupport;

namespace Horizon.Integration.Tests;

/// <summary>What an operator asks a running Horizon: which build, what it holds, in one JSON style.</summary>
public sealed class OperationsTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task TheVersionSwitchPrintsTheReleaseAndCommitAndExits()
    {
        using var process = Process.Start(new ProcessStartInfo("dotnet", [Path.Combine(AppContext.BaseDirectory, "horizon.dll"), "--version"])
        {
            RedirectStandardOutput = true,
        })!;
        var output = await process.StandardOutput.ReadToEndAsync(Ct);
        await process.WaitForExitAsync(Ct);
        Assert.Equal(0, process.ExitCode);
        Assert.Matches(@"^horizon \d+\.\d+\.\d+ \(commit [0-9a-f]{12}, \.NET \d+", output);
        Assert.StartsWith($"horizon {BuildInfo.Version} (commit {BuildInfo.Commit[..12]}", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StatusAndAnomaliesNameTheirFieldsAlikeAndTheBuildIsExported()
    {
        await using var host = await HorizonHost.StartAsync(null);
        var web = $"http://{host.Endpoint("web")}";
        await SendTcpAsync(host.Endpoint("plaintext"), $"ops.metric 1 {Now}\n");
        await AnalyzerTests.WaitForPassesAsync(host, 1);
        using var http = new HttpClient();
        var status = await http.GetFromJsonAsync<JsonElement>($"{web}/api/status", Ct);
        Assert.Equal(BuildInfo.Version, status.GetProperty("version").GetString());
        Assert.Equal(BuildInfo.Commit, status.GetProperty("commit").GetString());
        Assert.Equal(0, status.GetProperty("series_at_start").GetInt64());
        Assert.True(status.GetProperty("known_metrics").GetInt32() >= 1);
        Assert.True(status.GetProperty("analyzer").GetProperty("duration_seconds").GetDouble() >= 0);
        var anomalies = await http.GetFromJsonAsync<JsonElement>($"{web}/api/anomalies", Ct);
        // One style everywhere: no field name with a capital letter, in either document.
        Assert.DoesNotContain(Names(status).Concat(Names(anomalies)), n => n.Any(char.IsUpper));

        var scrape = await host.ScrapeAsync();
        Assert.Contains($"horizon_build_info{{version=\"{BuildInfo.Version}\",commit=\"{BuildInfo.Commit}\",runtime=\"{BuildInfo.Runtime}\"}} 1", scrape, StringComparison.Ordinal);
    }

    // Property names, recursively; the listeners' and the votes' keys are names of things, not fields.
    private static IEnumerable<string> Names(JsonElement e, string? parent = null) => e.ValueKind switch
    {
        JsonValueKind.Object => e.EnumerateObject().SelectMany(p =>
            (parent is "listeners" or "votes" or "skipped" ? [] : new[] { p.Name }).Concat(Names(p.Value, p.Name))),
        JsonValueKind.Array => e.EnumerateArray().SelectMany(v => Names(v, parent)),
        _ => [],
    };
}
