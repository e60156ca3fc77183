using Horizon.Load;

const string Usage = """
    horizon-load: load harness for Horizon (loopback targets only)

      horizon-load seed --metrics N [--hours 24] [--step 60] [--prefix load] [--shape kind]
                        [--via writer|plaintext|pickle|msgpack] [--redis 127.0.0.1:6379] [--target host:port] [--json file]
                        [--rollup-days D] [--name-index skyline|split|both]
          Backfills history. "writer" (default) writes through Horizon's own series writer
          straight into Redis (pipelined APPEND of whole series: the fast way; --name-index: the
          Series:NameIndex the Horizon processes on that store use); a protocol sends
          through Horizon's listener, which accepts history only when its Series:MaxResolution
          covers it (e.g. --Series:MaxResolution=90000). --rollup-days also stores D days of
          10-minute roll-ups before the seeded points (horizon.rollup.<name>, as the analyzer keeps
          them), so ensemble mode judges with weeks of history (seasonality, recurrence, drift).

      horizon-load run --metrics N [--protocol plaintext,pickle,statsd-udp,statsd-tcp,msgpack]
                       [--resolution 10 | --max | --rate R] [--connections 4] [--duration 60s] [--count K]
                       [--host 127.0.0.1] [--target host:port] [--target-<protocol> host:port]
                       [--metrics-url http://127.0.0.1:1500/metrics] [--redis 127.0.0.1:6389]
                       [--inject K] [--inject-after 30s] [--inject-points 3] [--detect-wait 60s]
                       [--settle 3s] [--no-verify] [--json file] [--prefix load] [--shape kind]
          Sends live traffic: each metric one point per resolution period, or as fast as the
          target takes it (--max), or at R points/s in all (--rate, timestamps as with --max:
          how UDP's loss-free ceiling is found); metrics split over the protocols and connections. Shows
          progress every second (sent, received and stored by Horizon, lag), injects K labelled
          anomalies, then reads every point back from Redis and reports loss per protocol, UDP
          drops (kernel vs Horizon), detection recall and latency, and false alarms.

      horizon-load similar --metrics N [--url http://127.0.0.1:1500] [--queries 500] [--range 1d]
                           [--mode euclidean|shift|dtw] [--check-every 10] [--wait 10m] [--json file] [--prefix load] [--shape kind]
          Similarity queries (/api/similar, one at a time) by the seeded names, once the analyzer
          has indexed them: the server's search time and the round trip, p50 and p99, and every
          Nth query checked against the brute-force reference (recall@10).

      shapes: noise, daily, counter, spiky, levelshift, drift (default: a mix of all)
    """;

if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
{
    Console.WriteLine(Usage);
    return args.Length == 0 ? 2 : 0;
}
try
{
    var options = new Options(args.Skip(1));
    return args[0] switch
    {
        "seed" => await Seeder.RunAsync(options),
        "run" => await new LiveRun(options).RunAsync(),
        "similar" => await SimilarRun.RunAsync(options),
        _ => throw new ArgumentException($"unknown command '{args[0]}'"),
    };
}
catch (ArgumentException e)
{
    Console.Error.WriteLine($"horizon-load: {e.Message}");
    Console.Error.WriteLine(Usage);
    return 2;
}
