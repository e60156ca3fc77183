using System.Numerics;
using System.Runtime.InteropServices;

namespace Horizon.Algorithms.Similarity;

public static partial class ShapeSearch
{
    /// <summary>
    /// The shift-tolerant distance: the smallest over the query's shifts, each overlap z-normalised
    /// on both sides and its squared distance scaled to the whole length. A row is read once for
    /// its moments (double) and every shift's dot product with it at the same time (float32, eight
    /// shifts a pass, the row less its first value so a metric at 1e9 keeps its digits). A float
    /// product widened by a bound on its rounding bounds the shift's distance from below, with the
    /// spread of the row's core (all but MaxShift bins at each end, which every overlap holds) for
    /// the overlap's: a row whose every shift lies beyond the k-th best is skipped from that alone.
    /// Otherwise each shift gets its overlap's own moments (the row's less the few values it leaves
    /// out) and a tighter bound, and only a shift that can still be the row's best and among the k
    /// best is computed exactly, as with no bound at all (brute force: worst = infinity, skips
    /// nothing), so the ranking is the same.
    /// </summary>
    private sealed class ShiftPlan
    {
        // Shifts per pass over a row (one vector accumulator each).
        private const int Group = 8;

        private readonly int _m, _maxShift;
        private readonly Shifted[] _shifts;
        // Each shift's query part in float32, placed where it meets the row (zeros elsewhere), the
        // shifts padded with zeros to whole groups.
        private readonly float[][] _placed;
        // Per shift: |sum(q)|, sum(|q|) and |q| for the bound's margins; length + sum(q^2), m / length,
        // and 1 / sqrt(length) (an overlap's standard deviation per unit of the core's deviations).
        private readonly double[] _sumAbs, _absSum, _norm, _base, _toWhole, _perCore, _baseWhole;

        // 1 / m and 1 / the core's length; the largest an overlap's mean can be per unit of |row|
        // (1 / sqrt(the shortest overlap), a hair over for rounding).
        private readonly double _perBin, _perCoreBin, _level;

        private ShiftPlan(int m, int maxShift, Shifted[] shifts)
        {
            (_m, _maxShift, _shifts) = (m, maxShift, shifts);
            (_perBin, _perCoreBin, _level) = (1.0 / m, 1.0 / (m - (2 * maxShift)), (1 + 1e-9) / Math.Sqrt(m - maxShift));
            var lanes = Math.Max(Group, Vector<double>.Count); // whole groups and whole vectors (8 is both)
            _placed = new float[(shifts.Length + lanes - 1) / lanes * lanes][];
            for (var s = 0; s < _placed.Length; s++)
            {
                _placed[s] = new float[m];
                if (s < shifts.Length)
                {
                    var q = shifts[s].Q;
                    for (var i = 0; i < q.Length; i++)
                    {
                        _placed[s][Math.Max(0, shifts[s].Lag) + i] = (float)q[i];
                    }
                }
            }
            // Padded to whole groups; a padding shift's bound is infinite.
            double[] Lanes(Func<Shifted, double> f, double padding) => [.. shifts.Select(f), .. Enumerable.Repeat(padding, _placed.Length - shifts.Length)];
            _norm = Lanes(s => Math.Sqrt(s.Squares), 0);
            _base = Lanes(s => s.Q.Length + s.Squares, double.PositiveInfinity);
            _toWhole = Lanes(s => (double)m / s.Q.Length, 1);
            _baseWhole = Lanes(s => (s.Q.Length + s.Squares) * m / s.Q.Length, double.PositiveInfinity);
            _perCore = Lanes(s => 1 / Math.Sqrt(s.Q.Length), 1);
            _sumAbs = Lanes(s => Math.Abs(s.Sum), 0);
            _absSum = Lanes(s => s.Q.Sum(Math.Abs), 0);
        }

        /// <summary>The query's shifts of up to <paramref name="maxShift"/> bins either way whose
        /// overlap is not flat.</summary>
        public static ShiftPlan Of(float[] shape, int maxShift)
        {
            var m = shape.Length;
            var shifts = new List<Shifted>();
            for (var lag = -maxShift; lag <= maxShift; lag++)
            {
                var part = shape.AsSpan(Math.Max(0, -lag), m - Math.Abs(lag));
                var z = new double[part.Length];
                if (Normalise(part, z))
                {
                    shifts.Add(new Shifted(lag, z, z.Sum(), z.Sum(v => v * v)));
                }
            }
            return new ShiftPlan(m, maxShift, [.. shifts]);
        }

