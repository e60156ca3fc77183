namespace Horizon.Algorithms.Skyline;

/// <summary>The numbers behind each vote, filled when asked for (explanations, parity tests);
/// the pass loop does not ask.</summary>
public sealed class SkylineDetails
{
#pragma warning disable CS1591, CA1051 // named after Skyline's variables; plain fields on purpose
    public int N;
    public long StaleAge;
    public int BoredomDistinct;
    public double TailAvg = double.NaN;
    public double Mean = double.NaN;
    public double StdPandas = double.NaN;
    public double StdNumpy = double.NaN;
    public double Median = double.NaN;
    public double Mad = double.NaN;
    public double MadDemedianedLast = double.NaN;
    public double MadRatio = double.NaN;
    public double GrubbsZ = double.NaN;
    public double GrubbsT = double.NaN;
    public double GrubbsG = double.NaN;
    public int FirstHourCount;
    public double FirstHourMean = double.NaN;
    public double FirstHourStd = double.NaN;
    public double LastValue = double.NaN;
    public double Ewma = double.NaN;
    public double EwmStd = double.NaN;
    public double HeadMean = double.NaN;
    public double SeriesLast = double.NaN;
    public double CumulationSd = double.NaN;
    public double Slope = double.NaN;
    public double Intercept = double.NaN;
    public int Rank;
    public double SingularLarge = double.NaN;
    public double SingularSmall = double.NaN;
    public double ErrorsStd = double.NaN;
    public double ErrorsTailMean = double.NaN;
    public readonly int[] HistogramCounts = new int[15];
    public readonly double[] HistogramEdges = new double[16];
    public int HistogramHitBin = -1;
    public int KsReferenceSize;
    public int KsProbeSize;
    public bool KsComputed;
    public double KsD = double.NaN;
    public double KsP = double.NaN;
    public bool AdfComputed;
    public Statistics.AdfResult Adf;
#pragma warning restore CS1591, CA1051
}
