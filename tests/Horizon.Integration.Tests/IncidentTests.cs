using System.Text.Json;
using Horizon.Analyzer;
using Horizon.Analyzer.Incidents;

namespace Horizon.Integration.Tests;

/// <summary>Findings into incidents: the book alone (no servers), pass by pass.</summary>
public sealed class IncidentTests
{
    private const long Start = 1_780_000_000 - (1_780_000_000 % 60);
    private static readonly Dictionary<string, Acknowledgement> NoAcks = [];

    // An hour of one-minute points ending at `end`, from value(minute index 0..59).
    private static (long[] Ts, double[] Values) Hour(long end, Func<int, double> value)
    {
        var ts = Enumerable.Range(0, 60).Select(i => end - ((59 - i) * 60L)).ToArray();
        return (ts, [.. Enumerable.Range(0, 60).Select(value)]);
    }

    private static AnomalyRecord Finding(string metric, long ts, double score = 0.4, string? owner = null, Movement? movement = null, FindingKind kind = FindingKind.Anomaly) =>
        new(metric, ts, 1, 0, 6, [], ts, kind, Score: score, Reasons: ["level: expected 1, 9 sigma up"], Owner: owner, Movement: movement);

    [Fact]
    public void ADeployThatMovesThirtyOneUnrelatedMetricsIsOneIncidentAndUnrelatedFindingsAreNot()
    {
        // A deploy at minute 52 moves 31 metrics of different services, owners and scales, some
        // up, some down; three unrelated metrics are flagged in the same pass (a spike 20 minutes
        // ago, noise): they are incidents of their own.
        var random = new Random(21);
        var findings = new List<AnomalyRecord>();
        for (var i = 0; i < 31; i++)
        {
            var scale = Math.Pow(10, i % 4);
            var direction = i % 3 == 0 ? -1 : 1;
            var (ts, values) = Hour(Start, m => (scale * 50) + (scale * random.NextDouble()) + (m >= 52 ? direction * 5 * scale : 0));
            findings.Add(Finding($"service{i}.host{i * 7 % 5}.metric{i}", Start, 0.3 + (i / 100.0), owner: $"team{i % 6}", movement: Movement.Of(ts, values)));
        }
        for (var i = 0; i < 3; i++)
        {
            var (ts, values) = Hour(Start, m => 100 + (10 * random.NextDouble()) + (m == 10 + (15 * i) ? 80 : 0));
            findings.Add(Finding($"other{i}.queue", Start, 0.5, owner: $"solo{i}", movement: Movement.Of(ts, values)));
        }
        var book = new IncidentBook(new IncidentOptions());
        var events = book.Observe(findings, Start + 5, [], NoAcks, out var changed);

        Assert.Equal(4, book.Open.Count);
        var deploy = Assert.Single(book.Open, i => i.MetricCount > 1);
        Assert.Equal(31, deploy.MetricCount);
        Assert.Equal(6, deploy.Owners.Count);
        // Their movement alone groups them: with owners not grouping, each joins by correlation.
        var byMovement = new IncidentBook(new IncidentOptions { GroupOwners = false });
        byMovement.Observe(findings, Start + 5, [], NoAcks, out _);
        var moved = Assert.Single(byMovement.Open, i => i.MetricCount > 1);
        Assert.Equal(31, moved.MetricCount);
        Assert.All(moved.Metrics.Skip(1), m => Assert.True(m.Correlation >= 0.6, $"{m.Metric}: {m.Correlation}"));
        Assert.Equal("service30.host0.metric30", deploy.PeakMetric);
        Assert.Equal(4, events.Count(e => e.Event == "opened"));
        Assert.Equal(30, events.Count(e => e.Event == "joined"));
        Assert.Equal(4, changed.Count);
        Assert.StartsWith("31 metrics anomalous: service30.host0.metric30, ", deploy.Title(), StringComparison.Ordinal);
    }

