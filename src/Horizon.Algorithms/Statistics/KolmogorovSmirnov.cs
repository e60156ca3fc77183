namespace Horizon.Algorithms.Statistics;

/// <summary>The two-sample Kolmogorov-Smirnov test as scipy 1.10's <c>ks_2samp</c> computes it
/// (two-sided, method "auto" = exact for samples up to 10,000): D is snapped to a ratio of integers
/// h / lcm(n1, n2), and the p-value is the exact probability that a random lattice path leaves the
/// band |x/n1 − y/n2| &lt; D, computed with the 1 − p form of Hodges' inside method (Viehmann 2021,
/// "Numerically more stable computation of the p-values for the two-sample Kolmogorov-Smirnov
/// test"). Larger samples use the asymptotic Kolmogorov distribution.</summary>
public static class KolmogorovSmirnov
{
    private const int MaxExact = 10_000;

    /// <summary>D and the two-sided p-value. <paramref name="scratch"/> needs a.Length + b.Length.</summary>
    public static (double D, double P) TwoSample(ReadOnlySpan<double> a, ReadOnlySpan<double> b, Span<double> scratch)
    {
        int n1 = a.Length, n2 = b.Length;
        if (n1 == 0 || n2 == 0)
        {
            return (double.NaN, double.NaN);
        }
        var s1 = scratch[..n1];
        var s2 = scratch.Slice(n1, n2);
        a.CopyTo(s1);
        b.CopyTo(s2);
        s1.Sort();
        s2.Sort();

        // cdf1 - cdf2 at every observed value (searchsorted 'right'), as scipy evaluates it.
        double minDiff = double.PositiveInfinity, maxDiff = double.NegativeInfinity;
        int i = 0, j = 0;
        while (i < n1 || j < n2)
        {
            var v = j >= n2 || (i < n1 && s1[i] <= s2[j]) ? s1[i] : s2[j];
            while (i < n1 && s1[i] <= v)
            {
                i++;
            }
            while (j < n2 && s2[j] <= v)
            {
                j++;
            }
            var diff = (double)i / n1 - (double)j / n2;
            minDiff = Math.Min(minDiff, diff);
            maxDiff = Math.Max(maxDiff, diff);
        }
        var minS = Math.Clamp(-minDiff, 0, 1);
        var d = Math.Max(minS, maxDiff);

        if (Math.Max(n1, n2) > MaxExact)
        {
            return (d, Math.Clamp(Asymptotic(d, n1, n2), 0, 1));
        }
        var g = (int)Gcd(n1, n2);
        var lcm = (long)(n1 / g) * n2;
        var h = (long)Math.Round(d * lcm, MidpointRounding.ToEven);
        d = (double)h / lcm;
        if (h == 0)
        {
            return (d, 1.0);
        }
        var p = OuterProbabilityInside(n1, n2, g, h);
        if (!(p >= 0 && p <= 1))
        {
            return (d, Math.Clamp(Asymptotic(d, n1, n2), 0, 1));
        }
        return (d, p);
    }

    // The proportion of monotone lattice paths from (0,0) to (m,n) that do not stay strictly
    // inside |x/m - y/n| < h/lcm, computed column by column over a sliding window.
    private static double OuterProbabilityInside(int m, int n, int g, long h)
    {
        if (m < n)
        {
            (m, n) = (n, m);
        }
        long mg = m / g, ng = n / g;
        var minj = 0;
        var maxj = (int)Math.Min((long)Math.Ceiling((double)h / mg), n + 1);
        var curlen = maxj - minj;
        var lenA = Math.Max(Math.Min(2 * maxj + 2, n + 1), 1);
        var rented = System.Buffers.ArrayPool<double>.Shared.Rent(lenA);
        try
        {
            return Inside(m, n, h, mg, ng, minj, maxj, curlen, rented.AsSpan(0, lenA));
        }
        finally
        {
            System.Buffers.ArrayPool<double>.Shared.Return(rented);
        }
    }

    private static double Inside(int m, int n, long h, long mg, long ng, int minj, int maxj, int curlen, Span<double> A)
    {
        A.Fill(1.0);
        A.Slice(minj, maxj - minj).Clear();
        for (var i = 1; i <= m; i++)
        {
            var lastminj = minj;
            var lastlen = curlen;
            minj = (int)Math.Max(FloorDiv(ng * i - h, mg) + 1, 0);
            minj = Math.Min(minj, n);
            maxj = (int)Math.Min(CeilDiv(ng * i + h, mg), n + 1);
            if (maxj <= minj)
            {
                return 1.0;
            }
            var val = minj == 0 ? 0.0 : 1.0;
            for (var jj = 0; jj < maxj - minj; jj++)
            {
                var j = jj + minj;
                val = (A[jj + minj - lastminj] * i + val * j) / (i + j);
                A[jj] = val;
            }
            curlen = maxj - minj;
            if (lastlen > curlen)
            {
                // numpy slicing stops at the end of the array
                var from = maxj - minj;
                A.Slice(from, Math.Min(lastlen - curlen, A.Length - from)).Fill(1.0);
            }
        }
        return A[maxj - minj - 1];
    }

    // scipy uses np.floor/np.ceil on the float quotient; the integers here are exact.
    private static long FloorDiv(long a, long b) => (long)Math.Floor((double)a / b);

    private static long CeilDiv(long a, long b) => (long)Math.Ceiling((double)a / b);

    private static long Gcd(long a, long b)
    {
        while (b != 0)
        {
            (a, b) = (b, a % b);
        }
        return a;
    }

    /// <summary>Kolmogorov's limiting distribution for large samples (scipy's "asymp" method).</summary>
    private static double Asymptotic(double d, int n1, int n2)
    {
        var en = (double)n1 * n2 / (n1 + n2);
        var lambda = Math.Sqrt(en) * d;
        if (lambda < 0.2)
        {
            return 1.0;
        }
        double sum = 0, sign = 1;
        for (var k = 1; k <= 100; k++)
        {
            var term = sign * Math.Exp(-2 * k * k * lambda * lambda);
            sum += term;
            if (Math.Abs(term) < 1e-16)
            {
                break;
            }
            sign = -sign;
        }
        return 2 * sum;
    }
}
