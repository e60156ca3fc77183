using System.Text;
using Horizon.Core.Metrics;
using Horizon.Core.Protocols;
using Horizon.Core.Statsd;

namespace Horizon.Core.Tests;

public sealed class StatsdAggregatorTests
{
    private static StatsdAggregator Create(StatsdOptions? options = null) =>
        new(options ?? new StatsdOptions(), new MetricRegistry());

    private static int Send(StatsdAggregator aggregator, string packet)
    {
        var rejects = default(RejectTally);
        aggregator.Process(Encoding.UTF8.GetBytes(packet), ref rejects);
        return rejects.Total;
    }

    private static Dictionary<string, double> Flush(StatsdAggregator aggregator)
    {
        var rejects = default(RejectTally);
        var result = aggregator.Flush(ref rejects).ToDictionary(o => o.Key.ToString(), o => o.Value);
        Assert.True(rejects.IsEmpty);
        return result;
    }

    [Fact]
    public void ATimerWhoseSquaresOverflowIsNotFlushedAsInfinityButCountedAsRejected()
    {
        // Found by horizon-fuzz: sum_squares of 1e200 is infinite, and infinities were stored.
        var agg = Create();
        Send(agg, "big.timer:1e200|ms");
        var rejects = default(RejectTally);
        var flushed = agg.Flush(ref rejects).ToDictionary(o => o.Key.ToString(), o => o.Value);
        Assert.All(flushed.Values, v => Assert.True(double.IsFinite(v)));
        Assert.False(flushed.ContainsKey("stats.timers.big.timer.sum_squares"));
        Assert.False(flushed.ContainsKey("stats.timers.big.timer.sum_squares_90"));
        Assert.Equal(1e200, flushed["stats.timers.big.timer.upper"]);
        Assert.Equal(2, rejects[(int)RejectReason.NonFiniteValue]);
    }

    [Fact]
    public void CountersSumSamplesScaledBySampleRateAndFlushRateAndCount()
    {
        var agg = Create();
        Send(agg, "api.requests:1|c\napi.requests:2|c|@0.5");
        var flushed = Flush(agg);
        Assert.Equal(5, flushed["stats_counts.api.requests"]);
        Assert.Equal(0.5, flushed["stats.api.requests"]);
    }

    [Fact]
    public void TimersFlushEveryStatisticStatsdComputes()
    {
        var agg = Create();
        Send(agg, string.Join('\n', Enumerable.Range(1, 10).Reverse().Select(i => $"db.query:{i}|ms")));
        var f = Flush(agg);
        const string p = "stats.timers.db.query.";
        Assert.Equal(9, f[p + "count_90"]);
        Assert.Equal(5, f[p + "mean_90"]);
        Assert.Equal(9, f[p + "upper_90"]);
        Assert.Equal(45, f[p + "sum_90"]);
        Assert.Equal(285, f[p + "sum_squares_90"]);
        Assert.Equal(Math.Sqrt(8.25), f[p + "std"]);
        Assert.Equal(10, f[p + "upper"]);
        Assert.Equal(1, f[p + "lower"]);
        Assert.Equal(10, f[p + "count"]);
        Assert.Equal(1, f[p + "count_ps"]);
        Assert.Equal(55, f[p + "sum"]);
        Assert.Equal(385, f[p + "sum_squares"]);
        Assert.Equal(5.5, f[p + "mean"]);
        Assert.Equal(5.5, f[p + "median"]);
        Assert.Equal(14, f.Keys.Count(k => k.StartsWith(p, StringComparison.Ordinal)));
    }

    [Fact]
    public void HistogramAndDistributionSamplesAreTimersAndSampleRatesScaleTheirCount()
    {
        var agg = Create();
        Send(agg, "lat:100|h|@0.1\nlat:300|d");
        var f = Flush(agg);
        Assert.Equal(11, f["stats.timers.lat.count"]);
        Assert.Equal(1.1, f["stats.timers.lat.count_ps"], 12);
        Assert.Equal(200, f["stats.timers.lat.mean"]);
    }

