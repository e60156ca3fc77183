using Horizon.Algorithms.Detection;

namespace Horizon.Algorithms.Tests;

public sealed class EnsembleTests
{
    private const long Start = 1_700_000_000 - (1_700_000_000 % 86400); // midnight UTC

    private static (long[] Ts, double[] Values) Series(int n, int step, Func<int, long, double> value)
    {
        var ts = new long[n];
        var values = new double[n];
        for (var i = 0; i < n; i++)
        {
            ts[i] = Start + ((long)i * step);
            values[i] = value(i, ts[i]);
        }
        return (ts, values);
    }

    private static double Noise(int i) => Math.Sin(i * 12.9898) * 43758.5453 % 1; // deterministic, in (-1, 1)

    // Standard normal from a seeded generator (Box-Muller): independent, unlike Noise's neighbours.
    private static double Gaussian(Random random) => Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());

    private static Judgement Judge(long[] ts, double[] values, RollupHistory? history = null, MetricMetadata? metadata = null, EnsembleSettings? settings = null)
    {
        var judgement = new Judgement();
        new EnsembleDetector(settings).Judge(ts, values, new EnsembleState(history), metadata ?? MetricMetadata.Default, judgement);
        return judgement;
    }

    // The most points in a row that are quiet.
    private static int LongestRun(double[] values, Func<double, bool> quiet)
    {
        int longest = 0, run = 0;
        foreach (var v in values)
        {
            run = quiet(v) ? run + 1 : 0;
            longest = Math.Max(longest, run);
        }
        return longest;
    }

    private static RollupHistory HistoryOf(long[] ts, double[] values, int upTo)
    {
        var history = new RollupHistory();
        for (var i = 0; i < upTo; i++)
        {
            history.Add(ts[i], values[i]);
        }
        return history;
    }

    [Fact]
    public void ASpikeOnNoiseIsAnomalousAndAnOrdinaryPointIsNot()
    {
        var (ts, values) = Series(1440, 60, (i, _) => 100 + (5 * Noise(i)));
        var calm = Judge(ts, values);
        Assert.False(calm.Anomalous);
        Assert.True(calm.Score < 0.4, $"score {calm.Score}");

        values[^1] = 160;
        var spike = Judge(ts, values);
        Assert.True(spike.Anomalous, $"score {spike.Score}");
        Assert.Equal(new EnsembleSettings().Detectors.Count, spike.Count);
        var level = spike.Scores.ToArray().Single(s => s.Detector == Detector.Level);
        Assert.InRange(level.Expected, 99, 101);
        Assert.True(level.Deviation > 10);
        Assert.Contains("level: expected", level.Reason(null), StringComparison.Ordinal);

        // The reasons name the strongest detector first (here not the level, the first to run).
        var scores = spike.Scores.ToArray().Where(s => s.Score >= 0.25).ToArray();
        var strongestFirst = scores.OrderByDescending(s => s.Score).ToArray();
        Assert.NotEqual(scores[0].Detector, strongestFirst[0].Detector);
        Assert.Equal(strongestFirst.Select(s => s.Reason("ms")), Reasons.Of(spike, "ms", new EnsembleSettings().CalibrationSeconds).Take(strongestFirst.Length));
    }

    [Fact]
    public void ASmallShiftHeldForAWhileIsFoundThoughNoPointStandsOut()
    {
        // Noise of robust sigma ~3.6 around 100; the last 24 points sit 7 higher: no single point
        // is far out (the level alone does not fire), but their mean is many sigmas of such means.
        var (ts, values) = Series(1440, 60, (i, _) => 100 + (5 * Noise(i)) + (i >= 1416 ? 7 : 0));
        var held = Judge(ts, values);
        Assert.True(held.Anomalous, $"score {held.Score}");
        var sustained = held.Scores.ToArray().Single(s => s.Detector == Detector.Sustained);
        Assert.True(sustained.Deviation > 8, $"deviation {sustained.Deviation}");
        Assert.InRange(sustained.Expected, 99, 101);
        Assert.StartsWith("sustained: recent mean expected 1", sustained.Reason(null), StringComparison.Ordinal);
        var level = held.Scores.ToArray().Single(s => s.Detector == Detector.Level);
        Assert.True(level.Score < new EnsembleSettings().Threshold, $"level {level.Score}");

        // Without the sustained detector the same points are not an anomaly; the first points of the
        // shift are not one either (their mean has not moved enough yet).
        var pointwise = Judge(ts, values, settings: new EnsembleSettings { Detectors = [Detector.Level, Detector.HoltWinters, Detector.AutoRegressive] });
        Assert.False(pointwise.Anomalous, $"score {pointwise.Score}");
        var early = Judge(ts[..1419], values[..1419]);
        Assert.False(early.Anomalous, $"score {early.Score}");
    }

    [Fact]
    public void ARecentMeanAnEarlierOneReachedIsBoundedByThatRecord()
    {
        // A quantised CPU metric idling at 0.066 with a tick to 0.134 every 3 or 4 points, so six
        // idle points in a row are rare; the last six are idle. The means' fitted spread (their 1st
        // percentile sits on one tick in six) calls that 4.6 sigma down.
        static (long[], double[]) Idle(bool seenBefore)
        {
            var random = new Random(1);
            var pattern = Enumerable.Repeat(0.066, 1440).ToArray();
            for (var i = random.Next(3); i < 1434; i += 3 + random.Next(2))
            {
                pattern[i] = i is >= 700 and < 710 && seenBefore ? 0.066 : 0.134;
            }
            return Series(1440, 300, (i, _) => pattern[i]);
        }
        static double Sustained(Judgement j) => j.Scores.ToArray().Single(s => s.Detector == Detector.Sustained).Deviation;

        var (ts, values) = Idle(seenBefore: false);
        Assert.True(Sustained(Judge(ts, values)) < -4.5, $"first idle run: {Sustained(Judge(ts, values))}");
        // Ten idle points earlier in the window: one of the sampled means already sat there, so the
        // run is no rarer than one in the window's means (about 2.7 sigma at most).
        (ts, values) = Idle(seenBefore: true);
        var seen = Sustained(Judge(ts, values));
        Assert.InRange(seen, -2.8, -2.0);
    }

    [Fact]
    public void AQuietSpellOfASparseMetricIsItsUsualMeanNotARoundingResidue()
    {
        // Disk writes: 0 most of the time, a burst of five writes of 10^4-10^8 bytes every 60
        // points, so most 24-point means are exactly 0. A running sum over the window, once the
        // bursts had passed through it, left a residue of about 10^-9 in those means (here the
        // usual mean came out as 4.2E-09), and on NAB's ec2_disk_write_bytes_1ef3de a recent mean
        // of exactly 0 read as "over 1000 sigma down" against a scale floored at 10^-9.
        var random = new Random(5);
        var (ts, values) = Series(1440, 300, (i, _) => i % 60 < 55 || i >= 1400 ? 0 : Math.Round(random.NextDouble() * 1.6e8, 1));
        foreach (var m in new[] { 24, 6 })
        {
            var judgement = Judge(ts, values, settings: new EnsembleSettings { SustainedPoints = m, SustainedShortPoints = 0 });
            var sustained = judgement.Scores.ToArray().Single(s => s.Detector == Detector.Sustained);
            Assert.True(sustained.Expected == 0 && Math.Abs(sustained.Deviation) < 1, $"{m} points: " + sustained.Reason(null));
            Assert.False(judgement.Anomalous, $"{m} points: score {judgement.Score}");
        }
    }

    [Fact]
    public void AShortBurstIsFoundByTheShortSpanOfTheSustainedDetector()
    {
        // Independent noise (sigma 3) every 5 minutes (the calibration interval); the last 6 points
        // sit 8 higher: too few to move a 24-point mean far, too little for any one point, far out
        // for a 6-point mean.
        var random = new Random(42);
        var noise = Enumerable.Range(0, 1440).Select(_ => 3 * Gaussian(random)).ToArray();
        var (ts, values) = Series(1440, 300, (i, _) => 100 + noise[i] + (i >= 1434 ? 8 : 0));
        var burst = Judge(ts, values);
        Assert.True(burst.Anomalous, $"score {burst.Score} " + string.Join("; ", burst.Scores.ToArray().Select(x => $"{x.Detector} {x.Score:F3} {x.Deviation:F2}")));
        var longOnly = Judge(ts, values, settings: new EnsembleSettings { SustainedShortPoints = 0 });
        Assert.False(longOnly.Anomalous, $"long only: score {longOnly.Score} " + string.Join("; ", longOnly.Scores.ToArray().Select(x => $"{x.Detector} {x.Score:F3} {x.Deviation:F2}")));
    }

    [Fact]
    public void AMetricThatTurnsJumpyAtTheSameLevelIsFoundByTheVolatilityDetector()
    {
        // Gaussian noise (sigma 2) every 5 minutes; then 24 points flapping between 95 and 105:
        // no point beyond the noise's usual tail by much, the mean unchanged, but every step 10.
        var random = new Random(11);
        var noise = Enumerable.Range(0, 1440).Select(_ => 2 * Gaussian(random)).ToArray();
        var (ts, values) = Series(1440, 300, (i, _) => i >= 1416 ? (i % 2 == 0 ? 105 : 95) : 100 + noise[i]);
        string Explain(Judgement j) => $"score {j.Score} " + string.Join("; ", j.Scores.ToArray().Select(x => x.Reason(null)));
        var jumpy = Judge(ts, values);
        Assert.True(jumpy.Anomalous, Explain(jumpy));
        var volatility = jumpy.Scores.ToArray().Single(s => s.Detector == Detector.Volatility);
        Assert.StartsWith("volatility: recent mean step expected 2.", volatility.Reason(null), StringComparison.Ordinal);
        Assert.True(volatility.Deviation > 10, Explain(jumpy));
        var without = Judge(ts, values, settings: new EnsembleSettings { VolatilityPoints = 0 });
        Assert.False(without.Anomalous, "without volatility: " + Explain(without));

        // Calmer than usual is no alarm.
        var (cts, calm) = Series(1440, 300, (i, _) => i >= 1416 ? 100 + (0.1 * noise[i]) : 100 + noise[i]);
        var quiet = Judge(cts, calm);
        Assert.Equal(0, quiet.Scores.ToArray().Single(s => s.Detector == Detector.Volatility).Score);
        Assert.False(quiet.Anomalous, Explain(quiet));
    }

    [Fact]
    public void PureNoiseIsRarelyAnAnomaly()
    {
        // Four streams of independent noise (two Gaussian, two rounded to integers like a counter),
        // judged point by point every 10 s as the analyzer would after a window of history: 20,000
        // judgements. Measured on 594k such judgements (perf/noise-corpus.py, docs/DETECTION.md): 28
        // anomalies at 5-minute sampling, 1 at 10 s, where the calibration to a day's judgements
        // asks 30 times the rarity; one here would be about 30 times that rate.
        var anomalies = 0;
        for (var stream = 0; stream < 4; stream++)
        {
            var random = new Random(100 + stream);
            var values = new double[1440 + 5000];
            for (var i = 0; i < values.Length; i++)
            {
                var gaussian = Gaussian(random);
                values[i] = stream < 2 ? 100 + (5 * gaussian) : Math.Floor(40 + (5 * gaussian));
            }
            var ts = Enumerable.Range(0, values.Length).Select(i => Start + (10L * i)).ToArray();
            var detector = new EnsembleDetector();
            var state = new EnsembleState(null, NoveltyFilter.For(detector.Settings));
            var judgement = new Judgement();
            for (var i = 1440; i < values.Length; i++)
            {
                detector.Judge(ts.AsSpan(i - 1439, 1440), values.AsSpan(i - 1439, 1440), state, MetricMetadata.Default, judgement);
                anomalies += judgement.Anomalous ? 1 : 0;
            }
        }
        Assert.True(anomalies == 0, $"{anomalies} anomalies in 20,000 judgements of noise");
    }

    [Fact]
    public void DeviationsAreCalibratedToTheirRarityPerDay()
    {
        Assert.Equal(4.2, EnsembleDetector.Calibrated(4.2, 1));
        Assert.Equal(0, EnsembleDetector.Calibrated(1.5, 30));
        // A 10-second metric is judged 30 times as often as a 5-minute one: its 4.2 sigma are as
        // rare per day as the deviation whose two-sided tail is 30 times as large.
        var c = EnsembleDetector.Calibrated(-4.2, 30);
        Assert.InRange(c, -3.4, -3.3);
        Assert.Equal(30 * MathNet.Numerics.Distributions.Normal.CDF(0, 1, -4.2), MathNet.Numerics.Distributions.Normal.CDF(0, 1, c), 1e-12);
        // Beyond doubles' tail: the leading term; the order of deviations is kept throughout.
        Assert.Equal(Math.Sqrt((60.0 * 60) - (2 * Math.Log(30))), EnsembleDetector.Calibrated(60, 30), 1e-9);
        var previous = 0.0;
        for (var z = 0.0; z < 80; z += 0.25)
        {
            var calibrated = EnsembleDetector.Calibrated(z, 30);
            Assert.True(calibrated >= previous && calibrated <= z, $"{z}: {calibrated} after {previous}");
            previous = calibrated;
        }
    }

    [Fact]
    public void ADeviationAnomalousAtFiveMinutesIsNotAtTenSecondsButASpikeIs()
    {
        var random = new Random(7);
        var noise = Enumerable.Range(0, 1440).Select(_ => 5 * Gaussian(random)).ToArray();
        Judgement At(int step, double last)
        {
            var (ts, values) = Series(1440, step, (i, _) => 100 + noise[i]);
            values[^1] = last;
            return Judge(ts, values);
        }
        var slow = At(300, 122); // 4.4 sigma: 0.305 at 5 minutes, 0.263 at 10 s
        Assert.True(slow.Anomalous, $"5 minutes: score {slow.Score}");
        Assert.Equal(1, slow.JudgementRate);
        var fast = At(10, 122);
        Assert.False(fast.Anomalous, $"10 s: score {fast.Score}");
        Assert.Equal(30, fast.JudgementRate);
        var spike = At(10, 200);
        Assert.True(spike.Anomalous, $"10 s spike: score {spike.Score}");
        // Off, a 10-second metric is judged as a 5-minute one.
        var (ts10, values10) = Series(1440, 10, (i, _) => 100 + noise[i]);
        values10[^1] = 122;
        Assert.Equal(slow.Score, Judge(ts10, values10, settings: new EnsembleSettings { CalibrationSeconds = 0 }).Score, 12);
    }

    [Fact]
    public void EarlierSpikesDoNotInflateTheBaseline()
    {
        // Seven huge spikes in the window: a mean and 3-sigma baseline would be pulled up so far that
        // a fresh 40-sigma excursion looks normal. The robust baselines still see it.
        var (ts, values) = Series(1440, 60, (i, _) => 100 + Noise(i) + (i % 200 == 5 ? 1000 : 0));
        var mean = values.Average();
        var sigma = Math.Sqrt(values.Select(v => (v - mean) * (v - mean)).Average());
        values[^1] = 140;
        Assert.True(Math.Abs(140 - mean) < 3 * sigma, "the premise: a 3-sigma rule misses it");
        Assert.True(Judge(ts, values).Anomalous);

        // Naming detectors picks them, including those outside the default set.
        var chosen = Judge(ts, values, metadata: new MetricMetadata { Detectors = ["change", "regression"] });
        Assert.Equal([Detector.Change, Detector.Regression], chosen.Scores.ToArray().Select(s => s.Detector));
    }

    [Fact]
    public void ABurstAsHighAsTheWindowHasOftenSeenIsUsualButOneBeyondThemIsNot()
    {
        // A quiet metric around 10 with 12 bursts to 32-40 in the window: under 1 % of points, so
        // the fitted 99th-percentile tail sits in the noise and calls any burst 20+ sigma.
        var random = new Random(5);
        var bursts = new HashSet<int>(Enumerable.Range(0, 12).Select(k => 30 + (k * 116)));
        var (ts, values) = Series(1440, 60, (i, _) => 10 + random.NextDouble() + (bursts.Contains(i) ? 22 + (8 * random.NextDouble()) : 0));
        values[^1] = 32;
        var usual = Judge(ts, values);
        var level = usual.Scores.ToArray().Single(s => s.Detector == Detector.Level);
        // All 12 reached 32: no rarer than 12 in 1440, about 2.4 sigma.
        Assert.InRange(level.Deviation, 2.3, 2.5);
        Assert.False(usual.Anomalous, $"score {usual.Score}");

        values[^1] = 60;
        Assert.True(Judge(ts, values).Anomalous);
    }

    [Fact]
    public void ABurstTheRollupsHaveSeenBeforeTheWindowIsUsual()
    {
        // A quiet metric around 10 every 5 minutes with a burst to 40 filling one 10-minute slot at
        // 40 random times in the 9 days before the last 5 (the 1440-point window): the window alone
        // has no record of such a burst, the roll-ups (14 days) have 40.
        var random = new Random(8);
        const int days = 19, perDay = 288;
        var bursts = new HashSet<int>(Enumerable.Range(0, 40).Select(_ => 2 * random.Next((days - 14) * perDay / 2, (days - 5) * perDay / 2)));
        var (ts, values) = Series(days * perDay, 300, (i, _) => 10 + random.NextDouble() + (bursts.Contains(i) || bursts.Contains(i - 1) ? 30 : 0));
        values[^1] = 40;
        var window = ts.Length - 1440;
        var history = HistoryOf(ts, values, ts.Length - 1);
        (long[], double[]) Window() => (ts[window..], values[window..]);
        var (wts, wv) = Window();
        string Explain(Judgement j) => $"score {j.Score} " + string.Join("; ", j.Scores.ToArray().Select(x => x.Reason(null)));

        var seen = Judge(wts, wv, history);
        Assert.Equal(0, seen.SeasonalPeriod);
        var level = seen.Scores.ToArray().Single(s => s.Detector == Detector.Level);
        // 40 (or a few fewer, should two land on one slot) of about 1440 + 2592 points: no rarer
        // than that, about 2.4 sigma.
        Assert.InRange(level.Deviation, 2.3, 2.55);
        Assert.False(seen.Anomalous, Explain(seen));

        var windowOnly = Judge(wts, wv, history, settings: new EnsembleSettings { RecordFromRollups = false });
        Assert.True(windowOnly.Anomalous, "window only: " + Explain(windowOnly));

        // Beyond three times as far as any of them: an anomaly whatever the roll-ups hold.
        wv[^1] = 110;
        Assert.True(Judge(wts, wv, history).Anomalous);
    }

    [Fact]
    public void HoltWintersRatesABurstByItsOwnRecordOfErrorsNotByACollapsedDeviation()
    {
        // Disk writes: 0 most of the time, a burst to 150-190 every 40 points. Brutlag's deviation
        // decays to almost nothing between bursts, so each burst is millions of deviations out.
        var random = new Random(11);
        var (ts, values) = Series(1440, 300, (i, _) => i % 40 == 7 ? 150 + (40 * random.NextDouble()) : 0);
        values[^1] = 170;
        static DetectorScore HoltWinters(Judgement j) => j.Scores.ToArray().Single(s => s.Detector == Detector.HoltWinters);
        var withHoltWinters = new EnsembleSettings { Detectors = [.. new EnsembleSettings().Detectors, Detector.HoltWinters] };

        // About 4 of the recent 360 errors reached 170: no rarer than 4 in 360, about 2.3 sigma.
        Assert.InRange(HoltWinters(Judge(ts, values, settings: withHoltWinters)).Deviation, 2.0, 2.8);

        // Beyond three times every earlier burst, the deviation (in the collapsed deviation) stands.
        values[^1] = 2000;
        var beyond = HoltWinters(Judge(ts, values, settings: withHoltWinters));
        Assert.True(beyond.Deviation > 1000, $"deviation {beyond.Deviation}");
        Assert.EndsWith(", over 1000 sigma up", beyond.Reason(null), StringComparison.Ordinal);
    }

    [Fact]
    public void ADailySpikeAtTheSameTimeIsNormalButTheSameSpikeAtAnotherTimeIsNot()
    {
        // Eight days at 60 s: a batch job lifts the metric from 01:00 to 01:30 every day.
        static double Daily(int i, long t) => 50 + (2 * Noise(i)) + ((t % 86400) is >= 3600 and < 5400 ? 400 : 0);
        var (ts, values) = Series(8 * 1440, 60, Daily);
        var judgeAt = (7 * 1440) + 70; // day 8, 01:10
        var history = HistoryOf(ts, values, judgeAt);
        var window = (ts[(judgeAt - 1439)..(judgeAt + 1)], values[(judgeAt - 1439)..(judgeAt + 1)]);
        var usual = Judge(window.Item1, window.Item2, history);
        Assert.Equal(86400, usual.SeasonalPeriod);
        Assert.False(usual.Anomalous, $"score {usual.Score}");

        // The same lift at 13:10 on day 8 is not the batch job.
        var at = (7 * 1440) + 790;
        var (ts2, values2) = Series(8 * 1440, 60, (i, t) => Daily(i, t) + (i == at ? 400 : 0));
        var history2 = HistoryOf(ts2, values2, at);
        var odd = Judge(ts2[(at - 1439)..(at + 1)], values2[(at - 1439)..(at + 1)], history2);
        Assert.Equal(86400, odd.SeasonalPeriod);
        Assert.True(odd.Anomalous, $"score {odd.Score}");
    }


    [Fact]
    public void AfterAnAnomalyAGrowingIncidentIsNotReportedPointAfterPoint()
    {
        // Threshold 0.3, halving, a refractory period of 3 judgements.
        var filter = new NoveltyFilter(points: 10, damping: 0.5, refractory: 3, threshold: 0.3);
        Assert.Equal(0.5, filter.Apply(0.5));
        // Each score is above all earlier ones (news to the novelty ring), yet damped: the incident was reported.
        Assert.Equal(0.275, filter.Apply(0.55), 9);
        Assert.Equal(0.29, filter.Apply(0.58), 9);
        Assert.Equal(0.295, filter.Apply(0.59), 9);
        // The span is over: a worse score is reported again.
        Assert.Equal(0.6, filter.Apply(0.6));
        // Within the span, a score that more than doubles still gets through (and starts a new span).
        Assert.Equal(0.65, filter.Apply(1.3), 9);
        Assert.Equal(0.7, filter.Apply(1.4), 9);
        // Not news and within the span: halved twice.
        Assert.Equal(0.25, filter.Apply(1.0), 9);
    }

    [Theory]
    [InlineData(0.0, 8)]
    [InlineData(3.0, 2)]
    public void ThePreScreenSkipsOrdinaryPointsWithoutChangingAnyVerdict(double tailHeaviness, int atLeast)
    {
        // A stream of 3000 points with a growing spike every 97 points, a small shift held for 100 points
        // (which only the sustained detector finds; no spike in the 200 judgements before it, whose
        // scores would hide it as not new) and a level shift: judged point by point with the
        // pre-screen and without, the verdicts are the same, and most points skip the detectors.
        // Without the tail beyond the record, each spike a little higher than the last is an
        // anomaly (one as high as earlier ones is not); with it (the default), fifteen earlier
        // spikes in the window make a slightly higher one usual, and the shifts are what is left.
        static bool Held(int i) => i is >= 1500 and < 1600;
        static double Spike(int i) => i % 97 == 50 && i is < 1250 or >= 1700 ? 80 + (i / 97) : 0;
        var (ts, values) = Series(3000, 60, (i, _) => 100 + (5 * Noise(i)) + Spike(i) + (Held(i) ? 7 : 0) + (i > 2000 ? 40 : 0));
        var settings = new EnsembleSettings { TailHeaviness = tailHeaviness };
        var screened = new EnsembleDetector(settings);
        var full = new EnsembleDetector(settings with { ScreenPoints = 0 });
        EnsembleState a = new(null, NoveltyFilter.For(settings)), b = new(null, NoveltyFilter.For(settings));
        Judgement ja = new(), jb = new();
        var skipped = 0;
        var anomalies = 0;
        var heldFound = false;
        for (var i = 100; i < 3000; i++)
        {
            var window = (ts[Math.Max(0, i - 1439)..(i + 1)], values[Math.Max(0, i - 1439)..(i + 1)]);
            screened.Judge(window.Item1, window.Item2, a, MetricMetadata.Default, ja);
            full.Judge(window.Item1, window.Item2, b, MetricMetadata.Default, jb);
            Assert.True(ja.Anomalous == jb.Anomalous, $"point {i}: {ja.Score} vs {jb.Score}");
            skipped += ja.Screened ? 1 : 0;
            anomalies += ja.Anomalous ? 1 : 0;
            heldFound |= Held(i) && ja.Anomalous && values[i] < 120;
            Assert.False(jb.Screened);
        }
        Assert.True(heldFound, "the held shift was not reported");
        Assert.True(anomalies >= atLeast, $"{anomalies} anomalies");
        Assert.True(skipped > 2000, $"{skipped} of 2900 screened");
    }

    [Fact]
    public void ADeploysShiftIsFoundOnceNotAgainWhenTheSeasonalBaselineCatchesUp()
    {
        // A daily request rate at 60 s (noise 10) for eight days; on day 5 at 10:00 a deploy drops
        // it by 60 for good. The deploy is found. Two and three days later, at the deploy's time of
        // day, the four days a slot's baseline is taken from are two before the deploy and two
        // after on one side of 10:00 and three and one on the other: with the slots' own means the
        // baseline moved by half the drop at 10:00, a held shift of 30 in the residuals (an
        // anomaly each day). Measured as each day's shape about its level, the days agree.
        var random = new Random(31);
        var deploy = (4 * 1440) + 600;
        var (ts, values) = Series(8 * 1440, 60, (i, t) =>
            500 + (300 * Math.Sin(2 * Math.PI * (t % 86400) / 86400)) + (10 * Gaussian(random)) - (i >= deploy ? 60 : 0));
        var detector = new EnsembleDetector();
        var state = new EnsembleState(new RollupHistory(), NoveltyFilter.For(detector.Settings));
        var judgement = new Judgement();
        var found = new List<(int Day, int Minute, double Score)>();
        for (var i = 0; i < ts.Length; i++)
        {
            state.Rollup!.Add(ts[i], values[i]);
            if (i < 3 * 1440)
            {
                continue;
            }
            var from = Math.Max(0, i + 1 - 1440);
            detector.Judge(ts.AsSpan(from, i + 1 - from), values.AsSpan(from, i + 1 - from), state, MetricMetadata.Default, judgement);
            if (judgement.Anomalous)
            {
                found.Add((i / 1440, i % 1440, judgement.Score));
            }
        }
        var said = string.Join(", ", found.Select(f => $"day {f.Day} {f.Minute / 60:D2}:{f.Minute % 60:D2} {f.Score:F2}"));
        Assert.True(found.Exists(f => f.Day == 4 && f.Minute is >= 600 and < 600 + 180), $"found: {said}");
        Assert.False(found.Exists(f => f.Day >= 5), $"found: {said}");
    }

    [Fact]
    public void OldPointsOfTheWindowGetTheirSeasonalBaselineFromLaterDaysToo()
    {
        // Seven days at 300 s of a daily swing; on the first afternoon an incident lifts it by 60.
        // Judged on day 7, the window reaches back to day 3, whose points have only days 1 and 2
        // before them: against those alone, day 3's afternoon sits 30 below its baseline and that
        // spread would hide a drop of 25 today. Days 4 and 5 (closed, before the judged point)
        // complete day 3's baseline, so the drop is an anomaly.
        static double Swing(int i, long t) =>
            100 + (30 * Math.Sin(2 * Math.PI * (t % 86400) / 86400)) + (2 * Noise(i)) + (t - Start < 86400 && (t % 86400) is >= 43200 and < 64800 ? 60 : 0);
        var (ts, values) = Series(7 * 288, 300, Swing);
        var judgeAt = (6 * 288) + 180; // day 7, 15:00
        var history = HistoryOf(ts, values, judgeAt);
        var window = (ts[(judgeAt - 1439)..(judgeAt + 1)], values[(judgeAt - 1439)..(judgeAt + 1)]);
        var usual = Judge(window.Item1, window.Item2, history);
        Assert.Equal(86400, usual.SeasonalPeriod);
        Assert.False(usual.Anomalous, $"score {usual.Score}");

        window.Item2[^1] -= 25;
        var drop = Judge(window.Item1, window.Item2, history);
        Assert.True(drop.Anomalous, $"score {drop.Score}");
    }

    [Fact]
    public void ASlowTrendIsNotADailyCycle()
    {
        // Ten days of a disk filling 3 a day with a little noise: its roll-ups correlate with
        // themselves at one day (0.99), as any trend does, but it has no daily cycle, and judged as
        // if it had (against the same time on earlier days) its last point would sit a day's
        // growth or more above every older residual. A daily cycle on the same trend is one.
        static double Disk(int i, long t) => 40 + (3.0 * (t - Start) / 86400) + (0.3 * Noise(i));
        var (ts, values) = Series(10 * 144, 600, Disk);
        var history = HistoryOf(ts, values, ts.Length);
        Assert.True(EnsembleDetector.Autocorrelation(history.Slots, 144) > 0.95);
        var detector = new EnsembleDetector();
        Assert.Equal(0, detector.SeasonalPeriod(history, SeasonalityMode.Auto));
        var judged = Judge(ts, values, history);
        Assert.Equal(0, judged.SeasonalPeriod);
        Assert.False(judged.Anomalous, $"score {judged.Score}");

        var (ts2, values2) = Series(10 * 144, 600, (i, t) => Disk(i, t) + (5 * Math.Sin(2 * Math.PI * (t % 86400) / 86400)));
        Assert.Equal(86400, detector.SeasonalPeriod(HistoryOf(ts2, values2, ts2.Length), SeasonalityMode.Auto));

        // ... also with every seventh slot empty (a metric that misses sends): gaps are skipped.
        var gappy = new RollupHistory();
        for (var i = 0; i < ts2.Length; i++)
        {
            if (i % 7 != 3)
            {
                gappy.Add(ts2[i], values2[i]);
            }
        }
        Assert.Contains(float.NaN, gappy.Slots.ToArray());
        Assert.Equal(86400, detector.SeasonalPeriod(gappy, SeasonalityMode.Auto));
    }

    [Fact]
    public void ThePreScreenServesSeasonalMetricsOnTheirResidualsWithoutChangingAnyVerdict()
    {
        // Seven days at 300 s of a daily swing with noise, a spike on day 6 and a small shift held
        // on day 7: judged point by point (the roll-ups growing as in the analyzer) with the
        // pre-screen and without, from day 4 on, when the metric is seasonal.
        static double Swing(int i, long t) => 100 + (30 * Math.Sin(2 * Math.PI * (t % 86400) / 86400)) + (3 * Noise(i))
            + (i == (5 * 288) + 100 ? 60 : 0) + (i is >= (6 * 288) + 50 and < (6 * 288) + 90 ? 6 : 0);
        var (ts, values) = Series(7 * 288, 300, Swing);
        var screened = new EnsembleDetector();
        var full = new EnsembleDetector(new EnsembleSettings { ScreenPoints = 0 });
        RollupHistory ha = new(), hb = new();
        EnsembleState a = new(ha, NoveltyFilter.For(new EnsembleSettings())), b = new(hb, NoveltyFilter.For(new EnsembleSettings()));
        Judgement ja = new(), jb = new();
        int skipped = 0, anomalies = 0, judged = 0;
        for (var i = 0; i < ts.Length; i++)
        {
            ha.Add(ts[i], values[i]);
            hb.Add(ts[i], values[i]);
            var window = (ts[Math.Max(0, i - 1439)..(i + 1)], values[Math.Max(0, i - 1439)..(i + 1)]);
            screened.Judge(window.Item1, window.Item2, a, MetricMetadata.Default, ja);
            full.Judge(window.Item1, window.Item2, b, MetricMetadata.Default, jb);
            Assert.True(ja.Anomalous == jb.Anomalous, $"point {i}: {ja.Score} vs {jb.Score}");
            if (i < 3 * 288)
            {
                continue;
            }
            judged++;
            Assert.Equal(86400, ja.SeasonalPeriod);
            skipped += ja.Screened ? 1 : 0;
            anomalies += ja.Anomalous ? 1 : 0;
        }
        Assert.True(anomalies >= 2, $"{anomalies} anomalies");
        Assert.True(skipped > judged / 2, $"{skipped} of {judged} screened");
    }

    [Fact]
    public void AWeeklyMetricIsJudgedAgainstTheSameDayLastWeek()
    {
        // Eleven and a half days at 300 s of a business metric: 100 on weekdays, 30 at weekends,
        // with a daily swing. A quiet Saturday is normal; a Saturday as busy as a weekday is not.
        static bool Weekend(long t) => ((t / 86400) + 4) % 7 is 0 or 6;
        static double Busy(int i, long t) => (Weekend(t) ? 30 : 100) + (10 * Math.Sin(2 * Math.PI * (t % 86400) / 86400)) + (2 * Noise(i));
        var (ts, values) = Series(13 * 288, 300, Busy);
        var saturdayNoon = Enumerable.Range(7 * 288, 6 * 288).First(i => Weekend(ts[i]) && ((ts[i] / 86400) + 4) % 7 == 6 && ts[i] % 86400 == 43200);
        var window = (ts[(saturdayNoon - 1439)..(saturdayNoon + 1)], values[(saturdayNoon - 1439)..(saturdayNoon + 1)]);
        var history = HistoryOf(ts, values, saturdayNoon);
        var quiet = Judge(window.Item1, window.Item2, history);
        Assert.Equal(7 * 86400, quiet.SeasonalPeriod);
        Assert.False(quiet.Anomalous, $"score {quiet.Score}");

        window.Item2[^1] = 100 + (2 * Noise(saturdayNoon));
        var busy = Judge(window.Item1, window.Item2, history);
        Assert.True(busy.Anomalous, $"score {busy.Score}");
    }

    [Fact]
    public void AMetricWhoseWeekendsAreItsWeekdaysScaledDownIsWeekly()
    {
        // Twelve days at 60 s of a request rate: the same daily curve every day, weekends at 40 %.
        // Its detrended roll-ups correlate about as well a day back as a week back (the curve is the
        // same, only smaller), but a day back misses every weekend's start and end by 60 %.
        var random = new Random(5);
        static double Curve(long t) => 0.55 - (0.45 * Math.Cos(2 * Math.PI * (((t % 86400) / 3600.0) - 3) / 24));
        static bool Weekend(long t) => ((t / 86400) + 4) % 7 is 0 or 6;
        var (ts, weekly) = Series(12 * 1440, 60, (_, t) => (1000 * Curve(t) * (Weekend(t) ? 0.4 : 1)) + (25 * Gaussian(random)));
        var (_, daily) = Series(12 * 1440, 60, (_, t) => (1000 * Curve(t)) + (25 * Gaussian(random)));
        var detector = new EnsembleDetector();
        Assert.Equal(7 * 86400, detector.SeasonalPeriod(HistoryOf(ts, weekly, ts.Length), SeasonalityMode.Auto));
        Assert.Equal(86400, detector.SeasonalPeriod(HistoryOf(ts, daily, ts.Length), SeasonalityMode.Auto));
        // A deploy on day 10 that drops the weekly metric by 300 for good: a week back now misses
        // every slot since by 300 too, but that is the level, not the shape; it stays weekly.
        var deployed = weekly.Select((v, i) => i >= (9 * 1440) + 720 ? v - 300 : v).ToArray();
        Assert.Equal(7 * 86400, detector.SeasonalPeriod(HistoryOf(ts, deployed, ts.Length), SeasonalityMode.Auto));
    }

    [Fact]
    public void ANightlyBatchJobsSecondNightAndItsEndAreItsHabitButTheSameJobAtNoonIsNot()
    {
        // A flat gauge (40, noise 2) with a 20-minute job at 01:00 lifting it by 60, every night.
        var random = new Random(29);
        static double Job(long t, int noonDay) =>
            (t % 86400) is >= 3600 and < 4800 ? 60 : ((t - Start) / 86400) == noonDay && (t % 86400) is >= 46800 and < 48000 ? 200 : 0;
        (Judgement At, Judgement Without) Judged(int day, int secondOfDay, int noonDay = -1)
        {
            var n = (day * 1440) + (secondOfDay / 60) + 1;
            var (ts, values) = Series(n, 60, (_, t) => 40 + (2 * Gaussian(random)) + Job(t, noonDay));
            var window = Math.Min(n, 1440);
            var history = HistoryOf(ts, values, n);
            return (Judge(ts[^window..], values[^window..], history),
                    Judge(ts[^window..], values[^window..], history, settings: new EnsembleSettings { RecurrenceDays = 0 }));
        }

        // The second night, ten minutes in: the job ran at this time the night before.
        var (second, secondUnchecked) = Judged(1, 3600 + 600);
        Assert.True(secondUnchecked.Anomalous, $"unchecked score {secondUnchecked.Score}");
        Assert.Equal(1, second.RecurringDays);
        Assert.False(second.Anomalous, $"score {second.Score}");

        // The minute after the third night's job: the point is back at 40, but the last 24 points'
        // mean still holds the job, which the sustained detector reports; that excursion recurs.
        var (end, endUnchecked) = Judged(2, 4800);
        Assert.True(endUnchecked.Anomalous, $"unchecked score {endUnchecked.Score}");
        Assert.True(end.RecurringDays >= 2, $"recurs on {end.RecurringDays} days");
        Assert.False(end.Anomalous, $"score {end.Score}");

        // A bigger lift at 13:00 on the third day is new.
        var (noon, _) = Judged(2, 46800, noonDay: 2);
        Assert.Equal(0, noon.RecurringDays);
        Assert.True(noon.Anomalous, $"score {noon.Score}");
    }

    [Fact]
    public void AShortDailySpikeOnANoisyMetricRecursAndIsDampedButANewOneIsNot()
    {
        // Six days at 300 s: heavy noise and, every day at 01:00 give or take 10 minutes, one point
        // far above it. One point a day barely moves the day-lag correlation of the roll-ups, so the
        // metric is not seasonal; the recurrence check still recognises the excursion.
        static double Spiky(int i, long t)
        {
            var day = t / 86400;
            var spikeAt = 3600 + (300 * ((day % 3) - 1)); // 00:55, 01:00 or 01:05
            return 100 + (20 * Noise(i)) + (t % 86400 == spikeAt ? 300 : 0);
        }
        var (ts, values) = Series(6 * 288, 300, Spiky);
        var spike = Array.FindLastIndex(values, v => v > 250);
        var history = HistoryOf(ts, values, spike);
        var usual = Judge(ts[..(spike + 1)], values[..(spike + 1)], history);
        Assert.Equal(0, usual.SeasonalPeriod);
        Assert.True(usual.RecurringDays >= 4, $"recurring on {usual.RecurringDays} days");
        Assert.False(usual.Anomalous, $"score {usual.Score}");

        // The same excursion at 13:00 has no precedent.
        var noon = spike + 144;
        values[noon] = values[spike];
        var odd = Judge(ts[..(noon + 1)], values[..(noon + 1)], HistoryOf(ts, values, noon));
        Assert.Equal(0, odd.RecurringDays);
        Assert.True(odd.Anomalous, $"score {odd.Score}");

        // Without the check the daily one is flagged, which is what the check is for.
        var unchecked_ = Judge(ts[..(spike + 1)], values[..(spike + 1)], history, settings: new EnsembleSettings { RecurrenceDays = 0 });
        Assert.True(unchecked_.Anomalous, $"score {unchecked_.Score}");
    }
    [Fact]
    public void AMetricThatStopsMovingLongerThanEverBeforeIsReportedOnce()
    {
        // Disk writes every 5 minutes: bursts all day except a quiet 6 h every night; on day 5 the
        // writes stop for good (from 12:00). Judged point by point, as the analyzer would.
        const int step = 300, perDay = 288;
        var (ts, values) = Series(6 * perDay, step, (i, _) =>
            (i % perDay < 72 || i >= (4 * perDay) + 144) ? 0 : 1000 + (900 * Noise(i)));
        var settings = new EnsembleSettings();
        var detector = new EnsembleDetector(settings);
        var history = new RollupHistory();
        var state = new EnsembleState(history, NoveltyFilter.For(settings));
        var judgement = new Judgement();
        var crossings = new List<int>();
        for (var i = 0; i < ts.Length; i++)
        {
            history.Add(ts[i], values[i]);
            var from = Math.Max(0, i + 1 - perDay);
            detector.Judge(ts.AsSpan(from, i + 1 - from), values.AsSpan(from, i + 1 - from), state, MetricMetadata.Default, judgement);
            if (judgement.Flatline is { Crossed: true })
            {
                Assert.True(judgement.Anomalous, $"score {judgement.Score} at {i}");
                crossings.Add(i);
            }
            if (i > (4 * perDay) + 144 + 80)
            {
                // Still flat, known, not reported again.
                Assert.Equal(0.0, judgement.Flatline!.Value.Value);
                Assert.False(judgement.Anomalous, $"score {judgement.Score} at {i}");
            }
        }
        // Once, when the stop outlasts the longest quiet night held in the roll-ups (6 h).
        var crossing = Assert.Single(crossings);
        var quietSince = (4 * perDay) + 144;
        Assert.InRange((crossing - quietSince) * step, 6 * 3600, (6 * 3600) + 1800);

        // A metric that never moved (an error counter at 0) is not a flatline, nor is one judged without roll-ups.
        var (zt, zv) = Series(6 * perDay, step, (_, _) => 0);
        Assert.Null(Judge(zt, zv, HistoryOf(zt, zv, zt.Length)).Flatline);
        Assert.Null(Judge(ts, values).Flatline);
        // The same point judged afresh (no state carried over) is the crossing too; switched off, it is not.
        Assert.True(Judge(ts[..(crossing + 1)], values[..(crossing + 1)], HistoryOf(ts, values, crossing + 1)).Flatline?.Crossed);
        Assert.Null(Judge(ts[..(crossing + 1)], values[..(crossing + 1)], HistoryOf(ts, values, crossing + 1), settings: new EnsembleSettings { FlatlineMinSeconds = 0 }).Flatline);
    }

    [Fact]
    public void MetadataDirectionIgnoresGoodNewsAndSkipLeavesDetectorsOut()
    {
        var (ts, values) = Series(600, 60, (i, _) => 20 + Noise(i));
        values[^1] = 5; // latency dropped: good news
        var upIsBad = new MetricMetadata { BadDirection = BadDirection.Up, Skip = ["autoregressive"] };
        var judged = Judge(ts, values, metadata: upIsBad);
        Assert.Equal(0, judged.Score);
        Assert.Equal(new EnsembleSettings().Detectors.Count - 1, judged.Count);
        Assert.DoesNotContain(judged.Scores.ToArray(), s => s.Detector == Detector.AutoRegressive);
        Assert.True(Judge(ts, values).Anomalous);
    }

    [Fact]
    public void SensitivityScalesTheJudgement()
    {
        var (ts, values) = Series(600, 60, (i, _) => 20 + Noise(i));
        values[^1] = 24;
        var normal = Judge(ts, values).Score;
        var keen = Judge(ts, values, metadata: new MetricMetadata { Sensitivity = 4 }).Score;
        Assert.True(keen > normal);
    }

    [Fact]
    public void SparseAndHeavyTailedMetricsAreJudgedByTheirOwnDistribution()
    {
        // Mostly zero, an occasional 1 or 2 (errors per 10 s): another 1 is ordinary.
        var (ts, values) = Series(1440, 10, (i, _) => i % 37 == 0 ? 1 + (i % 2) : 0);
        values[^1] = 1;
        Assert.False(Judge(ts, values).Anomalous);
        values[^1] = 40;
        Assert.True(Judge(ts, values).Anomalous);

        // Log-normal latency: a value at the usual 99th percentile is ordinary.
        var (lt, lv) = Series(1440, 60, (i, _) => Math.Exp(3 + (0.8 * Noise(i) * Noise(i + 7) * 3)));
        var sorted = lv[..^1].Order().ToArray();
        lv[^1] = sorted[(int)(0.99 * (sorted.Length - 1))];
        Assert.False(Judge(lt, lv).Anomalous);
    }

    [Fact]
    public void ASlowlyFillingDiskIsReportedWithTheTimeLeft()
    {
        // 10 days at 10-minute roll-ups: 40 % -> 70 % full, +3 points a day, with noise.
        var history = new RollupHistory();
        for (var t = 0L; t <= 10 * 86400; t += 60)
        {
            history.Add(Start + t, 40 + (3.0 * t / 86400) + Noise((int)(t / 60)));
        }
        var (ts, values) = Series(600, 60, (i, _) => 70 + Noise(i));
        var metadata = new MetricMetadata { Capacity = 100, Unit = "%" };
        var judged = Judge(ts, values, history, metadata);
        var drift = Assert.NotNull(judged.Drift);
        Assert.InRange(drift.SlopePerDay, 2.7, 3.3);
        var days = Assert.NotNull(drift.SecondsToCapacity) / 86400;
        Assert.InRange(days, 9, 11.5); // (100 - 70) / 3
        Assert.Null(Judge(ts, values, HistoryOf(ts, values, ts.Length)).Drift); // too little history
    }

    [Theory]
    [InlineData(10, 600)]    // StatsD's flush: the default slot
    [InlineData(300, 600)]   // 5 minutes: two points a slot
    [InlineData(420, 600)]
    [InlineData(600, 600)]
    [InlineData(900, 1200)]  // the next multiple of 600 that divides a day
    [InlineData(1800, 1800)] // 30 minutes: one point a slot, 42 days in 2016 slots
    [InlineData(2700, 3600)] // 2400 and 3000 hold less, 3000 does not divide a day
    [InlineData(7200, 3600)] // sparser than hourly: at most an hour
    public void ARollupSlotIsNoFinerThanTheSampling(int interval, int slot)
    {
        var random = new Random(interval);
        // Jittered sampling (a tenth of the interval either way) and one long gap: the median decides.
        var t = new long[40];
        for (var i = 1; i < t.Length; i++)
        {
            t[i] = t[i - 1] + interval + (long)((random.NextDouble() - 0.5) * 0.2 * interval) + (i == 20 ? 50 * interval : 0);
        }
        Assert.Equal(slot, RollupHistory.SlotFor(t, 600));
        // Too few points to tell: the default.
        Assert.Equal(600, RollupHistory.SlotFor(t.AsSpan(0, RollupHistory.PointsToSize - 1), 600));
        // A stored roll-up of that size is one the analyzer restores; others are not.
        Assert.True(RollupHistory.IsAutoSlot(slot, 600));
        Assert.False(RollupHistory.IsAutoSlot(slot + 300, 600));
    }

    [Fact]
    public void RollupsKeepSlotMeansMarkGapsAndSurviveAStoreRoundTrip()
    {
        var history = new RollupHistory(slotSeconds: 600, retentionSlots: 8);
        history.Add(6000, 1);
        history.Add(6300, 3);
        history.Add(7800, 10); // slot 13; slot 11 had nothing
        history.Add(8400, 4);  // closes slot 13
        Assert.Equal(10, history.FirstSlot);
        Assert.Equal([2f, float.NaN, float.NaN, 10f], history.Slots.ToArray());
        Assert.Equal(2f, history.At(10));
        Assert.True(float.IsNaN(history.At(11)));
        Assert.Equal(10f, history.At(13));

        var copy = new RollupHistory(slotSeconds: 600, retentionSlots: 8);
        Assert.True(copy.TryLoad(history.Serialize(history.FirstSlot, withHeader: true)));
        Assert.Equal(history.Slots.ToArray(), copy.Slots.ToArray());
        Assert.Equal(history.FirstSlot, copy.FirstSlot);
        Assert.False(new RollupHistory(slotSeconds: 300).TryLoad(history.Serialize(history.FirstSlot, withHeader: true)));

        for (var t = 9000L; t < 9000 + (40 * 600); t += 600)
        {
            history.Add(t, 1);
        }
        Assert.InRange(history.Count, 1, 8);
        Assert.Equal(history.SlotOf(9000 + (39 * 600)), history.EndSlot);
    }

    [Fact]
    public void MetadataIsValidatedAndRoundTripsAsJson()
    {
        var metadata = MetricMetadata.Parse("""{"unit":"ms","owner":"payments","capacity":500,"badDirection":"Up","seasonality":"Daily","skip":["change"],"sensitivity":2}""");
        Assert.Equal(BadDirection.Up, metadata.BadDirection);
        Assert.Equal(SeasonalityMode.Daily, metadata.Seasonality);
        Assert.False(metadata.Uses(Detector.Change));
        Assert.True(metadata.Uses(Detector.Level));
        Assert.Equal(metadata.ToJson(), MetricMetadata.Parse(metadata.ToJson()).ToJson());
        Assert.Throws<ArgumentException>(() => MetricMetadata.Parse("""{"sensitivity":0}"""));
        Assert.Throws<ArgumentException>(() => MetricMetadata.Parse("""{"detectors":["fourier"]}"""));
    }

    [Fact]
    public void ARawCounterIsJudgedByItsIncreasesSoARestartIsNormalAndATripledRateIsFound()
    {
        // A request counter: about 50 a minute, restarting from zero every 500 minutes.
        var random = new Random(5);
        var total = 0.0;
        double Count(int i)
        {
            total = i % 500 == 0 ? 0 : total + 50 + (5 * Gaussian(random));
            return Math.Round(total);
        }
        var (ts, values) = Series(1440, 60, (i, _) => Count(i));
        values[^1] = 40; // restarted a minute ago: 40 counted since
        var restart = Judge(ts, values);
        Assert.True(restart.Counter);
        Assert.False(restart.Anomalous, $"score {restart.Score}");

        values[^1] = values[^2] + 150; // three times the usual increase
        var surge = Judge(ts, values);
        Assert.True(surge.Counter);
        Assert.True(surge.Anomalous, $"score {surge.Score}");
        Assert.Contains(Reasons.Of(surge, null, 300), r => r.StartsWith("counter: ", StringComparison.Ordinal));
        // Judged by its value, the surge is lost in a level that only grows.
        var byValue = Judge(ts, values, settings: new EnsembleSettings { CounterRates = false });
        Assert.False(byValue.Counter);
        Assert.False(byValue.Anomalous, $"score {byValue.Score}");
    }

    [Fact]
    public void OnlyAWindowThatGrowsAndRestartsFromZeroIsACounter()
    {
        var random = new Random(9);
        var noisy = Series(600, 60, (i, _) => 100 + (3 * Gaussian(random))).Values;
        var sparse = Series(600, 60, (i, _) => i % 37 == 0 ? 250 : 0).Values;
        var disk = Series(600, 60, (i, _) => i < 400 ? 50 + (0.01 * i) : 30 + (0.01 * i)).Values; // grows; a cleanup to 60 %, not to zero
        var total = 0.0;
        var counter = Series(600, 60, (i, _) => total = i == 300 ? 3 : total + 7).Values;
        Assert.False(Judge(TsOf(noisy), noisy).Counter);
        Assert.False(Judge(TsOf(sparse), sparse).Counter);
        Assert.False(Judge(TsOf(disk), disk).Counter);
        Assert.True(Judge(TsOf(counter), counter).Counter);

        static long[] TsOf(double[] v) => [.. Enumerable.Range(0, v.Length).Select(i => Start + (60L * i))];
    }
    [Fact]
    public void ANewRecordOfAHeavyTailedSeriesIsJudgedByItsTailAndANormalSeriesSpikeStillIsNot()
    {
        // Errors of a healthy service: a burst in 3 % of minutes, exponential sizes (mean 200). A
        // burst a third beyond the day's largest is a record, but an exponential tail makes one like
        // it every few days. The level's scale, from the 99th percentile, calls it 11 sigma; the
        // tail fitted to the top 1 % about 5, so the level no longer makes it an anomaly.
        var random = new Random(3);
        var (ts, values) = Series(1440, 60, (_, _) => random.NextDouble() < 0.03 ? -200 * Math.Log(1 - random.NextDouble()) : 0);
        var record = values[..^1].Max();
        values[^1] = record * 1.3;
        var tail = Judge(ts, values);
        var untailed = Judge(ts, values, settings: new EnsembleSettings { TailHeaviness = 0 });
        Assert.True(untailed.Anomalous, $"score {untailed.Score}");
        var level = (Judgement j) => j.Scores.ToArray().Single(s => s.Detector == Detector.Level);
        Assert.InRange(level(tail).Deviation, 3, 6);
        Assert.True(level(untailed).Deviation > 10, $"untailed {level(untailed).Deviation}");
        Assert.True(tail.Score < untailed.Score - 0.1, $"score {tail.Score} against {untailed.Score}");

        // The autoregressive forecast, fitted to the zeros, puts the burst a hundred of its sigmas
        // out. In a sparse window it does not confirm the level (it forecasts the median, and every
        // burst is far outside its band): the score is half the level's, not an anomaly though the
        // level alone is past the threshold (with the forecast's confirmation it was, at 0.32).
        var forecast = tail.Scores.ToArray().Single(s => s.Detector == Detector.AutoRegressive);
        Assert.True(forecast.Deviation > 20, $"the forecast's view: {forecast.Deviation} sigma");
        Assert.True(level(tail).Score > new EnsembleSettings().Threshold, $"the level's score {level(tail).Score}");
        Assert.Equal(level(tail).Score / 2, tail.RawScore, 9);
        Assert.False(tail.Anomalous, $"score {tail.Score}");
        var levelOnly = new MetricMetadata { Detectors = ["level"] };
        Assert.False(Judge(ts, values, metadata: levelOnly).Anomalous);
        Assert.True(Judge(ts, values, metadata: levelOnly, settings: new EnsembleSettings { TailHeaviness = 0 }).Anomalous);

        // A burst ten times the mean size beyond the record is still rare for that tail.
        values[^1] = record + 2500;
        Assert.True(Judge(ts, values).Anomalous);

        // One earlier spike among the top 1 % does not make a tail heavy (its two largest
        // exceedances are left out of the fit): a larger spike is judged as before.
        var (sts, single) = Series(1440, 60, (i, _) => 100 + (5 * Gaussian(random)) + (i == 700 ? 800 : 0));
        single[^1] = 1500;
        Assert.Equal(Judge(sts, single, settings: new EnsembleSettings { TailHeaviness = 0 }).Score, Judge(sts, single).Score);

        // Normal noise: its tail is not heavy, so a spike beyond its record is judged as before.
        var (nts, normal) = Series(1440, 60, (_, _) => 100 + (5 * Gaussian(random)));
        normal[^1] = 140;
        var spike = Judge(nts, normal);
        Assert.True(spike.Anomalous, $"score {spike.Score}");
        Assert.Equal(spike.Score, Judge(nts, normal, settings: new EnsembleSettings { TailHeaviness = 0 }).Score);
    }

    [Fact]
    public void ACounterBackFromAGapIsJudgedByItsIncreasePerInterval()
    {
        // A request counter, about 50 a minute; its collector was away for two hours while it counted.
        var random = new Random(11);
        var total = 0.0;
        var (ts, values) = Series(1561, 60, (i, _) => Math.Round(total += 50 + (5 * Gaussian(random))));
        var keep = Enumerable.Range(0, ts.Length).Where(i => i < 1440 || i == 1560).ToArray();
        long[] gapTs = [.. keep.Select(i => ts[i])];
        double[] gapValues = [.. keep.Select(i => values[i])];
        var back = Judge(gapTs, gapValues);
        Assert.True(back.Counter);
        Assert.False(back.Anomalous, $"score {back.Score}");
        // Three times the usual rate over the same two hours is still found.
        gapValues[^1] = gapValues[^2] + (3 * (values[1560] - values[1439]));
        Assert.True(Judge(gapTs, gapValues).Anomalous);
    }

    [Fact]
    public void AValueEqualEitherSideOfAGapIsNotAFlatline()
    {
        // Jobs running, small integers that change most minutes; the collector is away for three
        // hours and comes back to the value it left at. Nothing held: the points stopped.
        var random = new Random(13);
        var (ts, values) = Series(4 * 1440, 60, (_, _) => Math.Max(0, Math.Round(6 + (1.5 * Gaussian(random)))));
        var gapFrom = (3 * 1440) + 600;
        var keep = Enumerable.Range(0, ts.Length).Where(i => i < gapFrom || i >= gapFrom + 180).Take(gapFrom + 2).ToArray();
        long[] gapTs = [.. keep.Select(i => ts[i])];
        double[] gapValues = [.. keep.Select(i => values[i])];
        gapValues[^1] = gapValues[^2] = gapValues[^3];
        var history = new RollupHistory();
        for (var i = 0; i < gapTs.Length; i++)
        {
            history.Add(gapTs[i], gapValues[i]);
        }
        var from = gapTs.Length - 1440;
        var judged = Judge(gapTs[from..], gapValues[from..], history);
        Assert.Null(judged.Flatline);
        Assert.False(judged.Anomalous, $"score {judged.Score}");
    }

    [Fact]
    public void AQuietSpellAsLongAsTheLongestInTheRollupsIsNotAFlatline()
    {
        // A sparse series that rests 02:05-04:55 every night (170 minutes: 16 whole 10-minute slots
        // and two part ones) and is busy otherwise; on day 4 it rests as long at noon.
        var random = new Random(17);
        bool Quiet(int minute, int day) => minute is >= 125 and < 295 || (day == 3 && minute is >= 605 and < 775);
        var (ts, values) = Series((3 * 1440) + 775, 60, (i, _) => Quiet(i % 1440, i / 1440) ? 0 : 1 + random.Next(100));
        var history = HistoryOf(ts, values, ts.Length);
        var from = ts.Length - 1440;
        var judged = Judge(ts[from..], values[from..], history);
        Assert.Null(judged.Flatline);
        // Half an hour more than any night, it is one.
        var (lts, longer) = Series((3 * 1440) + 805, 60, (i, _) => Quiet(i % 1440, i / 1440) || (i / 1440 == 3 && i % 1440 is >= 605 and < 805) ? 0 : 1 + random.Next(100));
        var stopped = Judge(lts[^1440..], longer[^1440..], HistoryOf(lts, longer, lts.Length));
        Assert.True(stopped.Flatline?.Crossed, $"flatline {stopped.Flatline}");
    }

    [Fact]
    public void AQuietSpellOfABurstyMetricIsAFlatlineOnlyWhenItsBurstRateMakesItRare()
    {
        // An error count at 0 with a burst in 3 % of minutes, independently: its quiet spells are
        // geometric, and every few days one outlasts the longest before. An hour past that record
        // is still ordinary at this burst rate (0.97^L is about 1e-3, not 1e-9); 17 hours is not.
        var random = new Random(23);
        var bursts = Enumerable.Range(0, 3 * 1440).Select(_ => random.NextDouble() < 0.03 ? 1 + random.Next(200) : 0.0).ToArray();
        var longest = LongestRun(bursts, b => b == 0);
        Judgement QuietFor(int minutes, EnsembleSettings? settings = null)
        {
            var (ts, values) = Series(bursts.Length + minutes, 60, (i, _) => i < bursts.Length ? bursts[i] : 0);
            return Judge(ts[^1440..], values[^1440..], HistoryOf(ts, values, ts.Length), settings: settings);
        }
        var pastRecord = longest + 60;
        Assert.True(Math.Pow(0.97, pastRecord) > 1e-6, $"the longest spell was {longest} minutes");
        Assert.Null(QuietFor(pastRecord).Flatline);
        Assert.True(QuietFor(1000).Flatline?.Crossed);
        // A metric that never rested at the value before (a stuck gauge) is judged by the record alone.
        var (gt, gauge) = Series(3 * 1440, 60, (i, _) => 50 + random.NextDouble());
        var stuck = gauge.Concat(Enumerable.Repeat(50.5, longest + 60)).ToArray();
        var (st, _) = Series(stuck.Length, 60, (_, _) => 0);
        Assert.True(Judge(st[^1440..], stuck[^1440..], HistoryOf(st, stuck, st.Length)).Flatline?.Crossed);
    }

    [Fact]
    public void AQuietSpellIsJudgedByTheBurstRateOfTheWindowNotOfEveryPointGiven()
    {
        // An error count resting at 0 for three days, then at 60 (a deploy: every minute now errs 60
        // times more), bursting in 3 % of minutes throughout. Given all four and a half days (a
        // FULL_DURATION longer than the window), an hour past the longest quiet spell at 60 is as
        // ordinary as it was at 0: the rate at which points left 60 is the window's, where it rests
        // at 60 in 97 % of minutes, not the share of 60 among every point given (a third).
        var random = new Random(29);
        var bursts = Enumerable.Range(0, (int)(4.5 * 1440)).Select(i => (i < 3 * 1440 ? 0 : 60) + (random.NextDouble() < 0.03 ? 1 + random.Next(200) : 0.0)).ToArray();
        var longest = LongestRun(bursts, b => b is 0 or 60);
        var quiet = bursts.Concat(Enumerable.Repeat(60.0, longest + 60)).ToArray();
        var (ts, values) = Series(quiet.Length, 60, (i, _) => quiet[i]);
        var judgement = Judge(ts, values, HistoryOf(ts, values, ts.Length));
        Assert.Null(judgement.Flatline);
        // Held for 17 hours, it is a flatline at that rate too.
        var stuck = bursts.Concat(Enumerable.Repeat(60.0, 1000)).ToArray();
        var (st, sv) = Series(stuck.Length, 60, (i, _) => stuck[i]);
        Assert.True(Judge(st, sv, HistoryOf(st, sv, st.Length)).Flatline?.Crossed);
    }

    [Theory]
    [InlineData(60, 1.0)]
    [InlineData(300, 1.0)]
    [InlineData(60, 2.0)]
    public void TheLevelsExpectedBandIsWhereTheLevelAloneReachesTheThreshold(int step, double sensitivity)
    {
        // A day of noise, then the next point just inside and just outside the band drawn for it.
        var random = new Random(step);
        var (ts, values) = Series(1441, step, (i, _) => 100 + (10 * random.NextDouble()));
        var detector = new EnsembleDetector();
        var past = values.AsSpan(0, 1440);
        var band = detector.LevelBand(past, detector.RateOf(ts.AsSpan(0, 1440)), sensitivity)!.Value;
        Assert.InRange(band.Expected, 103, 107);
        Assert.True(band.Low < 100 && band.High > 110, $"the day's values are inside the band {band.Low:F1}..{band.High:F1}");
        var metadata = MetricMetadata.Default with { Sensitivity = sensitivity };
        double LevelScore(double next)
        {
            values[^1] = next;
            var judgement = new Judgement();
            detector.Judge(ts, values, new EnsembleState(), metadata, judgement);
            return judgement.Scores.ToArray().Single(s => s.Detector == Detector.Level).Score;
        }
        var threshold = detector.Settings.Threshold;
        Assert.InRange(LevelScore(band.High + (0.02 * (band.High - band.Expected))), threshold, 1);
        Assert.InRange(LevelScore(band.High - (0.02 * (band.High - band.Expected))), 0, threshold);
        Assert.InRange(LevelScore(band.Low - (0.02 * (band.Expected - band.Low))), threshold, 1);
        Assert.InRange(LevelScore(band.Low + (0.02 * (band.Expected - band.Low))), 0, threshold);
        // A counter is judged by its increase: no band of its raw values.
        var counter = Enumerable.Range(0, 1440).Select(i => i * 3.0).ToArray();
        Assert.Null(detector.LevelBand(counter, 1));
    }
}
