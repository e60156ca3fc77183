using Horizon.Algorithms.Detection;
using Horizon.Analyzer.Deploys;

namespace Horizon.Integration.Tests;

/// <summary>The per-KPI judgement behind a deploy verdict, on hand-made series.</summary>
public sealed class DeployJudgeTests
{
    private const long When = 1_800_000_000;
    private static readonly DeployOptions Options = new();

    private static (long[] Ts, double[] Vs) Series(Func<long, double> value) =>
        (Enumerable.Range(0, 720).Select(i => When - 3600 + (i * 10L)).ToArray(), Enumerable.Range(0, 720).Select(i => value(When - 3600 + (i * 10L))).ToArray());

    private static KpiVerdict Judge(Func<long, double> value, BadDirection direction = BadDirection.Both)
    {
        var (ts, vs) = Series(value);
        return DeployJudge.Judge("kpi", ts, vs, When, Options, direction);
    }

    // Noise of spread about 1 (a fixed pattern, so the medians are known).
    private static double Noise(long t) => ((t / 10) % 5) - 2;

    [Theory]
    [InlineData(0, "ok")]
    [InlineData(3, "ok")]
    [InlineData(5, "suspect")]
    [InlineData(9, "bad")]
    [InlineData(-9, "bad")]
    public void AMoveIsCountedInSpreadsOfTheHourBefore(double shift, string verdict)
    {
        // The noise's MAD is 1: a spread of 1.4826.
        var k = Judge(t => 100 + Noise(t) + (t >= When ? shift * 1.4826 : 0));
        Assert.Equal(verdict, k.Verdict);
        Assert.Equal(shift, k.Spreads!.Value, 1);
    }

    [Fact]
    public void OnlyTheBadDirectionCounts()
    {
        Assert.Equal("ok", Judge(t => 100 + Noise(t) + (t >= When ? 20 : 0), BadDirection.Down).Verdict);
        Assert.Equal("bad", Judge(t => 100 + Noise(t) - (t >= When ? 20 : 0), BadDirection.Down).Verdict);
        Assert.Equal("ok", Judge(t => 100 + Noise(t) - (t >= When ? 20 : 0), BadDirection.Up).Verdict);
    }

    [Fact]
    public void ASeasonalKpiIsJudgedBeyondTheChangeExpected()
    {
        var (ts, vs) = Series(t => 100 + Noise(t) + (t >= When ? 30 : 0));
        var seasonal = DeployJudge.Judge("kpi", ts, vs, When, Options, BadDirection.Both, (30, "the same time yesterday"));
        Assert.Equal("ok", seasonal.Verdict);
        Assert.Contains("+30 expected from the same time yesterday", seasonal.Reason, StringComparison.Ordinal);
        Assert.Equal("bad", DeployJudge.Judge("kpi", ts, vs, When, Options, BadDirection.Both, (-30, "the same time yesterday")).Verdict);
    }

    [Fact]
    public void AFlatKpiIsJudgedAgainstATenthOfAPercentNotAgainstZero()
    {
        Assert.Equal("ok", Judge(t => t >= When ? 1000.5 : 1000).Verdict);
        Assert.Equal("bad", Judge(t => t >= When ? 1010 : 1000).Verdict);
    }

    [Fact]
    public void TooFewPointsOnEitherSideIsNoDataAndTheWorstVerdictWins()
    {
        var (ts, vs) = Series(t => 1);
        var none = DeployJudge.Judge("kpi", ts.AsSpan(0, 5), vs.AsSpan(0, 5), When, Options, BadDirection.Both);
        Assert.Equal("no_data", none.Verdict);
        var after = DeployJudge.Judge("kpi", ts.AsSpan(0, 361), vs.AsSpan(0, 361), When, Options, BadDirection.Both);
        Assert.Equal("no_data", after.Verdict); // one point after the deploy
        Assert.Equal("no_data", DeployJudge.Worst([]));
        Assert.Equal("bad", DeployJudge.Worst([none, Judge(t => 100 + Noise(t)), Judge(t => 100 + Noise(t) + (t >= When ? 50 : 0))]));
        Assert.Equal("ok", DeployJudge.Worst([none, Judge(t => 100 + Noise(t))]));
    }
}
