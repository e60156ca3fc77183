using System.Diagnostics;
using System.Net.Sockets;
using static Horizon.Integration.Tests.AnalyzerTests;
using static Horizon.Integration.Tests.TestSupport;

namespace Horizon.Integration.Tests;

/// <summary>Incident e-mail through a real SMTP server: Debian's aiosmtpd (python3-aiosmtpd, which
/// test.sh installs) on a free loopback port, delivering into a Maildir the test reads.</summary>
public sealed class IncidentMailTests
{
    [Fact]
    public async Task AnIncidentIsMailedWhenItOpensAndWhenItResolves()
    {
        var binary = new[] { "/usr/bin/aiosmtpd", "/usr/local/bin/aiosmtpd" }.FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException("aiosmtpd is not installed (test.sh installs python3-aiosmtpd with apt-get)");
        var maildir = Path.Combine(Path.GetTempPath(), "horizon-mail-" + Guid.NewGuid().ToString("N"));
        var port = RedisServer.FreePort();
        using var smtp = Process.Start(new ProcessStartInfo(binary)
        {
            ArgumentList = { "-n", "-l", $"127.0.0.1:{port}", "-c", "aiosmtpd.handlers.Mailbox", maildir },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        smtp.BeginOutputReadLine();
        smtp.BeginErrorReadLine();
        try
        {
            await WaitUntilAsync(async () =>
            {
                using var probe = new TcpClient();
                try
                {
                    await probe.ConnectAsync("127.0.0.1", port, TestContext.Current.CancellationToken);
                    return true;
                }
                catch (SocketException)
                {
                    return false;
                }
            }, "the SMTP server listening", 30);
            await using var host = await HorizonHost.StartAsync(null, new Dictionary<string, string?>
            {
                ["Analyzer:MinPassInterval"] = "00:00:00.5",
                ["Analyzer:Mode"] = "ensemble",
                ["Analyzer:Incidents:ResolveAfter"] = "00:00:03",
                ["Analyzer:Alerts:ExternalUrl"] = "https://horizon.example",
                ["Analyzer:Alerts:IncidentReceivers:0:Kind"] = "email",
                ["Analyzer:Alerts:IncidentReceivers:0:Url"] = $"smtp://127.0.0.1:{port}",
                ["Analyzer:Alerts:IncidentReceivers:0:From"] = "horizon@example.com",
                ["Analyzer:Alerts:IncidentReceivers:0:To:0"] = "oncall@example.com",
                ["Analyzer:Alerts:IncidentReceivers:0:To:1"] = "payments@example.com",
            });
            var now = Now;
            var random = new Random(6);
            await SeedAsync(host.Db, "mail.checkout.latency", Day(now, i => i == 1439 ? 900 : 100 + (random.NextDouble() * 10)));

            var mails = Path.Combine(maildir, "new");
            string[] Mails() => Directory.Exists(mails) ? [.. Directory.GetFiles(mails).Select(File.ReadAllText)] : [];
            await WaitUntilAsync(() => Task.FromResult(Mails().Length >= 1), "the incident mailed", 60);
            var opened = Assert.Single(Mails());
            Assert.Matches("(?m)^Subject: \\[(WARNING|CRITICAL)\\] Horizon: mail.checkout.latency is anomalous", opened);
            Assert.Contains("To: oncall@example.com, payments@example.com", opened, StringComparison.Ordinal);
            Assert.Matches("(?m)^X-Horizon-Incident: [0-9T]+Z-1", opened);
            Assert.Contains("level: expected 10", opened, StringComparison.Ordinal);
            Assert.Contains("https://horizon.example/#incident=", opened, StringComparison.Ordinal);

            await host.Db.StringAppendAsync("metrics.mail.checkout.latency", Encode([(now + 60, 104)]));
            await WaitUntilAsync(() => Task.FromResult(Mails().Length >= 2), "the resolve mailed", 60);
            Assert.Contains(Mails(), m => m.Contains("Subject: [RESOLVED] Horizon: mail.checkout.latency was anomalous", StringComparison.Ordinal)
                && m.Contains(", resolved ", StringComparison.Ordinal));
        }
        finally
        {
            smtp.Kill(entireProcessTree: true);
            await smtp.WaitForExitAsync(TestContext.Current.CancellationToken);
            if (Directory.Exists(maildir))
            {
                Directory.Delete(maildir, recursive: true);
            }
        }
    }
}
