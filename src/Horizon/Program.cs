using Horizon;

if (args is ["--version"] or ["-V"])
{
    Console.WriteLine(BuildInfo.Line);
    return 0;
}
var (role, switches) = HorizonApp.ParseRole(args);
if (role is null)
{
    Console.Error.WriteLine("""
        usage: horizon --version
               horizon [all|ingest|analyze|web] [--redis host:port] [--data dir] [--bind address] [--web-port port] [--shard i/N] [--Section:Key=value ...]

          all     every role in one process (default); uses the embedded store unless --redis is given
          ingest  carbon plaintext (2003), carbon pickle (2024), StatsD (8125 UDP and TCP), msgpack (2025 UDP),
                  logs (syslog 5140 UDP and TCP, plain 5141, JSON 5142), Roomba
          analyze the analyzer; --shard i/N analyses one of N shards of the metrics, --shard auto
                  shares them with the other live analyzers (leases in the store)
          web     /metrics and the status API (port 1500)

        Settings come from appsettings.json, ./horizon.json, HORIZON_-prefixed environment variables
        (HORIZON_Store__Redis=...) and --Section:Key=value switches, in that order; see README.md.
        """);
    return args.Length > 0 && args[0] is "--help" or "-h" ? 0 : 2;
}
// The analyzer's pass holds pool threads for seconds (a Parallel.ForEach over every series); a web
// request that finds no idle thread waits for the pool to add one, about a second on two cores.
// Threads kept ready spare it that.
ThreadPool.GetMinThreads(out var workers, out var completions);
ThreadPool.SetMinThreads(Math.Max(workers, 64), Math.Max(completions, 64));
try
{
    await HorizonApp.Build(role.Value, switches).RunAsync();
    return 0;
}
catch (Exception e) when (e is ArgumentException or InvalidOperationException or IOException)
{
    Console.Error.WriteLine($"horizon: {e.Message}");
    return 1;
}
