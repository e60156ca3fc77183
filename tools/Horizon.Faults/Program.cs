using System.Globalization;
using Horizon.Faults;

const string Usage = """
    horizon-faults: Horizon's fault suite (loopback only; needs redis-server, and root for disk-full)

      horizon-faults [scenario ...] [--seconds 9] [--rate 20000] [--names 2000] [--writer direct|multiplexer]
                     [--crash-window 1.0] [--repeat 1] [--out results.md]

      Streams numbered points over carbon plaintext through a real horizon process into a real
      store, injects the fault and reads every point back: sent, stored, lost, duplicated,
      reordered, and series missing from metrics.unique_metrics. Exits 1 if a scenario did not
      hold. Scenarios (default: all):

        store-kill     redis-server killed (SIGKILL) for 2 s, restarted
        store-stop     redis-server stopped (SIGTERM) for 2 s, restarted
        store-slow     the store answers nothing for 6 s
        host-term      SIGTERM to the ingest process, restarted
        host-kill      kill -9 of the ingest process (on redis-server), restarted
        embedded-kill  kill -9 of the all-in-one process on the embedded store, restarted
        disk-full      the embedded store's disk fills up (a 64 MB tmpfs, a 24 MB reserve), then grows
    """;

var scenarios = new List<string>();
var options = new FaultOptions();
var repeat = 1;
string? output = null;
try
{
    for (var i = 0; i < args.Length; i++)
    {
        string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
        double Number() => double.Parse(Value(), CultureInfo.InvariantCulture);
        switch (args[i])
        {
            case "-h" or "--help":
                Console.WriteLine(Usage);
                return 0;
            case "--seconds": options = options with { Seconds = Number() }; break;
            case "--rate": options = options with { Rate = Number() }; break;
            case "--names": options = options with { Names = (int)Number() }; break;
            case "--writer": options = options with { Writer = Value() is "direct" or "multiplexer" ? args[i] : throw new ArgumentException("--writer is direct or multiplexer") }; break;
            case "--crash-window": options = options with { CrashWindow = Number() }; break;
            case "--repeat": repeat = (int)Number(); break;
            case "--out": output = Value(); break;
            case var name when Scenarios.All.ContainsKey(name): scenarios.Add(name); break;
            default: throw new ArgumentException($"unknown argument '{args[i]}'");
        }
    }
}
catch (Exception e) when (e is ArgumentException or FormatException)
{
    Console.Error.WriteLine($"horizon-faults: {e.Message}");
    Console.Error.WriteLine(Usage);
    return 2;
}
if (scenarios.Count == 0)
{
    scenarios.AddRange(Scenarios.All.Keys);
}

var reports = new List<FaultReport>();
Console.WriteLine(FaultReport.Header);
foreach (var name in scenarios)
{
    for (var r = 0; r < repeat; r++)
    {
        FaultReport report;
        try
        {
            report = await Scenarios.All[name](options);
        }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException or IOException or StackExchange.Redis.RedisException)
        {
            report = new FaultReport(name, "?", new AuditResult(0, 0, 0, 0, 0, 0, 0, 0, 0), "", false, $"the run failed: {e.Message.Split('\n')[0]}");
        }
        reports.Add(report);
        Console.WriteLine(report.Row());
    }
}
var command = "horizon-faults " + string.Join(' ', args);
if (output is not null)
{
    await File.WriteAllTextAsync(output, $"""
        `{command}` ({DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores)

        {FaultReport.Header}
        {string.Join('\n', reports.Select(r => r.Row()))}

        """);
}
var failed = reports.Count(r => !r.Passed);
Console.WriteLine(failed == 0 ? $"all {reports.Count} runs held" : $"{failed} of {reports.Count} runs did not hold");
return failed == 0 ? 0 : 1;
