using Horizon.Graphite;

namespace Horizon.Graphite.Tests;

public class RenderTests
{
    // Midnight, 2026-12-07 UTC.
    private const long T0 = 1796601600;
    private const double N = double.NaN;

    private static readonly MemorySource Source = new MemorySource()
        .Add("app.web1.requests", T0, 60, 1, 2, 3, 4, 5)
        .Add("app.web2.requests", T0, 60, 10, 20, N, 40, 50)
        .Add("app.db.errors", T0, 60, 7, 7, 7, 7, 7)
        .Add("a.fast", T0, 10, [.. Enumerable.Range(1, 12).Select(i => (double)i)])
        .Add("a.slow", T0, 60, 100, 200)
        .Add("c.counter", T0, 60, 10, 15, 3, 8, N, 20)
        .Add("d.ten", T0, 60, [.. Enumerable.Range(0, 10).Select(i => (double)i)]);

    // Over (from, until]: from one second before the first point, so it is included.
    private static List<TimeSeries> Run(string target, long from = T0 - 1, long until = T0 + 240) =>
        new Render(Source).Evaluate(Target.Parse(target), from, until);

    private static void Equal(double[] expected, double[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.True(double.IsNaN(expected[i]) ? double.IsNaN(actual[i]) : Math.Abs(expected[i] - actual[i]) < 1e-9,
                $"at {i}: expected {expected[i]}, got {actual[i]} in [{string.Join(", ", actual)}]");
        }
    }

    [Fact]
    public void APathFetchesEveryMatchInWhispersSlots()
    {
        var series = Run("app.web*.requests");
        Assert.Equal(["app.web1.requests", "app.web2.requests"], series.Select(s => s.Name));
        Assert.All(series, s => Assert.Equal((T0, 60L), (s.Start, s.Step)));
        Equal([1, 2, 3, 4, 5], series[0].Values);
        Equal([10, 20, N, 40, 50], series[1].Values);
        // from is exclusive, as whisper has it: from the first point's own time, it is left out.
        Equal([2, 3, 4, 5], Run("app.web1.requests", from: T0)[0].Values);
    }

    [Fact]
    public void SumAndAverageSkipMissingValuesAndAreNamedByTheirPattern()
    {
        var sum = Assert.Single(Run("sumSeries(app.web*.requests)"));
        Assert.Equal("sumSeries(app.web*.requests)", sum.Name);
        Equal([11, 22, 3, 44, 55], sum.Values);
        var avg = Assert.Single(Run("averageSeries(app.web1.requests, app.web2.requests)"));
        Assert.Equal("averageSeries(app.web1.requests,app.web2.requests)", avg.Name);
        Equal([5.5, 11, 3, 22, 27.5], avg.Values);
        Equal([10, 20, 3, 40, 50], Assert.Single(Run("maxSeries(app.web*.requests)")).Values);
        Assert.Empty(Run("sumSeries(nothing.*)"));
    }

    [Fact]
    public void SeriesOfDifferentStepsAreCombinedAtTheirLeastCommonMultiple()
    {
        var avg = Assert.Single(Run("averageSeries(a.fast, a.slow)", until: T0 + 119));
        Assert.Equal(60, avg.Step);
        // Each consolidated to a minute by its average first: (3.5 + 100) / 2 and (9.5 + 200) / 2.
        Equal([51.75, 104.75], avg.Values);
    }

    [Fact]
    public void ScaleOffsetAndAliasesRename()
    {
        var scaled = Assert.Single(Run("scale(a.slow, 10)", until: T0 + 60));
        Assert.Equal("scale(a.slow,10)", scaled.Name);
        Equal([1000, 2000], scaled.Values);
        Equal([107, 207], Assert.Single(Run("offset(a.slow, 7)", until: T0 + 60)).Values);
        Assert.Equal("total", Assert.Single(Run("alias(sumSeries(app.*.requests), 'total')")).Name);
        Assert.Equal(["web1", "web2"], Run("aliasByNode(app.web*.requests, 1)").Select(s => s.Name));
        Assert.Equal(["web1.requests", "web2.requests"], Run("aliasByNode(scale(app.web*.requests, 2), 1, -1)").Select(s => s.Name));
        Assert.Equal(["requests", "requests"], Run("aliasByMetric(app.web*.requests)").Select(s => s.Name));
    }

    [Fact]
    public void SummarizeBucketsOnIntervalBoundaries()
    {
        var sum = Assert.Single(Run("summarize(app.web1.requests, '2min')"));
        Assert.Equal("summarize(app.web1.requests, \"2min\", \"sum\")", sum.Name);
        Assert.Equal((T0, 120L), (sum.Start, sum.Step));
        Equal([3, 7, 5], sum.Values);
        Equal([2, 4, 5], Assert.Single(Run("summarize(app.web1.requests, '2min', 'max')")).Values);
        Equal([1.5, 3.5, 5], Assert.Single(Run("summarize(app.web1.requests, \"2min\", func='avg')")).Values);
    }