    [Fact]
    public void SiblingsAndOwnersGroupButNotAcrossAGapLongerThanTheWindow()
    {
        var book = new IncidentBook(new IncidentOptions());
        book.Observe([Finding("web.api.p99", Start), Finding("web.api.errors", Start + 60), Finding("db.pool.waiting", Start + 60, owner: "payments"),
            Finding("cache.evictions", Start + 120, owner: "payments"), Finding("web.frontend.errors", Start + 60)], Start + 130, [], NoAcks, out _);
        var groups = book.Open.Select(i => string.Join(",", i.Metrics.Select(m => m.Metric).Order())).Order().ToList();
        Assert.Equal(["cache.evictions,db.pool.waiting", "web.api.errors,web.api.p99", "web.frontend.errors"], groups);

        // A sibling found an hour later (the incident still open: its metrics kept being found) is a new incident.
        var later = Start + 3600;
        book.Observe([Finding("web.api.p99", later)], later, [], NoAcks, out _);
        var events = book.Observe([Finding("web.api.p99", later + 60), Finding("web.api.latency", later + 60)], later + 60, [], NoAcks, out _);
        Assert.Contains(events, e => e.Event == "joined" && e.Metric == "web.api.latency");
        var events2 = book.Observe([Finding("web.api.p99", later + 120), Finding("web.api.timeouts", later + 120 + 3600)], later + 120, [], NoAcks, out _);
        Assert.Contains(events2, e => e.Event == "opened" && e.Metric == "web.api.timeouts");
    }

    [Fact]
    public void AnIncidentIsRecordedOnceWhileItLastsAndResolvesWhenItsMetricsAreQuiet()
    {
        var options = new IncidentOptions { ResolveAfter = TimeSpan.FromMinutes(15) };
        var book = new IncidentBook(options);
        var history = new List<IncidentEvent>();
        // An anomaly found for ten passes (a minute apart), and an exhaustion forecast that holds for a day of passes.
        for (var pass = 0; pass < 1440; pass++)
        {
            var now = Start + (pass * 60L);
            var findings = new List<AnomalyRecord> { Finding("disk.used", now, kind: FindingKind.Exhaustion) };
            if (pass < 10)
            {
                findings.Add(Finding("api.latency", now, score: 0.3 + (pass * 0.03)));
            }
            history.AddRange(book.Observe(findings, now, [], NoAcks, out _));
        }
        var anomaly = history.Where(e => e.Title!.Contains("api.latency", StringComparison.Ordinal)).Select(e => e.Event).ToList();
        // Opened, escalated once its score passed 0.5, resolved 15 minutes after its last finding.
        Assert.Equal(["opened", "escalated", "resolved"], anomaly);
        Assert.Equal(Start + (9 * 60) + (15 * 60), history.Single(e => e.Event == "resolved").At);
        var exhaustion = Assert.Single(book.Open);
        Assert.Equal(FindingKind.Exhaustion, exhaustion.Kind);
        Assert.Single(history, e => e.Incident == exhaustion.Id);

        // The forecast clears: the exhaustion incident resolves.
        var after = Start + (1440 * 60L) + (16 * 60);
        Assert.Contains(book.Observe([], after, [], NoAcks, out _), e => e.Event == "resolved" && e.Incident == exhaustion.Id);
        Assert.Empty(book.Open);
    }

    [Fact]
    public void AcknowledgementsAndSilencesApplyOnTheNextPassAndSilencesEnd()
    {
        var book = new IncidentBook(new IncidentOptions());
        book.Observe([Finding("web.api.p99", Start, owner: "web")], Start, [], NoAcks, out _);
        var incident = Assert.Single(book.Open);
        var silence = new Silence("s-1", "web.*", null, Start, Start + 600, "sre", "deploying");
        var other = new Silence("s-2", null, "payments", Start, Start + 6000, "sre", null);
        var ack = new Acknowledgement("alice", Start + 30, "looking");
        var events = book.Observe([Finding("web.api.p99", Start + 60, owner: "web")], Start + 60, [silence, other], new Dictionary<string, Acknowledgement> { [incident.Id] = ack }, out _);
        Assert.Equal(["acknowledged", "silenced"], events.Select(e => e.Event));
        Assert.Equal("s-1", incident.SilencedBy);
        Assert.Equal(ack, incident.Acknowledged);
        // Nothing new while nothing changes; the silence's end lifts it.
        Assert.Empty(book.Observe([Finding("web.api.p99", Start + 120, owner: "web")], Start + 120, [silence, other], new Dictionary<string, Acknowledgement> { [incident.Id] = ack }, out _));
        Assert.Contains(book.Observe([Finding("web.api.p99", Start + 660, owner: "web")], Start + 660, [silence, other], NoAcks, out _), e => e.Event == "unsilenced");
        Assert.Null(incident.SilencedBy);
        // A silence covers an incident only when it covers every metric in it.
        Assert.True(new Silence("x", "web.api.*", "web", 0, 1, "a", null).Matches("web.api.p99", "web"));
        Assert.False(new Silence("x", "web.api.*", "web", 0, 1, "a", null).Matches("web.api.p99", "db"));
        Assert.False(new Silence("x", "web.api.?", null, 0, 1, "a", null).Matches("web.api.p99", null));
        Assert.NotNull(new Silence("x", null, null, 0, 100, "a", null).Problem(10));
        Assert.NotNull(new Silence("x", "a.*", null, 0, 5, "a", null).Problem(10));
        Assert.Null(new Silence("x", "a.*", null, 0, 100, "a", null).Problem(10));
    }

