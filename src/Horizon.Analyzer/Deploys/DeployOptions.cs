namespace Horizon.Analyzer.Deploys;

/// <summary>The verdict after each deploy: which events are deploys, which metrics are the KPIs,
/// and how far a KPI may move before the deploy is suspect or bad.</summary>
public sealed record DeployOptions
{
    /// <summary>Events with this tag are deploys (empty: no verdicts).</summary>
    public string Tag { get; init; } = "deploy";

    /// <summary>KPIs by name (globs, as in silences); metrics whose metadata says <c>"kpi": true</c> are KPIs too.</summary>
    public IReadOnlyList<string> Kpis { get; init; } = [];

    /// <summary>How long after the deploy the KPIs are watched before the verdict (four minutes:
    /// with a pass after it, the verdict is on the page within five).</summary>
    public TimeSpan Window { get; init; } = TimeSpan.FromMinutes(4);

    /// <summary>The stretch before the deploy a KPI's usual level and spread are taken from.</summary>
    public TimeSpan Baseline { get; init; } = TimeSpan.FromHours(1);

    /// <summary>A KPI whose median after the deploy is this many robust spreads (1.4826 MAD) from
    /// its median before, in its bad direction, makes the deploy suspect; <see cref="BadSpreads"/>: bad.</summary>
    public double SuspectSpreads { get; init; } = 4;

    /// <summary>See <see cref="SuspectSpreads"/>.</summary>
    public double BadSpreads { get; init; } = 8;

    /// <summary>Most KPIs judged per deploy (the first by name beyond it are left out, and the verdict says so).</summary>
    public int MaxKpis { get; init; } = 500;

    /// <summary>Fails fast on settings that cannot work.</summary>
    public void Validate()
    {
        if (Window <= TimeSpan.Zero || Baseline <= TimeSpan.Zero || SuspectSpreads <= 0 || BadSpreads < SuspectSpreads || MaxKpis < 1)
        {
            throw new ArgumentException("Analyzer:Deploys: Window and Baseline positive, 0 < SuspectSpreads <= BadSpreads, MaxKpis at least 1.");
        }
    }
}