    [Fact]
    public void NegativePercentilesAreNamedTopAndTakeTheLowestValues()
    {
        var agg = Create(new StatsdOptions { PercentThreshold = [-20, 99.5] });
        Send(agg, string.Join('\n', Enumerable.Range(1, 10).Select(i => $"t:{i}|ms")));
        var f = Flush(agg);
        Assert.Equal(2, f["stats.timers.t.count_top20"]);
        Assert.Equal(9, f["stats.timers.t.lower_top20"]);
        Assert.Equal(19, f["stats.timers.t.sum_top20"]);
        Assert.Equal(10, f["stats.timers.t.upper_99_5"]);
    }

    [Fact]
    public void IdleStatsAreSentAsZerosByDefaultAndDeletedWhenConfigured()
    {
        var keep = Create();
        Send(keep, "c:3|c\nt:5|ms\ng:7|g\ns:x|s");
        Flush(keep);
        var idle = Flush(keep);
        Assert.Equal(0, idle["stats_counts.c"]);
        Assert.Equal(0, idle["stats.c"]);
        Assert.Equal(0, idle["stats.timers.t.count"]);
        Assert.Equal(0, idle["stats.timers.t.count_ps"]);
        Assert.False(idle.ContainsKey("stats.timers.t.mean"));
        Assert.Equal(7, idle["stats.gauges.g"]);
        Assert.Equal(0, idle["stats.sets.s.count"]);

        var delete = Create(new StatsdOptions { DeleteIdleStats = true });
        Send(delete, "c:3|c\nt:5|ms\ng:7|g\ns:x|s");
        var first = Flush(delete);
        Assert.Equal(3, first["stats_counts.c"]);
        var second = Flush(delete);
        Assert.All(second.Keys, k => Assert.Contains("statsd.", k, StringComparison.Ordinal)); // StatsD's own only
        Assert.Equal(0, delete.KeyCount);
    }

    [Fact]
    public void GaugesTakeValuesAndSignedDeltas()
    {
        var agg = Create();
        Send(agg, "g:10|g\ng:+5|g\ng:-3|g\nfresh:-4|g");
        var f = Flush(agg);
        Assert.Equal(12, f["stats.gauges.g"]);
        Assert.Equal(-4, f["stats.gauges.fresh"]); // a delta on an unknown gauge sets it
        Send(agg, "g:+1|g");
        Assert.Equal(13, Flush(agg)["stats.gauges.g"]);
    }

    [Fact]
    public void SetsCountDistinctMembersPerInterval()
    {
        var agg = Create();
        Send(agg, "users:alice|s\nusers:bob|s\nusers:alice|s");
        Assert.Equal(2, Flush(agg)["stats.sets.users.count"]);
        Send(agg, "users:carol|s");
        Assert.Equal(1, Flush(agg)["stats.sets.users.count"]);
    }

    [Fact]
    public void SeveralValuesPerLineAndSeveralLinesPerPacketAreAccepted()
    {
        var agg = Create();
        Assert.Equal(0, Send(agg, "a:1|c:2|c\r\nb:4|ms\n\n"));
        var f = Flush(agg);
        Assert.Equal(3, f["stats_counts.a"]);
        Assert.Equal(4, f["stats.timers.b.mean"]);
        Assert.Equal(1, f["stats_counts.statsd.packets_received"]);
        Assert.Equal(2, f["stats_counts.statsd.metrics_received"]);
    }

    [Fact]
    public void KeysAreSanitisedAsStatsdDoes()
    {
        var agg = Create();
        Send(agg, "my  metric/name!#x:1|c");
        Assert.Contains("stats_counts.my_metric-namex", Flush(agg).Keys);
    }

    [Fact]
    public void TagsAndUnknownExtraFieldsAreIgnored()
    {
        var agg = Create();
        Assert.Equal(0, Send(agg, "tagged:2|c|@0.5|#env:prod,az:1\nother:1|c|#a:b"));
        var f = Flush(agg);
        Assert.Equal(4, f["stats_counts.tagged"]);
        Assert.Equal(1, f["stats_counts.other"]);
    }

