namespace Horizon.Algorithms.Statistics;

/// <summary>Ordinary least squares for small dense problems (a few hundred rows, a dozen
/// columns) by Householder QR: the coefficients, the residual sum of squares, the standard error
/// of each coefficient, and whether the design was rank deficient.</summary>
public sealed class LeastSquares
{
    private double[] _a = [];
    private double[] _y = [];
    private double[] _qty = [];
    private double[] _rinv = [];

    private double[] _coefficients = new double[16];

    /// <summary>Coefficients of the last fit.</summary>
    public ReadOnlySpan<double> Coefficients => _coefficients.AsSpan(0, Columns);

    /// <summary>Residual sum of squares of the last fit.</summary>
    public double Ssr { get; private set; }

    /// <summary>Columns of the design.</summary>
    public int Columns { get; private set; }

    /// <summary>Rows of the design.</summary>
    public int Rows { get; private set; }

    /// <summary>True when some column was (numerically) a combination of the others.</summary>
    public bool RankDeficient { get; private set; }

    /// <summary>Fits y ≈ X b. <paramref name="x"/> is row-major, rows × columns.</summary>
    public void Fit(ReadOnlySpan<double> x, ReadOnlySpan<double> y, int rows, int columns)
    {
        Rows = rows;
        Columns = columns;
        if (_a.Length < rows * columns)
        {
            _a = new double[rows * columns];
        }
        if (_y.Length < rows)
        {
            _y = new double[rows];
            _qty = new double[rows];
        }
        x[..(rows * columns)].CopyTo(_a);
        y[..rows].CopyTo(_y);
        y[..rows].CopyTo(_qty);
        var a = _a.AsSpan(0, rows * columns);
        var qty = _qty.AsSpan(0, rows);
        RankDeficient = rows < columns;
        var maxDiag = 0.0;
        for (var k = 0; k < columns && k < rows; k++)
        {
            // Householder vector for column k, rows k..n-1.
            var norm = 0.0;
            for (var i = k; i < rows; i++)
            {
                norm = Hypot(norm, a[i * columns + k]);
            }
            if (norm == 0)
            {
                RankDeficient = true;
                continue;
            }
            var alpha = a[k * columns + k] > 0 ? -norm : norm;
            var v0 = a[k * columns + k] - alpha;
            a[k * columns + k] = alpha;
            // v = (v0, a[k+1..,k]); H = I - 2 v v^T / (v^T v)
            var vtv = v0 * v0;
            for (var i = k + 1; i < rows; i++)
            {
                vtv += a[i * columns + k] * a[i * columns + k];
            }
            if (vtv == 0)
            {
                continue;
            }
            for (var j = k + 1; j < columns; j++)
            {
                var dot = v0 * a[k * columns + j];
                for (var i = k + 1; i < rows; i++)
                {
                    dot += a[i * columns + k] * a[i * columns + j];
                }
                var f = 2 * dot / vtv;
                a[k * columns + j] -= f * v0;
                for (var i = k + 1; i < rows; i++)
                {
                    a[i * columns + j] -= f * a[i * columns + k];
                }
            }
            {
                var dot = v0 * qty[k];
                for (var i = k + 1; i < rows; i++)
                {
                    dot += a[i * columns + k] * qty[i];
                }
                var f = 2 * dot / vtv;
                qty[k] -= f * v0;
                for (var i = k + 1; i < rows; i++)
                {
                    qty[i] -= f * a[i * columns + k];
                }
            }
            maxDiag = Math.Max(maxDiag, Math.Abs(alpha));
        }
        for (var k = 0; k < Math.Min(columns, rows); k++)
        {
            if (Math.Abs(a[k * columns + k]) <= maxDiag * 1e-13 * Math.Max(rows, columns))
            {
                RankDeficient = true;
            }
        }
        if (_coefficients.Length < columns)
        {
            _coefficients = new double[columns];
        }
        var coefficients = _coefficients.AsSpan(0, columns);
        if (RankDeficient)
        {
            coefficients.Fill(double.NaN);
            Ssr = double.NaN;
            return;
        }
        // Back substitution R b = Q^T y.
        for (var k = columns - 1; k >= 0; k--)
        {
            var s = qty[k];
            for (var j = k + 1; j < columns; j++)
            {
                s -= a[k * columns + j] * coefficients[j];
            }
            coefficients[k] = s / a[k * columns + k];
        }
        // Residuals from the original data, as statsmodels computes them.
        var ssr = 0.0;
        for (var i = 0; i < rows; i++)
        {
            var fitted = 0.0;
            for (var j = 0; j < columns; j++)
            {
                fitted += x[i * columns + j] * coefficients[j];
            }
            var r = y[i] - fitted;
            ssr += r * r;
        }
        Ssr = ssr;
    }

    /// <summary>Standard error of coefficient <paramref name="column"/>: sqrt(σ² (XᵀX)⁻¹ⱼⱼ) with
    /// σ² = SSR / (rows − columns).</summary>
    public double StandardError(int column)
    {
        if (RankDeficient || Rows <= Columns)
        {
            return double.NaN;
        }
        var p = Columns;
        if (_rinv.Length < p * p)
        {
            _rinv = new double[p * p];
        }
        var rinv = _rinv.AsSpan(0, p * p);
        rinv.Clear();
        // R⁻¹ by back substitution, column by column.
        for (var c = 0; c < p; c++)
        {
            for (var k = p - 1; k >= 0; k--)
            {
                var s = k == c ? 1.0 : 0.0;
                for (var j = k + 1; j < p; j++)
                {
                    s -= _a[k * p + j] * rinv[j * p + c];
                }
                rinv[k * p + c] = s / _a[k * p + k];
            }
        }
        // (XᵀX)⁻¹ = R⁻¹ R⁻ᵀ, so its diagonal is the squared norm of each row of R⁻¹.
        var diag = 0.0;
        for (var c = 0; c < p; c++)
        {
            diag += rinv[column * p + c] * rinv[column * p + c];
        }
        var sigma2 = Ssr / (Rows - Columns);
        return Math.Sqrt(sigma2 * diag);
    }

    /// <summary>Akaike's criterion as statsmodels' OLS reports it: −2 log L + 2 k, with the
    /// Gaussian log-likelihood at the maximum and k the number of columns.</summary>
    public double Aic()
    {
        var nobs2 = Rows / 2.0;
        var llf = -nobs2 * Math.Log(2 * Math.PI) - nobs2 * Math.Log(Ssr / Rows) - nobs2;
        return -2 * llf + 2 * Columns;
    }

    private static double Hypot(double a, double b)
    {
        a = Math.Abs(a);
        b = Math.Abs(b);
        if (a < b)
        {
            (a, b) = (b, a);
        }
        if (a == 0)
        {
            return 0;
        }
        var r = b / a;
        return a * Math.Sqrt(1 + r * r);
    }
}