        // The row's distance (infinity when every shift's bound rules it out against worst) and its lag.
        public double Distance(ReadOnlySpan<float> x, Scratch scratch, double worst, out int lag)
        {
            lag = 0;
            var origin = (double)x[0];
            var dots = scratch.Dots;
            // Each pass also returns the row's moments, the same every time (one pass at up to
            // three bins' shift, the default).
            var (total, totalSquares) = (0.0, 0.0);
            for (var g = 0; g < _placed.Length; g += Group)
            {
                (total, totalSquares) = Pass(x, (float)origin, _placed.AsSpan(g, Group), dots.AsSpan(g, Group));
            }
            var bounded = !double.IsPositiveInfinity(worst);
            // Every overlap holds the row's core (all but MaxShift bins at each end), so its squared
            // deviations are at least the core's, and no overlap's mean (less origin) is above level.
            var core = 0.0;
            var norm = Math.Sqrt(totalSquares);
            var level = norm * _level;
            if (bounded)
            {
                var (coreSum, coreSquares) = (total, totalSquares);
                for (var i = 0; i < _maxShift; i++)
                {
                    var (a, b) = (x[i] - origin, x[_m - 1 - i] - origin);
                    coreSum -= a + b;
                    coreSquares -= (a * a) + (b * b);
                }
                core = Math.Max(0, coreSquares - (coreSum * coreSum * _perCoreBin));
                // Too nearly flat beside the level to be more than rounding: no bound from it.
                var flat = 2e-9 * Math.Max(1, Math.Abs(origin) + level);
                core = core * _perBin > flat * flat ? Math.Sqrt(core) * (1 - 1e-9) : 0;
            }
            // |float dot - exact| <= n u sum |c q| <= n u |c| |q|, with 2 u per term for the
            // rounding of c and of q to float32.
            var rounding = norm * (_m + 16) * 1.2e-7;
            // The exact computation's own rounding beside the row's level, per unit of sum(|q|).
            var error = 1e-9 * (Math.Abs(origin) + level);
            if (bounded && core > 0 && Rejected(dots, rounding, error, level, core, Cut(worst)))
            {
                return double.PositiveInfinity;
            }
            var best = double.PositiveInfinity;
            for (var s = 0; s < _shifts.Length; s++)
            {
                var (l, q, sum, squares) = _shifts[s];
                var length = q.Length;
                var start = Math.Max(0, l);
                var cut = Cut(Math.Min(worst, Math.Sqrt(best)));
                // sum((x - mean) q) = sum(c q) - (mean less origin) sum(q): at most the float
                // product plus its rounding bound, plus the margin for the exact computation's.
                var product = dots[s] + (rounding * _norm[s]) + (error * _absSum[s]);
                if (bounded && core > 0 && Bound(s, product + (level * _sumAbs[s]), core * _perCore[s]) > cut)
                {
                    continue; // cannot be the row's best, nor bring it within the k best
                }
                // The overlap's moments: the row's, less the few values it leaves out.
                var (partSum, partSquares) = (total, totalSquares);
                for (var i = 0; i < start; i++)
                {
                    var v = x[i] - origin;
                    partSum -= v;
                    partSquares -= v * v;
                }
                for (var i = start + length; i < _m; i++)
                {
                    var v = x[i] - origin;
                    partSum -= v;
                    partSquares -= v * v;
                }
                var (mean, sd) = MeanSd(length, partSum, partSquares, origin);
                if (bounded && sd > 0 && Bound(s, product + (Math.Abs(mean) * _sumAbs[s]), sd * (1 - 1e-9)) > cut)
                {
                    continue;
                }
                var d = (sd == 0 ? squares
                    : Math.Max(0, length + squares - (2 * (Dot(x.Slice(start, length), q) - ((mean + origin) * sum)) / sd))) * _m / length;
                if (d < best || (d == best && Math.Abs(l) < Math.Abs(lag)))
                {
                    (best, lag) = (d, l);
                }
            }
            return Math.Sqrt(best);
        }

        // Whether every shift's bound (as in the loop, from the core's deviations) lies beyond cut,
        // a vector of shifts at a time: 2 max(product, 0) m/length < (bound's base - cut) sd.
        private bool Rejected(double[] dots, double rounding, double error, double level, double core, double cut)
        {
            var (r, e, l, c, two) = (new Vector<double>(rounding), new Vector<double>(error), new Vector<double>(level), new Vector<double>(core), new Vector<double>(2));
            var k = new Vector<double>(cut);
            for (var s = 0; s < _placed.Length; s += Vector<double>.Count)
            {
                var product = new Vector<double>(dots, s) + (r * new Vector<double>(_norm, s)) + (e * new Vector<double>(_absSum, s)) + (l * new Vector<double>(_sumAbs, s));
                var left = two * Vector.Max(product, Vector<double>.Zero) * new Vector<double>(_toWhole, s);
                var right = (new Vector<double>(_baseWhole, s) - k) * c * new Vector<double>(_perCore, s);
                if (!Vector.LessThanAll(left, right))
                {
                    return false;
                }
            }
            return true;
        }

