using System.Numerics;

namespace Horizon.Algorithms.Similarity;

public static partial class ShapeSearch
{
    // The shift bound works over blocks of this many bins of a row (measured: 8 bins bound more
    // tightly but cost more per row than they save; 16 was the fastest of 8, 16, 24 and 32).
    private const int Block = 16;

    private static int Blocks(int m) => (m + Block - 1) / Block;

    /// <summary>
    /// The shift-tolerant distance: the smallest over the query's shifts, each overlap z-normalised
    /// on both sides and its squared distance scaled to the whole length. A row is first bounded
    /// from below for every shift at once, from one pass over it: the dot product of the row with
    /// a shifted query is at most the sum over blocks of (block sum x the query's block mean) plus
    /// |row less its block means| x |query less its block means| (Cauchy-Schwarz), and every
    /// overlap's spread is at least that of the row's core (all but MaxShift bins at each end). A
    /// row whose bounds all lie beyond the k-th best so far is skipped; otherwise each shift that
    /// can still win gets a float32 look (its dot product in float32, with a bound on the rounding)
    /// and, if that cannot rule it out either, its exact distance, computed exactly as with no bound
    /// at all (brute force, worst = infinity, bounds nothing), so the ranking is the same.
    /// </summary>
    private sealed class ShiftPlan
    {
        private readonly int _m, _maxShift, _lanes;
        private readonly Shifted[] _shifts;
        // Each shift's query part in float32, for the rounded first look.
        private readonly float[][] _floats;
        // Per block, per lane (a shift; lanes padded to whole vectors): the placed query's block mean.
        private readonly double[] _means;
        // Per lane: |query less its block means|, L + sum(q^2) (infinite for padding), 2 sqrt(L),
        // |sum(q)|, the rounding margin's factors, and m / L.
        private readonly double[] _residual, _base, _scale, _sumAbs, _maxMean, _absSum, _toWhole;