    [Fact]
    public void BadSamplesAreRejectedOneByOneWithTheirReasonAndCounted()
    {
        var agg = Create();
        var rejects = default(RejectTally);
        agg.Process("nocolon\nx:1\nx:abc|c\nx:1|zz\nx:1|c|@2\nx:1|c|@abc\nx:-5|ms\nx:nan|g\n:1|c\nok:1|c:bad|c"u8, ref rejects);
        Assert.Equal(1, rejects[(int)RejectReason.MissingField] - 1); // "nocolon" and "x:1"
        Assert.Equal(3, rejects[(int)RejectReason.BadValue]);          // abc, -5 ms, "bad"
        Assert.Equal(1, rejects[(int)RejectReason.UnknownType]);
        Assert.Equal(2, rejects[(int)RejectReason.BadSampleRate]);
        Assert.Equal(1, rejects[(int)RejectReason.NonFiniteValue]);
        Assert.Equal(1, rejects[(int)RejectReason.EmptyName]);
        var f = Flush(agg);
        Assert.Equal(1, f["stats_counts.ok"]);
        Assert.Equal(rejects.Total, f["stats_counts.statsd.bad_lines_seen"]);
    }

    [Fact]
    public void TheDefaultIsStatsdsLegacyNamespaceAndTheOtherOneIsOneSettingAway()
    {
        var legacy = Create();
        Send(legacy, "hits:20|c\nt:5|ms\ng:7|g\ns:x|s");
        var f = Flush(legacy);
        Assert.Equal(2, f["stats.hits"]);
        Assert.Equal(20, f["stats_counts.hits"]);
        Assert.Equal(5, f["stats.timers.t.upper"]);
        Assert.Equal(7, f["stats.gauges.g"]);
        Assert.Equal(1, f["stats.sets.s.count"]);
        Assert.Equal(1, f["stats_counts.statsd.packets_received"]);
        Assert.Equal(7, f["statsd.numStats"]); // three of its own counters and four keys
        Assert.True(f.ContainsKey("stats.statsd.processing_time"));

        var modern = Create(new StatsdOptions { LegacyNamespace = false, PrefixCounter = "c", PrefixTimer = "", GlobalPrefix = "app" });
        Send(modern, "hits:20|c\nt:5|ms");
        f = Flush(modern);
        Assert.Equal(2, f["app.c.hits.rate"]);
        Assert.Equal(20, f["app.c.hits.count"]);
        Assert.Equal(5, f["app.t.upper"]);
        Assert.Equal(1, f["app.c.statsd.packets_received.count"]);
        Assert.Equal(5, f["app.statsd.numStats"]);
        Assert.True(f.ContainsKey("app.statsd.processing_time"));
    }

    [Fact]
    public void TimestampLagSaysHowLateAFlushRanFromTheSecondFlushOn()
    {
        var agg = Create();
        var rejects = default(RejectTally);
        Assert.DoesNotContain(agg.Flush(1_800_000_000, ref rejects), o => o.Key.ToString().Contains("timestamp_lag", StringComparison.Ordinal));
        var second = agg.Flush(1_800_000_013, ref rejects).ToDictionary(o => o.Key.ToString(), o => o.Value);
        Assert.Equal(3, second["stats.gauges.statsd.timestamp_lag"]);
        Assert.Equal(4, second["statsd.numStats"]); // the lag is a gauge, counted like one
        var third = agg.Flush(1_800_000_023, ref rejects).ToDictionary(o => o.Key.ToString(), o => o.Value);
        Assert.Equal(0, third["stats.gauges.statsd.timestamp_lag"]);
        Assert.True(rejects.IsEmpty);
    }