    [Fact]
    public void AnIncidentStoredAndRestoredContinuesInsteadOfOpeningAgain()
    {
        var first = new IncidentBook(new IncidentOptions());
        first.Observe([Finding("web.api.p99", Start), Finding("web.api.errors", Start)], Start, [], NoAcks, out var changed);
        var stored = changed.Select(i => JsonSerializer.Serialize(i, IncidentStore.Json)).ToList();

        var second = new IncidentBook(new IncidentOptions());
        second.Restore(stored.Select(json => JsonSerializer.Deserialize<Incident>(json, IncidentStore.Json)!));
        // Another shard's incidents are not taken up.
        new IncidentBook(new IncidentOptions(), "1/2").Restore(stored.Select(json => JsonSerializer.Deserialize<Incident>(json, IncidentStore.Json)!));
        var events = second.Observe([Finding("web.api.p99", Start + 60), Finding("web.api.errors", Start + 60)], Start + 60, [], NoAcks, out _);
        Assert.Empty(events);
        var incident = Assert.Single(second.Open);
        Assert.Equal(changed.Single().Id, incident.Id);
        Assert.Equal(2, incident.MetricCount);
        Assert.Equal(Start, incident.StartedAt);
    }

    [Fact]
    public void MovementCorrelatesOnAMinuteGridWhateverTheSampling()
    {
        // The same step seen at 10 s and at 60 s sampling; noise does not correlate with it.
        var random = new Random(3);
        long[] ts10 = [.. Enumerable.Range(0, 360).Select(i => Start - ((359 - i) * 10L))];
        var step10 = Movement.Of(ts10, [.. ts10.Select(t => (t > Start - 600 ? 20.0 : 10.0) + random.NextDouble())])!;
        var (ts60, values60) = Hour(Start, m => (m > 50 ? 500.0 : 300.0) + (5 * random.NextDouble()));
        var step60 = Movement.Of(ts60, values60)!;
        var (tsn, noise) = Hour(Start, _ => random.NextDouble());
        Assert.True(step10.Correlation(step60) > 0.9, $"{step10.Correlation(step60)}");
        Assert.True(step10.Correlation(Movement.Of(tsn, noise)!) < 0.6);
        Assert.Null(Movement.Of([Start], [1.0]));
    }
    [Fact]
    public void AShiftThatHoldsKeepsItsIncidentOpenThoughItIsNotReportedAgain()
    {
        // Found once (the novelty filter reports a shift when it starts), then still abnormal pass
        // after pass: the incident stays open; once it is normal again it resolves 15 minutes later.
        var book = new IncidentBook(new IncidentOptions { ResolveAfter = TimeSpan.FromMinutes(15) });
        var events = book.Observe([Finding("cpu.busy", Start)], Start, [], NoAcks, out _);
        for (var pass = 1; pass <= 120; pass++)
        {
            events.AddRange(book.Observe([], Start + (pass * 60L), [], NoAcks, out _, abnormal: ["cpu.busy"]));
        }
        Assert.Equal(["opened"], events.Select(e => e.Event));
        Assert.Single(book.Open);
        var quiet = Start + (120 * 60L);
        for (var pass = 1; pass <= 15; pass++)
        {
            events.AddRange(book.Observe([], quiet + (pass * 60L), [], NoAcks, out _, abnormal: []));
        }
        Assert.Equal(["opened", "resolved"], events.Select(e => e.Event));
        Assert.Equal(quiet + (15 * 60), events[^1].At);
    }
    [Fact]
    public void AShapeTaughtNotAnomalousIsRecognisedLaterButNotALargerOrDifferentOne()
    {
        // A nightly burst (a minute at +40 on a level of 100) marked "not anomalous"; the same
        // burst a day later matches; three times as large, at another level, or a step does not.
        var random = new Random(5);
        Movement Shape(long end, Func<int, double> value) => Movement.Of(Hour(end, value).Ts, Hour(end, value).Values)!;
        var burst = Shape(Start, m => 100 + random.NextDouble() + (m is 50 or 51 ? 40 : 0));
        var taught = new TaughtShapes([new TaughtShape("p-1", "jobs.queue", burst.EndBin, burst.Means.ToArray(), Start, "alice", "i-1")]);
        var day = Start + 86400;
        Assert.Equal("p-1", taught.Match("jobs.queue", Shape(day, m => 100 + random.NextDouble() + (m is 51 or 52 ? 42 : 0)))?.Id);
        Assert.Null(taught.Match("other.queue", Shape(day, m => 100 + random.NextDouble() + (m is 51 or 52 ? 42 : 0))));
        Assert.Null(taught.Match("jobs.queue", Shape(day, m => 100 + random.NextDouble() + (m is 51 or 52 ? 120 : 0))));
        Assert.Null(taught.Match("jobs.queue", Shape(day, m => 300 + random.NextDouble() + (m is 51 or 52 ? 40 : 0))));
        Assert.Null(taught.Match("jobs.queue", Shape(day, m => 100 + random.NextDouble() + (m >= 51 ? 40 : 0))));
        Assert.Null(taught.Match("jobs.queue", null));
    }

