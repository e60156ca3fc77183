using MathNet.Numerics.Distributions;

namespace Horizon.Algorithms.Statistics;

/// <summary>Result of the augmented Dickey-Fuller test.</summary>
public readonly record struct AdfResult(double Statistic, double PValue, int UsedLag, int Observations, string? Error);

/// <summary>The augmented Dickey-Fuller unit-root test as statsmodels 0.13.5's
/// <c>adfuller(x, maxlag)</c> runs it with its defaults: a constant, the lag chosen by AIC over
/// 0..maxlag on a common sample, the regression re-run with the chosen lag on the longest sample,
/// and MacKinnon's (1994, 2010) approximate p-value.</summary>
public sealed class DickeyFuller
{
    // MacKinnon's response-surface coefficients for the constant-only case with one variable.
    private const double TauMax = 2.74;
    private const double TauMin = -18.83;
    private const double TauStar = -1.61;
    private static readonly double[] SmallP = [2.1659, 1.4412, 3.8269e-2];
    private static readonly double[] LargeP = [1.7339, 9.3202e-1, -1.2745e-1, -1.0368e-2];

    private readonly LeastSquares _ols = new();
    private double[] _design = [];
    private double[] _dependent = [];

    /// <summary>Runs the test. Mirrors statsmodels' refusal of a maxlag that the series is too
    /// short for (Error set, as the ValueError Skyline would raise).</summary>
    public AdfResult Test(ReadOnlySpan<double> x, int maxlag)
    {
        var n = x.Length;
        const int trendColumns = 1;
        if (maxlag < 0 || maxlag > n / 2 - trendColumns - 1)
        {
            return new AdfResult(double.NaN, double.NaN, 0, 0,
                "maxlag must be less than (nobs/2 - 1 - ntrend) where n trend is the number of included deterministic regressors");
        }
        // Autolag: every candidate on the same observations (those the longest lag allows).
        var nobs = n - 1 - maxlag;
        var bestAic = double.PositiveInfinity;
        var bestLag = 0;
        var first = true;
        for (var lag = 0; lag <= maxlag; lag++)
        {
            // statsmodels' autolag design: [const, level, Δx lags...].
            var columns = 2 + lag;
            Build(x, nobs, lag, constantFirst: true);
            _ols.Fit(_design, _dependent, nobs, columns);
            var aic = _ols.RankDeficient ? AicOfZeroResidual(nobs, columns, _ols.Ssr) : _ols.Aic();
            // min over (aic, lag): the smallest AIC, ties to the shorter lag.
            if (first || aic < bestAic)
            {
                bestAic = aic;
                bestLag = lag;
                first = false;
            }
        }
        // The final regression with the chosen lag on the longest sample: [level, lags..., const].
        var finalObs = n - 1 - bestLag;
        Build(x, finalObs, bestLag, constantFirst: false);
        _ols.Fit(_design, _dependent, finalObs, bestLag + 2);
        double statistic;
        if (_ols.RankDeficient || _ols.Ssr == 0)
        {
            statistic = double.NaN;
        }
        else
        {
            statistic = _ols.Coefficients[0] / _ols.StandardError(0);
        }
        return new AdfResult(statistic, MacKinnonP(statistic), bestLag, finalObs, null);
    }

    // A rank-deficient candidate (a constant series): statsmodels' pinv gives a zero residual, so
    // log(SSR) is -inf and the AIC -inf; NaN SSR here stands for that.
    private static double AicOfZeroResidual(int nobs, int columns, double ssr) =>
        double.IsNaN(ssr) ? double.NegativeInfinity : -2 * (-(nobs / 2.0) * (Math.Log(2 * Math.PI) + Math.Log(ssr / nobs) + 1)) + 2 * columns;

    // Rows r = 0..rows-1 use t = (n - 1 - rows) + r as the index into Δx: the dependent is Δx[t],
    // the level x[t], lag j is Δx[t - j].
    private void Build(ReadOnlySpan<double> x, int rows, int lags, bool constantFirst)
    {
        var columns = 2 + lags;
        if (_design.Length < rows * columns)
        {
            _design = new double[rows * columns];
        }
        if (_dependent.Length < rows)
        {
            _dependent = new double[rows];
        }
        var offset = x.Length - 1 - rows;
        for (var r = 0; r < rows; r++)
        {
            var t = offset + r;
            _dependent[r] = x[t + 1] - x[t];
            var row = _design.AsSpan(r * columns, columns);
            var c = 0;
            if (constantFirst)
            {
                row[c++] = 1;
            }
            row[c++] = x[t];
            for (var j = 1; j <= lags; j++)
            {
                row[c++] = x[t - j + 1] - x[t - j];
            }
            if (!constantFirst)
            {
                row[c] = 1;
            }
        }
    }

    /// <summary>MacKinnon's approximate p-value of a Dickey-Fuller statistic (constant, one variable).</summary>
    public static double MacKinnonP(double statistic)
    {
        if (statistic > TauMax)
        {
            return 1.0;
        }
        if (statistic < TauMin)
        {
            return 0.0;
        }
        var coefficients = statistic <= TauStar ? SmallP : LargeP;
        // numpy polyval over the reversed coefficients: Horner from the highest power.
        var z = 0.0;
        for (var i = coefficients.Length - 1; i >= 0; i--)
        {
            z = z * statistic + coefficients[i];
        }
        return Normal.CDF(0, 1, z);
    }
}
