namespace Horizon.Algorithms.Detection;

/// <summary>How the ensemble turns detector scores into one.</summary>
public enum Combination : byte
{
    /// <summary>Mean of the detector scores: every detector has a say.</summary>
    Mean,

    /// <summary>Median of the detector scores: half must agree.</summary>
    Median,

    /// <summary>The highest detector score.</summary>
    Max,

    /// <summary>Level-led: the level score, scaled from half to full by the strongest of the forecasts,
    /// so they confirm or temper what the distribution says (not in a sparse window, where they
    /// forecast the median and every burst is far outside their band); or, when higher, the sustained score
    /// scaled by <see cref="EnsembleSettings.SustainedWeight"/> (a held shift no point shows).</summary>
    Gate,
}