        // Shift s's squared distance (scaled to the whole length) at least, for an overlap whose
        // product with the query part is at most product and whose standard deviation is at least sd.
        private double Bound(int s, double product, double sd) =>
            Math.Max(0, _base[s] - (2 * Math.Max(product, 0) / sd)) * _toWhole[s];

        // The squared distance beyond which a distance is more than limit, with a margin for rounding.
        private static double Cut(double limit)
        {
            var cut = (limit * (1 + 1e-9)) + 1e-12;
            return cut * cut;
        }

        // SIMD, one pass over x: the sum and sum of squares of x less origin (widened to double), and
        // the float32 dot products of x less origin with a group of placed query parts.
        private static (double Sum, double Squares) Pass(ReadOnlySpan<float> x, float origin, ReadOnlySpan<float[]> placed, Span<double> dots)
        {
            var m = x.Length;
            ref var rx = ref MemoryMarshal.GetReference(x);
            ref var r0 = ref MemoryMarshal.GetArrayDataReference(placed[0]);
            ref var r1 = ref MemoryMarshal.GetArrayDataReference(placed[1]);
            ref var r2 = ref MemoryMarshal.GetArrayDataReference(placed[2]);
            ref var r3 = ref MemoryMarshal.GetArrayDataReference(placed[3]);
            ref var r4 = ref MemoryMarshal.GetArrayDataReference(placed[4]);
            ref var r5 = ref MemoryMarshal.GetArrayDataReference(placed[5]);
            ref var r6 = ref MemoryMarshal.GetArrayDataReference(placed[6]);
            ref var r7 = ref MemoryMarshal.GetArrayDataReference(placed[7]);
            var (o, od) = (new Vector<float>(origin), new Vector<double>(origin));
            Vector<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
            Vector<double> sum = default, squares = default;
            var i = 0;
            if (Vector.IsHardwareAccelerated)
            {
                for (; i <= m - Vector<float>.Count; i += Vector<float>.Count)
                {
                    var v = Vector.LoadUnsafe(ref rx, (nuint)i);
                    Vector.Widen(v, out var lo, out var hi);
                    lo -= od;
                    hi -= od;
                    sum += lo + hi;
                    squares = Vector.FusedMultiplyAdd(lo, lo, Vector.FusedMultiplyAdd(hi, hi, squares));
                    var c = v - o;
                    a0 = Vector.FusedMultiplyAdd(c, Vector.LoadUnsafe(ref r0, (nuint)i), a0);
                    a1 = Vector.FusedMultiplyAdd(c, Vector.LoadUnsafe(ref r1, (nuint)i), a1);
                    a2 = Vector.FusedMultiplyAdd(c, Vector.LoadUnsafe(ref r2, (nuint)i), a2);
                    a3 = Vector.FusedMultiplyAdd(c, Vector.LoadUnsafe(ref r3, (nuint)i), a3);
                    a4 = Vector.FusedMultiplyAdd(c, Vector.LoadUnsafe(ref r4, (nuint)i), a4);
                    a5 = Vector.FusedMultiplyAdd(c, Vector.LoadUnsafe(ref r5, (nuint)i), a5);
                    a6 = Vector.FusedMultiplyAdd(c, Vector.LoadUnsafe(ref r6, (nuint)i), a6);
                    a7 = Vector.FusedMultiplyAdd(c, Vector.LoadUnsafe(ref r7, (nuint)i), a7);
                }
            }
            var (s, q) = (Vector.Sum(sum), Vector.Sum(squares));
            (dots[0], dots[1], dots[2], dots[3]) = (Vector.Sum(a0), Vector.Sum(a1), Vector.Sum(a2), Vector.Sum(a3));
            (dots[4], dots[5], dots[6], dots[7]) = (Vector.Sum(a4), Vector.Sum(a5), Vector.Sum(a6), Vector.Sum(a7));
            for (; i < m; i++)
            {
                var v = x[i] - (double)origin;
                s += v;
                q += v * v;
                var c = x[i] - origin;
                for (var g = 0; g < Group; g++)
                {
                    dots[g] = (float)(dots[g] + (c * placed[g][i]));
                }
            }
            return (s, q);
        }
    }

    // One shift of the query: its lag and the overlapping part z-normalised, with its sum and sum of squares.
    private sealed record Shifted(int Lag, double[] Q, double Sum, double Squares);
}