    [Fact]
    public void MovingAverageTakesItsFirstWindowsFromBeforeTheRange()
    {
        // From the second point: its window (the point before it) lies before `from`.
        var avg = Assert.Single(Run("movingAverage(app.web1.requests, 2)", from: T0 + 59));
        Assert.Equal("movingAverage(app.web1.requests,2)", avg.Name);
        Equal([1, 1.5, 2.5, 3.5], avg.Values);
        var byTime = Assert.Single(Run("movingAverage(app.web1.requests, '2min')", from: T0 + 59));
        Assert.Equal("movingAverage(app.web1.requests,\"2min\")", byTime.Name);
        Equal([1, 1.5, 2.5, 3.5], byTime.Values);
    }

    [Fact]
    public void DerivativesTreatACounterResetAsMissingUnlessAMaximumIsGiven()
    {
        var until = T0 + 300;
        Equal([N, 5, N, 5, N, N], Assert.Single(Run("nonNegativeDerivative(c.counter)", until: until)).Values);
        // A wrap at maxValue 20: 20 + 1 + 3 - 15.
        Equal([N, 5, 9, 5, N, N], Assert.Single(Run("nonNegativeDerivative(c.counter, 20)", until: until)).Values);
        Equal([N, 5, -12, 5, N, N], Assert.Single(Run("derivative(c.counter)", until: until)).Values);
        var rate = Assert.Single(Run("perSecond(c.counter)", until: until));
        Assert.Equal("perSecond(c.counter)", rate.Name);
        Equal([N, 0.083333, N, 0.083333, N, N], rate.Values);
    }

    [Fact]
    public void AsPercentOfTheSumANumberOrASeries()
    {
        var shares = Run("asPercent(app.web*.requests)");
        Assert.Equal("asPercent(app.web1.requests,sumSeries(app.web*.requests))", shares[0].Name);
        Equal([100.0 / 11, 100.0 / 11, 100, 100.0 / 11, 100.0 / 11], shares[0].Values);
        Equal([1000.0 / 11, 1000.0 / 11, N, 1000.0 / 11, 1000.0 / 11], shares[1].Values);
        Equal([2, 4, 6, 8, 10], Assert.Single(Run("asPercent(app.web1.requests, 50)")).Values);
        Equal([10, 10, N, 10, 10], Assert.Single(Run("asPercent(app.web1.requests, app.web2.requests)")).Values);
        Assert.Throws<RenderException>(() => Run("asPercent(app.web*.requests, app.*.*)"));
    }

    [Fact]
    public void TimeShiftDrawsYesterdaysValuesAtTodaysTimes()
    {
        var source = new MemorySource().Add("d.daily", T0 - 86400, 60, 100, 101, 102, 103, 104).Add("d.daily.today", T0, 60, 0, 0, 0, 0, 0);
        var shifted = Assert.Single(new Render(source).Evaluate(Target.Parse("timeShift(d.daily, '1d')"), T0 - 1, T0 + 240));
        Assert.Equal("timeShift(d.daily, \"-1d\")", shifted.Name); // graphite-web names it with the sign it added
        Assert.Equal(T0, shifted.Start);
        Equal([100, 101, 102, 103, 104], shifted.Values);
        Assert.All(new Render(source).Evaluate(Target.Parse("timeShift(d.daily, '+1d')"), T0 - 1, T0 + 240).SelectMany(s => s.Values), v => Assert.True(double.IsNaN(v)));
    }

    [Fact]
    public void MaxDataPointsConsolidatesAsGraphiteWebsJsonRendererDoes()
    {
        // Ten minutes from midnight; four values a point: bands on multiples of four minutes, the
        // start nudged to the next one (graphite-web drops one value fewer than it moves). The
        // figures are what graphite-web 1.1.8's renderViewJson returns for the same series.
        var ten = Assert.Single(Run("d.ten", until: T0 + 540));
        var averaged = ten.Consolidate(3, ten.End - ten.Start);
        Assert.Equal(240, averaged.Step);
        Assert.Equal(T0 + 240, averaged.Start);
        Equal([4.5, 8], averaged.Values);
        var summed = Assert.Single(Run("consolidateBy(d.ten, 'sum')", until: T0 + 540)).Consolidate(3, 600);
        Equal([18, 24], summed.Values);
        var one = ten.Consolidate(1, 600);
        Assert.Equal(T0, one.Start);
        Equal([4.5], one.Values);
        Assert.Same(ten, ten.Consolidate(10, 600));
    }

    [Theory]
    [InlineData("holtWintersForecast(a.slow)", "unknown function holtWintersForecast")]
    [InlineData("42", "not a bare value")]
    [InlineData("scale(a.slow)", "scale needs its factor argument")]
    [InlineData("scale(a.slow, 'x')", "scale's factor must be a number")]
    [InlineData("summarize(a.slow, 'often')", "an interval such as")]
    [InlineData("consolidateBy(a.slow, 'median')", "consolidateBy takes")]
    [InlineData("timeShift(a.slow, 'yesterday')", "timeShift's interval")]
    [InlineData("movingAverage(a.slow, 0)", "movingAverage's windowSize")]
    public void WhatCannotBeRenderedSaysWhy(string target, string message) =>
        Assert.Contains(message, Assert.Throws<RenderException>(() => Run(target)).Message, StringComparison.Ordinal);

    [Fact]
    public void EveryServedFunctionIsDescribed()
    {
        Assert.Equal(Render.Functions.Count, Render.Functions.Select(f => f.Name).Distinct().Count());
        Assert.All(Render.Functions, f => Assert.Equal("seriesList", f.Params[0].Type));
    }
}