    [Fact]
    public void FindingsAfterADeployAreOneIncidentThatNamesItAndFindingsBeforeOrLongAfterAreNot()
    {
        var deploy = new Horizon.Storage.Events.HorizonEvent { Id = "e-1", When = Start - 720, What = "deploy web 1234", Tags = ["deploy", "web"] };
        var earlier = new Horizon.Storage.Events.HorizonEvent { Id = "e-0", When = Start - 7200, What = "deploy api 99", Tags = ["deploy"] };
        List<Horizon.Storage.Events.HorizonEvent> events = [earlier, deploy];
        var book = new IncidentBook(new IncidentOptions());
        // Unrelated names, owners and no movement: only the deploy relates them.
        book.Observe([Finding("web.latency", Start, owner: "web"), Finding("db.connections", Start + 60, owner: "dba")], Start + 65, [], NoAcks, out _, events: events);
        var incident = Assert.Single(book.Open);
        Assert.Equal(2, incident.MetricCount);
        Assert.Equal("e-1", incident.AfterEvent!.Id);
        Assert.Equal("12 min after deploy web 1234", incident.Since);
        Assert.Equal("12 min after deploy web 1234", IncidentAlert.Annotations(incident)["after"]);
        // 25 minutes after the deploy (and 23 after the incident's last finding, beyond GroupWindow): still the deploy's.
        book.Observe([Finding("queue.depth", Start + 780, owner: "jobs")], Start + 785, [], NoAcks, out _, events: events);
        Assert.Equal(3, Assert.Single(book.Open).MetricCount);
        // Over half an hour after it: its own incident, naming nothing.
        book.Observe([Finding("cache.misses", Start + 1200, owner: "cache")], Start + 1205, [], NoAcks, out _, events: events);
        Assert.Equal(2, book.Open.Count);
        Assert.Null(book.Open.Single(i => i.Metrics[0].Metric == "cache.misses").AfterEvent);
        // Without GroupEvents the deploy is still named, but does not group.
        var apart = new IncidentBook(new IncidentOptions { GroupEvents = false });
        apart.Observe([Finding("web.latency", Start, owner: "web"), Finding("db.connections", Start + 60, owner: "dba")], Start + 65, [], NoAcks, out _, events: events);
        Assert.Equal(2, apart.Open.Count);
        Assert.All(apart.Open, i => Assert.Equal("e-1", i.AfterEvent!.Id));
        // Stored and taken up again (another shard, a restart), the incident still groups the deploy's findings.
        var stored = System.Text.Json.JsonSerializer.Deserialize<Incident>(System.Text.Json.JsonSerializer.Serialize(incident, IncidentStore.Json), IncidentStore.Json)!;
        var again = new IncidentBook(new IncidentOptions());
        again.Restore([stored]);
        again.Observe([Finding("mail.queue", Start + 300, owner: "mail")], Start + 305, [], NoAcks, out _, events: events);
        Assert.Equal(4, Assert.Single(again.Open).MetricCount);
    }
}
