using Horizon.Algorithms.Kernels;
using MathNet.Numerics.Distributions;

namespace Horizon.Algorithms.Detection;

/// <summary>The forecasting detectors (Holt-Winters, autoregressive, regression) and the step detector.</summary>
public sealed partial class EnsembleDetector
{
    private (double, double) Change(ReadOnlySpan<double> past, double x, in Window w)
    {
        var recent = past[^Math.Min(past.Length, _settings.RecentPoints + 1)..];
        var d = _steps.AsSpan(0, recent.Length - 1);
        if (d.Length < _settings.MinPoints / 2)
        {
            return (x, double.NaN);
        }
        for (var i = 0; i < d.Length; i++)
        {
            d[i] = recent[i + 1] - recent[i];
        }
        var (median, sigma) = Robust(d);
        var last = past[^1];
        return (last + median, (x - last - median) / sigma);
    }

    /// <summary>Holt's linear smoothing over the recent points with Brutlag's deviation; an error beyond 4
    /// deviations is clipped before it updates the state, so an anomaly does not drag the baseline.
    /// Brutlag's deviation collapses on a mostly flat series, where every burst is then thousands of
    /// deviations out; so, like the level, the result is bounded by the record: an error that k of the
    /// one-step errors over the recent points reached (at most three times as far) is no rarer than k
    /// in their number.</summary>
    private (double, double) HoltWinters(ReadOnlySpan<double> past, double x, in Window w)
    {
        // Its smoothing forgets within tens of points: the recent part of the window is enough.
        past = past[^Math.Min(past.Length, _settings.RecentPoints)..];
        var (start, sigma) = Robust(past[..Math.Min(past.Length, 60)]);
        double level = start, trend = 0, deviation = sigma / MeanAbsToSigma;
        double a = _settings.Alpha, b = _settings.Beta, g = _settings.Gamma;
        var errors = _residuals.AsSpan(0, past.Length - 1);
        for (var i = 1; i < past.Length; i++)
        {
            var forecast = level + trend;
            var error = past[i] - forecast;
            errors[i - 1] = error;
            var limit = 4 * Math.Max(deviation, Floor(forecast));
            error = Math.Clamp(error, -limit, limit);
            deviation = (g * Math.Abs(error)) + ((1 - g) * deviation);
            var next = forecast + (a * error);
            trend = (b * (next - level)) + ((1 - b) * trend);
            level = next;
        }
        var expected = level + trend;
        var z = (x - expected) / Math.Max(MeanAbsToSigma * deviation, Floor(expected));
        return (expected, BoundByRecord(z, errors, x - expected, 0));
    }

    /// <summary>Least-squares line through the recent points, refitted once with outliers clipped to
    /// 3 sigma; the judged point against its extrapolation.</summary>
    private (double, double) RegressionLine(ReadOnlySpan<double> past, double x, in Window w)
    {
        var k = Math.Min(past.Length, _settings.RegressionPoints);
        var y = past[^k..];
        var (slope, intercept) = Kernels.Regression.OverIndex(y, default);
        var residuals = _work.AsSpan(0, k);
        for (var i = 0; i < k; i++)
        {
            residuals[i] = y[i] - (intercept + (slope * i));
        }
        var (_, sigma) = Robust(residuals);
        (slope, intercept) = Kernels.Regression.OverIndex(y, (slope, intercept, 3 * sigma));
        for (var i = 0; i < k; i++)
        {
            residuals[i] = y[i] - (intercept + (slope * i));
        }
        (_, sigma) = Robust(residuals);
        var expected = intercept + (slope * k);
        return (expected, (x - expected) / sigma);
    }

    /// <summary>AR(p) around the median, fitted by Yule-Walker to the window with values clipped to
    /// the robust 5-sigma band; the judged point against the one-step forecast, in units of the
    /// model's innovation sigma. p + 1 vectorised dot products over the window, then a p x p solve.</summary>
    private (double, double) AutoRegressive(ReadOnlySpan<double> past, double x, in Window w)
    {
        var p = _settings.ArOrder;
        if (past.Length < 4 * p + 10)
        {
            return (x, double.NaN);
        }
        var (median, sigma) = (w.Median, w.Sigma);
        var z = Clipping.Clip(past, (-5 * sigma, 5 * sigma), _work, offset: median);
        // Autocovariances r[k] = sum z[t] z[t-k] / n, k = 0..p.
        Span<double> r = stackalloc double[p + 1];
        for (var k = 0; k <= p; k++)
        {
            r[k] = Pairwise.CrossDeviations(z[k..], z[..^k], 0, 0) / z.Length;
        }
        Span<double> a = stackalloc double[p * p];
        for (var i = 0; i < p; i++)
        {
            for (var j = 0; j < p; j++)
            {
                a[(i * p) + j] = r[Math.Abs(i - j)];
            }
            a[(i * p) + i] *= 1 + 1e-9; // ridge against singular (flat) windows
        }
        Span<double> phi = stackalloc double[p];
        Span<double> rhs = stackalloc double[p];
        r[1..].CopyTo(rhs);
        if (!(r[0] > 0) || !Solve(a, rhs, phi, p))
        {
            return (median, double.NaN);
        }
        var innovation = r[0];
        var forecast = 0.0;
        for (var i = 0; i < p; i++)
        {
            innovation -= phi[i] * r[i + 1];
            forecast += phi[i] * z[z.Length - 1 - i];
        }
        var expected = median + forecast;
        var residualSigma = Math.Sqrt(Math.Max(innovation, 0));
        return (expected, (x - expected) / Math.Max(residualSigma, Floor(expected)));
    }

    /// <summary>Solves the p x p system by Gaussian elimination with partial pivoting (in place).</summary>
    private static bool Solve(Span<double> a, Span<double> b, Span<double> x, int p)
    {
        for (var c = 0; c < p; c++)
        {
            var pivot = c;
            for (var r = c + 1; r < p; r++)
            {
                if (Math.Abs(a[(r * p) + c]) > Math.Abs(a[(pivot * p) + c]))
                {
                    pivot = r;
                }
            }
            if (Math.Abs(a[(pivot * p) + c]) < 1e-12)
            {
                return false;
            }
            if (pivot != c)
            {
                for (var k = 0; k < p; k++)
                {
                    (a[(c * p) + k], a[(pivot * p) + k]) = (a[(pivot * p) + k], a[(c * p) + k]);
                }
                (b[c], b[pivot]) = (b[pivot], b[c]);
            }
            for (var r = c + 1; r < p; r++)
            {
                var f = a[(r * p) + c] / a[(c * p) + c];
                for (var k = c; k < p; k++)
                {
                    a[(r * p) + k] -= f * a[(c * p) + k];
                }
                b[r] -= f * b[c];
            }
        }
        for (var r = p - 1; r >= 0; r--)
        {
            var s = b[r];
            for (var k = r + 1; k < p; k++)
            {
                s -= a[(r * p) + k] * x[k];
            }
            x[r] = s / a[(r * p) + r];
        }
        return true;
    }
}