    [Fact]
    public void HistogramBinsCountSamplesBelowEachBoundAsStatsdDoes()
    {
        var agg = Create(new StatsdOptions
        {
            Histogram =
            [
                new StatsdHistogram { Metric = "api", Bins = ["0.5", "10", "100"] },
                new StatsdHistogram { Metric = "", Bins = ["1", "inf"] },
            ],
        });
        // Sorted: 0.1 0.5 3 10 10 99 100 500; bins: [.., 0.5) [0.5, 10) [10, 100); 100 and 500 uncounted.
        Send(agg, "api.latency:10|ms:3|ms:0.1|ms:500|ms:99|ms:0.5|ms:10|ms:100|ms\ndb.latency:0.2|ms:5|ms:1|ms");
        var f = Flush(agg);
        Assert.Equal(1, f["stats.timers.api.latency.histogram.bin_0_5"]);
        Assert.Equal(2, f["stats.timers.api.latency.histogram.bin_10"]);
        Assert.Equal(3, f["stats.timers.api.latency.histogram.bin_100"]);
        Assert.False(f.ContainsKey("stats.timers.api.latency.histogram.bin_inf"));
        // The first setting that matches wins; "" matches every timer; inf takes the rest.
        Assert.Equal(1, f["stats.timers.db.latency.histogram.bin_1"]);
        Assert.Equal(2, f["stats.timers.db.latency.histogram.bin_inf"]);
        // An idle timer sends only its counts, as StatsD does.
        var idle = Flush(agg);
        Assert.DoesNotContain(idle.Keys, k => k.Contains("histogram", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("10", "5")]
    [InlineData("inf", "10")]
    [InlineData("fast", "10")]
    public void HistogramBinsThatAreNotAscendingNumbersAreRefused(string first, string second) =>
        Assert.Throws<ArgumentException>(() => new StatsdOptions { Histogram = [new StatsdHistogram { Bins = [first, second] }] }.Validate());

    [Fact]
    public void TheAdminInterfaceSeesTheIntervalSoFarAndDeletesByNameOrPrefix()
    {
        var agg = Create();
        Send(agg, "web.hits:2|c\nweb.misses:1|c\napi.hits:5|c\nq:1|ms:2|ms\ng:4|g");
        Assert.Equal(
            [("statsd.packets_received", 1), ("statsd.metrics_received", 5), ("statsd.bad_lines_seen", 0), ("api.hits", 5), ("web.hits", 2), ("web.misses", 1)],
            agg.CurrentCounters());
        Assert.Equal([1.0, 2.0], Assert.Single(agg.Current(StatsdType.Timer)).Values!);
        Assert.Equal(["web.hits", "web.misses"], agg.Delete(StatsdType.Counter, "web.*"));
        Assert.Empty(agg.Delete(StatsdType.Counter, "api"));
        Assert.Equal(["api.hits"], agg.Delete(StatsdType.Counter, "api.hits"));
        Assert.Equal(2, agg.KeyCount);
        var f = Flush(agg);
        Assert.False(f.ContainsKey("stats_counts.web.hits"));
        Assert.Equal(4, f["stats.gauges.g"]);
    }

    [Fact]
    public void KeyLimitRefusesNewKeysButKeepsUpdatingKnownOnes()
    {
        var agg = Create(new StatsdOptions { MaxKeys = 2 });
        Assert.Equal(0, Send(agg, "a:1|c\nb:1|c"));
        var rejects = default(RejectTally);
        agg.Process("c:1|c\na:1|c"u8, ref rejects);
        Assert.Equal(1, rejects[(int)RejectReason.TooManyStatsdKeys]);
        var f = Flush(agg);
        Assert.Equal(2, f["stats_counts.a"]);
        Assert.False(f.ContainsKey("stats_counts.c"));
    }

    [Fact]
    public void ConcurrentWritersLoseNoSample()
    {
        var agg = Create();
        Parallel.For(0, 8, worker =>
        {
            for (var i = 0; i < 20_000; i++)
            {
                var rejects = default(RejectTally);
                agg.Process(Encoding.UTF8.GetBytes($"shared:1|c\nt{i % 50}:{i % 7}|ms\nown{worker}:2|c"), ref rejects);
            }
        });
        var f = Flush(agg);
        Assert.Equal(160_000, f["stats_counts.shared"]);
        Assert.Equal(160_000, Enumerable.Range(0, 50).Sum(i => f[$"stats.timers.t{i}.count"]));
        Assert.All(Enumerable.Range(0, 8), w => Assert.Equal(40_000, f[$"stats_counts.own{w}"]));
    }
}
