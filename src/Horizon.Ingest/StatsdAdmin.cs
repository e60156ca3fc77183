using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Horizon.Core.Protocols;
using Horizon.Core.Statsd;

namespace Horizon.Ingest;

/// <summary>
/// StatsD's management interface (etsy/statsd, TCP 8126), one command a line: <c>help</c>,
/// <c>stats</c> (uptime, <c>messages.*</c> and the backend's <c>graphite.*</c>, the <c>last_*</c>
/// ones as seconds ago), <c>counters</c>, <c>timers</c>, <c>gauges</c> (the interval so far, as
/// node's util.inspect prints an object, one key a line), <c>delcounters</c>, <c>deltimers</c>,
/// <c>delgauges</c> (names, or prefixes ending in <c>*</c>), <c>health</c> (and <c>health up</c>,
/// <c>health down</c>, for a load balancer's check), <c>config</c> and <c>quit</c>; anything else
/// answers <c>ERROR</c>.
/// </summary>
public sealed partial class StatsdAdmin(IngestServices services, StatsdOptions options, StatsdFlusher flusher)
{
    private readonly long _started = services.NowSeconds();
    private volatile bool _up = true;

    /// <summary>Runs one command line; null means close the connection.</summary>
    public string? Run(string line)
    {
        var words = line.Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var args = words.Skip(1);
        return words.FirstOrDefault() switch
        {
            "help" => "Commands: stats, counters, timers, gauges, delcounters, deltimers, delgauges, health, config, quit\n\n",
            "stats" => Stats(),
            "counters" => Inspect(services.Statsd.CurrentCounters().Select(c => (c.Name, Number(c.Value)))),
            "timers" => Inspect(services.Statsd.Current(StatsdType.Timer).Select(t => (t.Name, $"[{string.Join(", ", t.Values!.Select(Number))}]"))),
            "gauges" => Inspect(services.Statsd.Current(StatsdType.Gauge).Select(g => (g.Name, Number(g.Value)))),
            "delcounters" => Delete(StatsdType.Counter, args),
            "deltimers" => Delete(StatsdType.Timer, args),
            "delgauges" => Delete(StatsdType.Gauge, args),
            "health" => Health(args.FirstOrDefault()),
            "config" => Config(),
            "quit" => null,
            _ => "ERROR\n",
        };
    }

    private string Stats()
    {
        var now = services.NowSeconds();
        var (lastMessage, badLines) = services.Statsd.Messages(now);
        var (lastFlush, lastException, flushTime, flushLength) = flusher.BackendStatus;
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"uptime: {now - _started}\n");
        text.Append(CultureInfo.InvariantCulture, $"messages.last_msg_seen: {now - lastMessage}\n");
        text.Append(CultureInfo.InvariantCulture, $"messages.bad_lines_seen: {badLines}\n");
        text.Append(CultureInfo.InvariantCulture, $"graphite.last_flush: {now - (long)lastFlush}\n");
        text.Append(CultureInfo.InvariantCulture, $"graphite.last_exception: {now - (long)lastException}\n");
        text.Append(CultureInfo.InvariantCulture, $"graphite.flush_time: {Number(flushTime)}\n");
        text.Append(CultureInfo.InvariantCulture, $"graphite.flush_length: {Number(flushLength)}\n");
        return text.Append("END\n\n").ToString();
    }

    private string Delete(StatsdType type, IEnumerable<string> names)
    {
        var text = new StringBuilder();
        foreach (var name in names)
        {
            var deleted = services.Statsd.Delete(type, name);
            if (deleted.Count == 0)
            {
                text.Append(CultureInfo.InvariantCulture, $"metric {name} not found\n");
            }
            foreach (var d in deleted)
            {
                text.Append(CultureInfo.InvariantCulture, $"deleted: {d}\n");
            }
        }
        return text.Append("END\n\n").ToString();
    }

    private string Health(string? change)
    {
        if (string.Equals(change, "up", StringComparison.OrdinalIgnoreCase))
        {
            _up = true;
        }
        else if (string.Equals(change, "down", StringComparison.OrdinalIgnoreCase))
        {
            _up = false;
        }
        return $"health: {(_up ? "up" : "down")}\n";
    }

    private string Config()
    {
        var text = new StringBuilder("\n");
        void Line(string key, object value) => text.Append(CultureInfo.InvariantCulture, $"{key}: {value}\n");
        Line("flushInterval", (long)options.FlushInterval.TotalMilliseconds);
        Line("percentThreshold", string.Join(",", options.PercentThreshold.Select(Number)));
        Line("deleteIdleStats", Bool(options.DeleteIdleStats));
        Line("deleteCounters", Bool(options.DeleteCounters));
        Line("deleteTimers", Bool(options.DeleteTimers));
        Line("deleteGauges", Bool(options.DeleteGauges));
        Line("deleteSets", Bool(options.DeleteSets));
        Line("flush_counts", Bool(options.FlushCounts));
        Line("prefixStats", options.PrefixStats);
        Line("graphite > legacyNamespace", Bool(options.LegacyNamespace));
        Line("graphite > globalPrefix", options.GlobalPrefix);
        Line("graphite > prefixCounter", options.PrefixCounter);
        Line("graphite > prefixTimer", options.PrefixTimer);
        Line("graphite > prefixGauge", options.PrefixGauge);
        Line("graphite > prefixSet", options.PrefixSet);
        foreach (var h in options.Histogram)
        {
            Line("histogram", $"{{ metric: '{h.Metric}', bins: [{string.Join(", ", h.Bins)}] }}");
        }
        return text.ToString();
    }

    private static string Bool(bool value) => value ? "true" : "false";

    // As JavaScript prints a number: whole numbers without a fraction, others in full.
    private static string Number(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    // As node's util.inspect prints an object, one key a line; keys that are not identifiers quoted.
    private static string Inspect(IEnumerable<(string Key, string Value)> entries)
    {
        var lines = entries.Select(e => $"  {(Identifier().IsMatch(e.Key) ? e.Key : "'" + e.Key.Replace("'", "\\'", StringComparison.Ordinal) + "'")}: {e.Value}").ToList();
        var body = lines.Count == 0 ? "{}" : "{\n" + string.Join(",\n", lines) + "\n}";
        return body + "\nEND\n\n";
    }

    [GeneratedRegex("^[A-Za-z_$][A-Za-z0-9_$]*$")]
    private static partial Regex Identifier();
}