        private ShiftPlan(int m, int maxShift, Shifted[] shifts)
        {
            (_m, _maxShift, _shifts) = (m, maxShift, shifts);
            _floats = [.. shifts.Select(s => s.Q.Select(v => (float)v).ToArray())];
            var width = Vector<double>.Count;
            _lanes = (shifts.Length + width - 1) / width * width;
            var blocks = Blocks(m);
            _means = new double[blocks * _lanes];
            _residual = new double[_lanes];
            _base = new double[_lanes];
            _scale = new double[_lanes];
            _sumAbs = new double[_lanes];
            _maxMean = new double[_lanes];
            _absSum = new double[_lanes];
            _toWhole = new double[_lanes];
            Array.Fill(_base, double.PositiveInfinity); // padding: never the least bound
            Array.Fill(_toWhole, 1.0);
            var placed = new double[m];
            for (var s = 0; s < shifts.Length; s++)
            {
                var q = shifts[s].Q;
                Array.Clear(placed);
                q.CopyTo(placed, Math.Max(0, shifts[s].Lag));
                double residual = 0, maxMean = 0;
                for (var j = 0; j < blocks; j++)
                {
                    var part = placed.AsSpan(j * Block, Math.Min(Block, m - (j * Block)));
                    var mean = 0.0;
                    foreach (var v in part)
                    {
                        mean += v;
                    }
                    mean /= part.Length;
                    foreach (var v in part)
                    {
                        residual += (v - mean) * (v - mean);
                    }
                    _means[(j * _lanes) + s] = mean;
                    maxMean = Math.Max(maxMean, Math.Abs(mean));
                }
                _residual[s] = Math.Sqrt(residual) * (1 + 1e-9);
                _base[s] = q.Length + shifts[s].Squares;
                _scale[s] = 2 * Math.Sqrt(q.Length);
                _sumAbs[s] = Math.Abs(shifts[s].Sum);
                _maxMean[s] = maxMean;
                _absSum[s] = q.Sum(Math.Abs);
                _toWhole[s] = (double)m / q.Length;
            }
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

        // The row's distance (infinity when its bounds rule it out against worst) and its lag.
        public double Distance(ReadOnlySpan<float> x, Scratch scratch, double worst, out int lag)
        {
            lag = 0;
            // Values are taken less the row's first, so a metric at 1e9 keeps its digits.
            var origin = (double)x[0];
            var (total, totalSquares) = BlockMoments(x, origin, scratch);
            var bounds = scratch.Bounds;
            var bounded = !double.IsPositiveInfinity(worst) && Bound(x, origin, total, totalSquares, scratch);
            if (bounded && Beyond(scratch.Lowest, worst))
            {
                return double.PositiveInfinity;
            }
            // A row the bound did not rule out: each shift's dot product is first taken in float32
            // (twice the lanes, no widening) with a bound on its rounding, and with the same
            // spread and level as the bound (no moments of the shift's own yet) it may still rule
            // the shift out; only then are the overlap's moments and the exact product computed.
            if (bounded)
            {
                Centre(x, (float)origin, scratch.Centred);
            }
            var rounding = Math.Sqrt(totalSquares) * (_m + 16) * 1.2e-7; // 2 x float32's unit roundoff per term
            var best = double.PositiveInfinity;
            for (var s = 0; s < _shifts.Length; s++)
            {
                var limit = Math.Min(worst, Math.Sqrt(best));
                if (bounded && Beyond(bounds[s], limit))
                {
                    continue; // cannot be the row's best, nor bring it within the k best
                }
                var (l, q, sum, squares) = _shifts[s];
                var length = q.Length;
                var start = Math.Max(0, l);
                if (bounded)
                {
                    // |float dot - exact| <= n u sum |x q| <= n u |x| |q|; less the overlap's mean
                    // (at most level) times the part's sum; widened by the exact computation's own
                    // rounding beside the row's level.
                    var approximate = FloatDot(scratch.Centred.AsSpan(start, length), _floats[s]);
                    var term = approximate + (rounding * Math.Sqrt(squares)) + (scratch.Level * _sumAbs[s]) + (1e-9 * Math.Abs(origin) * _absSum[s]);
                    if (Beyond(Math.Max(0, _base[s] - (Math.Max(term, 0) * _scale[s] * scratch.Inverse)) * _toWhole[s], limit))
                    {
                        continue;
                    }
                }
                // The overlap's moments: the row's, less the few values it leaves out.
                var (partSum, partSquares) = (total, totalSquares);
                for (var i = 0; i < _m; i++)
                {
                    if (i == start)
                    {
                        i += length - 1;
                        continue;
                    }
                    var v = x[i] - origin;
                    partSum -= v;
                    partSquares -= v * v;
                }
                var (mean, sd) = MeanSd(length, partSum, partSquares, origin);
                var d = (sd == 0 ? squares
                    : Math.Max(0, length + squares - (2 * (Dot(x.Slice(start, length), q) - ((mean + origin) * sum)) / sd))) * _m / length;
                if (d < best || (d == best && Math.Abs(l) < Math.Abs(lag)))
                {
                    (best, lag) = (d, l);
                }
            }
            return Math.Sqrt(best);
        }

        // Every shift's lower bound (squared, scaled to the whole length) into scratch.Bounds and
        // their least into scratch.Lowest; false when the row's core is too nearly flat to bound with.
        private bool Bound(ReadOnlySpan<float> x, double origin, double total, double totalSquares, Scratch scratch)
        {
            var m = _m;
            var (coreSum, coreSquares) = (total, totalSquares);
            for (var i = 0; i < _maxShift; i++)
            {
                var (a, b) = (x[i] - origin, x[m - 1 - i] - origin);
                coreSum -= a + b;
                coreSquares -= (a * a) + (b * b);
            }
            var core = Math.Max(0, coreSquares - (coreSum * coreSum / (m - (2 * _maxShift))));
            // No overlap's mean (less origin) is larger than this.
            var level = Math.Sqrt(totalSquares / (m - _maxShift));
            if (!(Math.Sqrt(core / m) > 2e-9 * Math.Max(1, Math.Abs(origin) + level)))
            {
                return false; // an overlap may count as flat: its distance is computed, not bounded
            }
            var inverse = 1 / (Math.Sqrt(core) * (1 - 1e-9));
            (scratch.Inverse, scratch.Level) = (inverse, level);
            var sums = scratch.BlockSum;
            var width = Vector<double>.Count;
            var lowest = new Vector<double>(double.PositiveInfinity);
            for (var c = 0; c < _lanes; c += width)
            {
                // Every shift's bound on its dot product, a vector of shifts at a time.
                var dot = Vector<double>.Zero;
                for (var j = 0; j < sums.Length; j++)
                {
                    dot += new Vector<double>(sums[j]) * new Vector<double>(_means, (j * _lanes) + c);
                }
                var residual = new Vector<double>(_residual, c) * scratch.Residual;
                // Less the overlap's mean times the query part's sum (about 0), and a margin for rounding.
                var margin = (new Vector<double>(_maxMean, c) * scratch.AbsSum) + residual + (new Vector<double>(_absSum, c) * Math.Abs(origin));
                var term = Vector.Max(dot + residual + (new Vector<double>(_sumAbs, c) * level) + (margin * 1e-9), Vector<double>.Zero);
                var bound = Vector.Max(new Vector<double>(_base, c) - (term * new Vector<double>(_scale, c) * inverse), Vector<double>.Zero) * new Vector<double>(_toWhole, c);
                bound.CopyTo(scratch.Bounds, c);
                lowest = Vector.Min(lowest, bound);
            }
            var least = double.PositiveInfinity;
            for (var i = 0; i < width; i++)
            {
                least = Math.Min(least, lowest[i]);
            }
            scratch.Lowest = least;
            return true;
        }

        // The row less origin, in float32 (exact while a value is within a factor of two of origin,
        // otherwise within float32's unit roundoff of it).
        private static void Centre(ReadOnlySpan<float> x, float origin, float[] into)
        {
            var i = 0;
            var o = new Vector<float>(origin);
            for (; i <= x.Length - Vector<float>.Count; i += Vector<float>.Count)
            {
                (new Vector<float>(x[i..]) - o).CopyTo(into, i);
            }
            for (; i < x.Length; i++)
            {
                into[i] = x[i] - origin;
            }
        }

        // SIMD: the float32 dot product of a and b.
        private static double FloatDot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
        {
            var i = 0;
            var sum = Vector<float>.Zero;
            for (; i <= a.Length - Vector<float>.Count; i += Vector<float>.Count)
            {
                sum += new Vector<float>(a[i..]) * new Vector<float>(b[i..]);
            }
            var dot = Vector.Sum(sum);
            for (; i < a.Length; i++)
            {
                dot += a[i] * b[i];
            }
            return dot;
        }

        // Whether a squared-distance bound rules out a distance of at most limit, with a margin for rounding.
        private static bool Beyond(double squaredBound, double limit) =>
            !double.IsPositiveInfinity(limit) && Math.Sqrt(squaredBound) > (limit * (1 + 1e-9)) + 1e-12;

        // Per block of the row, the sum of its values less origin into scratch.BlockSum, with their
        // absolute sum and the root of the squared deviations from the blocks' means; returns the
        // whole row's sum and sum of squares (less origin).
        private static (double Sum, double Squares) BlockMoments(ReadOnlySpan<float> x, double origin, Scratch scratch)
        {
            var sums = scratch.BlockSum;
            double total = 0, totalSquares = 0, absSum = 0, blockSquares = 0;
            var (j, at) = (0, 0);
            if (Block % Vector<float>.Count == 0 && Vector.IsHardwareAccelerated)
            {
                var o = new Vector<double>(origin);
                var squares = Vector<double>.Zero;
                for (; at <= x.Length - Block; at += Block, j++)
                {
                    var part = Vector<double>.Zero;
                    for (var v = at; v < at + Block; v += Vector<float>.Count)
                    {
                        Vector.Widen(new Vector<float>(x[v..]), out var lo, out var hi);
                        lo -= o;
                        hi -= o;
                        part += lo + hi;
                        squares += (lo * lo) + (hi * hi);
                    }
                    var sum = Vector.Sum(part);
                    sums[j] = sum;
                    blockSquares += sum * sum / Block;
                }
                totalSquares = Vector.Sum(squares);
            }
            for (; at < x.Length; at += Block, j++)
            {
                var n = Math.Min(Block, x.Length - at);
                double sum = 0;
                for (var i = at; i < at + n; i++)
                {
                    var v = x[i] - origin;
                    sum += v;
                    totalSquares += v * v;
                }
                sums[j] = sum;
                blockSquares += sum * sum / n;
            }
            foreach (var sum in sums)
            {
                total += sum;
                absSum += Math.Abs(sum);
            }
            scratch.AbsSum = absSum;
            scratch.Residual = Math.Sqrt(Math.Max(0, totalSquares - blockSquares) * (1 + 1e-9));
            return (total, totalSquares);
        }
    }

    // One shift of the query: its lag and the overlapping part z-normalised, with its sum and sum of squares.
    private sealed record Shifted(int Lag, double[] Q, double Sum, double Squares);
}
