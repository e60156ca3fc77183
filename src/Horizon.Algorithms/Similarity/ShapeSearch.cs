using System.Numerics;
using System.Runtime.InteropServices;

namespace Horizon.Algorithms.Similarity;

/// <summary>How shapes are compared (every one z-normalised: mean 0, standard deviation 1, so a
/// copy at another level or scale is the same shape).</summary>
public enum ShapeMode
{
    /// <summary>Euclidean distance of the z-normalised shapes (sqrt(2m(1 - r)) for correlation r).</summary>
    Euclidean,

    /// <summary>The smallest Euclidean distance over shifts of up to <see cref="ShapeQuery.MaxShift"/>
    /// bins either way (each shift's overlap z-normalised, its distance scaled to the whole length):
    /// the same movement a little earlier or later. Every shift of a row is bounded from below first
    /// (its dot product in float32 with a bound on the rounding), and a shift whose bound is already
    /// worse than the k-th best is skipped, which cannot change the result.</summary>
    Shift,

    /// <summary>Dynamic time warping of the z-normalised shapes within a Sakoe-Chiba band of
    /// <see cref="ShapeQuery.Band"/> bins (squared differences, the square root reported), every
    /// row bounded first by LB_Keogh, which never exceeds it: a row whose bound is already worse
    /// than the k-th best is skipped, which cannot change the result. The rows it keeps get their
    /// DTW a vector of rows at a time, each lane computed as the one-row DTW computes it.</summary>
    Dtw,
}

/// <summary>A search: the shape, where it sits in the rows (bins [Offset, Offset + Shape.Length)),
/// how many results, how to compare, and which rows may answer.</summary>
public sealed record ShapeQuery(float[] Shape, int Offset, int K, ShapeMode Mode = ShapeMode.Euclidean, int Band = 5, int MaxShift = 3,
    Func<string, bool>? Include = null);

/// <summary>One result: the row, its name, its distance, and (shift mode) by how many bins it lags the query.</summary>
public readonly record struct ShapeMatch(int Row, string Name, double Distance, int Lag);

/// <summary>
/// Exact top-k shape search over a <see cref="ShapeMatrix"/>: every row is compared (SIMD dot
/// products over the row's window, split over the cores), and the k nearest are kept, ties by row.
/// <see cref="BruteForce"/> is the reference it must equal: the same distance for every row, sorted.
/// </summary>
public static partial class ShapeSearch
{
    /// <summary>The k rows nearest the query, nearest first.</summary>
    public static List<ShapeMatch> Search(ShapeMatrix matrix, ShapeQuery query, int parallelism = 0)
    {
        var (data, names, rows) = matrix.Snapshot();
        var prepared = Prepared.Of(query, matrix.Dims);
        // DTW never exceeds the Euclidean distance (the diagonal is one of its paths): the k-th
        // smallest Euclidean distance bounds the k-th smallest DTW from the start, so LB_Keogh
        // rules out most rows before any DTW is computed. (Both over the same snapshot.)
        var ceiling = double.PositiveInfinity;
        if (query.Mode == ShapeMode.Dtw)
        {
            var euclidean = Scan(data, names, rows, matrix.Dims, query with { Mode = ShapeMode.Euclidean }, Prepared.Of(query with { Mode = ShapeMode.Euclidean }, matrix.Dims), double.PositiveInfinity, parallelism);
            if (euclidean.Count == query.K)
            {
                ceiling = euclidean[^1].Distance;
            }
        }
        return Scan(data, names, rows, matrix.Dims, query, prepared, ceiling, parallelism);
    }

    // Every row of the snapshot against the prepared query, the k best kept per chunk and merged;
    // a row farther than the ceiling cannot be among them.
    private static List<ShapeMatch> Scan(float[] data, string?[] names, int rows, int dims, ShapeQuery query, Prepared prepared, double ceiling, int parallelism)
    {
        var chunks = Math.Max(1, Math.Min(rows / 4096 + 1, (parallelism > 0 ? parallelism : Environment.ProcessorCount) * 4));
        var partial = new List<ShapeMatch>[chunks];
        Parallel.For(0, chunks, new ParallelOptions { MaxDegreeOfParallelism = parallelism > 0 ? parallelism : Environment.ProcessorCount }, c =>
        {
            var top = new TopK(query.K);
            var scratch = new Scratch(query.Shape.Length, query.Mode);
            var (from, to) = ((int)((long)rows * c / chunks), (int)((long)rows * (c + 1) / chunks));
            for (var r = from; r < to; r++)
            {
                if (names[r] is not { } name || (query.Include is { } include && !include(name)))
                {
                    continue;
                }
                var x = data.AsSpan((r * dims) + query.Offset, query.Shape.Length);
                if (query.Mode == ShapeMode.Dtw)
                {
                    // DTW: rows LB_Keogh keeps wait in a batch, one per vector lane, whose DTWs
                    // are computed together.
                    if (prepared.Admit(x, scratch, Math.Min(top.Worst, ceiling), r) == Vector<double>.Count)
                    {
                        prepared.DtwBatch(scratch, top, ceiling);
                    }
                    continue;
                }
                var distance = prepared.Distance(x, scratch, Math.Min(top.Worst, ceiling), out var lag);
                top.Offer(r, distance, lag);
            }
            if (scratch.Waiting > 0)
            {
                prepared.DtwBatch(scratch, top, ceiling);
            }
            partial[c] = top.Sorted(names);
        });
        var merged = partial.SelectMany(p => p).ToList();
        merged.Sort(Compare);
        return merged.Count > query.K ? merged[..query.K] : merged;
    }

    /// <summary>Oculus's way: the <paramref name="candidates"/> nearest by <paramref name="query"/>'s own
    /// mode (Euclidean or shift-tolerant), then those re-ranked by DTW within a band of
    /// <paramref name="band"/> bins, the k nearest of them first. With <paramref name="reference"/>
    /// the candidates come from <see cref="BruteForce"/>.</summary>
    public static List<ShapeMatch> Rerank(ShapeMatrix matrix, ShapeQuery query, int candidates, int band, bool reference = false)
    {
        var first = query with { K = Math.Max(query.K, candidates) };
        var found = reference ? BruteForce(matrix, first) : Search(matrix, first);
        var data = matrix.Snapshot().Data; // rows keep their place when the arrays grow
        var dtw = Prepared.Of(query with { Mode = ShapeMode.Dtw, Band = band }, matrix.Dims);
        var scratch = new Scratch(query.Shape.Length, ShapeMode.Dtw);
        var ranked = found.ConvertAll(f => f with { Distance = dtw.Distance(data.AsSpan((f.Row * matrix.Dims) + query.Offset, query.Shape.Length), scratch, double.PositiveInfinity, out _) });
        ranked.Sort(Compare);
        return ranked.Count > query.K ? ranked[..query.K] : ranked;
    }

    /// <summary>The reference: the distance of every row (no bound, no pruning), sorted, the first k.</summary>
    public static List<ShapeMatch> BruteForce(ShapeMatrix matrix, ShapeQuery query)
    {
        var (data, names, rows) = matrix.Snapshot();
        var prepared = Prepared.Of(query, matrix.Dims);
        var scratch = new Scratch(query.Shape.Length, query.Mode);
        var all = new List<ShapeMatch>();
        for (var r = 0; r < rows; r++)
        {
            if (names[r] is not { } name || (query.Include is { } include && !include(name)))
            {
                continue;
            }
            var distance = prepared.Distance(data.AsSpan((r * matrix.Dims) + query.Offset, query.Shape.Length), scratch, double.PositiveInfinity, out var lag);
            all.Add(new ShapeMatch(r, name, distance, lag));
        }
        all.Sort(Compare);
        return all.Count > query.K ? all[..query.K] : all;
    }

    private static int Compare(ShapeMatch a, ShapeMatch b) => a.Distance != b.Distance ? a.Distance.CompareTo(b.Distance) : a.Row.CompareTo(b.Row);

    /// <summary>The query's shape z-normalised into <paramref name="into"/>; false when it is flat (no shape to match).</summary>
    public static bool Normalise(ReadOnlySpan<float> shape, Span<double> into)
    {
        var (sum, squares) = Moments(shape);
        var m = shape.Length;
        var (mean, sd) = MeanSd(m, sum, squares);
        if (sd == 0)
        {
            return false;
        }
        for (var i = 0; i < m; i++)
        {
            into[i] = (shape[i] - mean) / sd;
        }
        return true;
    }

    // The mean and standard deviation of m values (taken less origin) from their sum and sum of
    // squares; a deviation too small beside the values' own level to be more than rounding (a flat
    // shape) is 0.
    private static (double Mean, double Sd) MeanSd(int m, double sum, double squares, double origin = 0)
    {
        var mean = sum / m;
        var sd = Math.Sqrt(Math.Max(0, (squares / m) - (mean * mean)));
        return (mean, sd > 1e-9 * Math.Max(1, Math.Abs(mean + origin)) ? sd : 0);
    }

    // ---- kernels -------------------------------------------------------------------------------

    /// <summary>SIMD: the sum and the sum of squares of x, widened to double.</summary>
    public static (double Sum, double Squares) Moments(ReadOnlySpan<float> x)
    {
        var i = 0;
        double sum = 0, squares = 0;
        if (Vector.IsHardwareAccelerated && x.Length >= Vector<float>.Count)
        {
            Vector<double> s = default, q = default;
            for (; i <= x.Length - Vector<float>.Count; i += Vector<float>.Count)
            {
                Vector.Widen(new Vector<float>(x[i..]), out var lo, out var hi);
                s += lo + hi;
                q += (lo * lo) + (hi * hi);
            }
            sum = Vector.Sum(s);
            squares = Vector.Sum(q);
        }
        for (; i < x.Length; i++)
        {
            sum += x[i];
            squares += (double)x[i] * x[i];
        }
        return (sum, squares);
    }

    /// <summary>SIMD: the sum of x and of squares of x, and the dot product of x with q.</summary>
    public static (double Sum, double Squares, double Dot) MomentsDot(ReadOnlySpan<float> x, ReadOnlySpan<double> q)
    {
        var i = 0;
        double sum = 0, squares = 0, dot = 0;
        if (Vector.IsHardwareAccelerated && x.Length >= Vector<float>.Count)
        {
            Vector<double> s = default, sq = default, d = default;
            var half = Vector<double>.Count;
            for (; i <= x.Length - Vector<float>.Count; i += Vector<float>.Count)
            {
                Vector.Widen(new Vector<float>(x[i..]), out var lo, out var hi);
                s += lo + hi;
                sq += (lo * lo) + (hi * hi);
                d += (lo * new Vector<double>(q[i..])) + (hi * new Vector<double>(q[(i + half)..]));
            }
            sum = Vector.Sum(s);
            squares = Vector.Sum(sq);
            dot = Vector.Sum(d);
        }
        for (; i < x.Length; i++)
        {
            sum += x[i];
            squares += (double)x[i] * x[i];
            dot += x[i] * q[i];
        }
        return (sum, squares, dot);
    }

    /// <summary>SIMD: the dot product of x with q (the shift-tolerant scan's per-shift pass).</summary>
    public static double Dot(ReadOnlySpan<float> x, ReadOnlySpan<double> q)
    {
        var i = 0;
        double dot = 0;
        if (Vector.IsHardwareAccelerated && x.Length >= Vector<float>.Count)
        {
            Vector<double> d = default;
            var half = Vector<double>.Count;
            for (; i <= x.Length - Vector<float>.Count; i += Vector<float>.Count)
            {
                Vector.Widen(new Vector<float>(x[i..]), out var lo, out var hi);
                d += (lo * new Vector<double>(q[i..])) + (hi * new Vector<double>(q[(i + half)..]));
            }
            dot = Vector.Sum(d);
        }
        for (; i < x.Length; i++)
        {
            dot += x[i] * q[i];
        }
        return dot;
    }

    /// <summary>Scalar reference of <see cref="MomentsDot"/> (the benchmark's baseline).</summary>
    public static (double Sum, double Squares, double Dot) MomentsDotScalar(ReadOnlySpan<float> x, ReadOnlySpan<double> q)
    {
        double sum = 0, squares = 0, dot = 0;
        for (var i = 0; i < x.Length; i++)
        {
            sum += x[i];
            squares += (double)x[i] * x[i];
            dot += x[i] * q[i];
        }
        return (sum, squares, dot);
    }

    /// <summary>Squared Euclidean distance of z-normalised x to a z-normalised q (whose sum is
    /// <paramref name="qSum"/> and sum of squares <paramref name="qSquares"/>), from x's moments and
    /// their dot product: sum(x^2)/sd^2 ... without normalising x. A flat x counts as all zeros.</summary>
    private static double SquaredDistance(int m, (double Sum, double Squares, double Dot) x, double qSum, double qSquares)
    {
        var (mean, sd) = MeanSd(m, x.Sum, x.Squares);
        if (sd == 0)
        {
            return qSquares;
        }
        // sum((x - mean)/sd - q)^2 = m + sum(q^2) - 2 (dot - mean sum(q)) / sd
        return Math.Max(0, m + qSquares - (2 * (x.Dot - (mean * qSum)) / sd));
    }

    // ---- per query -----------------------------------------------------------------------------

    private sealed class Scratch(int m, ShapeMode mode)
    {
        public readonly double[] X = new double[m];
        public readonly double[] Previous = new double[m + 1];
        public readonly double[] Current = new double[m + 1];
        // DTW: the rows waiting for their DTW, z-normalised, value i of lane l at i * lanes + l,
        // and the batch's two DTW rows of cells, cell j at j * lanes (empty in the other modes).
        public readonly double[] Batch = mode == ShapeMode.Dtw ? new double[m * Vector<double>.Count] : [];
        public readonly int[] BatchRows = new int[Vector<double>.Count];
        public readonly double[] BatchPrevious = mode == ShapeMode.Dtw ? new double[(m + 1) * Vector<double>.Count] : [];
        public readonly double[] BatchCurrent = mode == ShapeMode.Dtw ? new double[(m + 1) * Vector<double>.Count] : [];
        public int Waiting;
        // Shift mode: each shift's float32 dot product with the row (shifts padded to groups of eight; empty in the others).
        public readonly double[] Dots = mode == ShapeMode.Shift ? new double[(2 * m) + 8] : [];
    }

    private sealed class Prepared
    {
        private ShapeQuery _query = null!;
        private double[] _q = [];
        private double _qSum, _qSquares;
        private ShiftPlan? _shift;
        // DTW: the query's envelope over the band.
        private double[] _upper = [], _lower = [];

        public static Prepared Of(ShapeQuery query, int dims)
        {
            var m = query.Shape.Length;
            if (m < 2 || query.Offset < 0 || query.Offset + m > dims || query.K < 1 || query.Band < 0 || query.MaxShift < 0 || (query.Mode == ShapeMode.Shift && query.MaxShift >= m / 2))
            {
                throw new ArgumentException("the query does not fit the rows (length 2 or more within them, k and band positive, shift under half the length)");
            }
            var q = new double[m];
            if (!Normalise(query.Shape, q))
            {
                throw new ArgumentException("the query shape is flat: it has no shape to match");
            }
            var p = new Prepared { _query = query, _q = q, _qSum = q.Sum(), _qSquares = q.Sum(v => v * v) };
            if (query.Mode == ShapeMode.Shift)
            {
                p._shift = ShiftPlan.Of(query.Shape, query.MaxShift);
            }
            if (query.Mode == ShapeMode.Dtw)
            {
                p._upper = new double[m];
                p._lower = new double[m];
                for (var i = 0; i < m; i++)
                {
                    double hi = double.MinValue, lo = double.MaxValue;
                    for (var j = Math.Max(0, i - query.Band); j <= Math.Min(m - 1, i + query.Band); j++)
                    {
                        hi = Math.Max(hi, q[j]);
                        lo = Math.Min(lo, q[j]);
                    }
                    (p._upper[i], p._lower[i]) = (hi, lo);
                }
            }
            return p;
        }

        // The row's distance; worst: the k-th best so far (DTW skips rows whose bound exceeds it).
        public double Distance(ReadOnlySpan<float> x, Scratch scratch, double worst, out int lag)
        {
            lag = 0;
            var m = x.Length;
            switch (_query.Mode)
            {
                case ShapeMode.Shift:
                    return _shift!.Distance(x, scratch, worst, out lag);
                case ShapeMode.Dtw:
                    return KeoghKeeps(x, scratch, worst)
                        ? Math.Sqrt(Dtw(scratch.X.AsSpan(0, m), _q, _query.Band, scratch, DtwLimit(worst)))
                        : double.PositiveInfinity;
                default:
                    return Math.Sqrt(SquaredDistance(m, MomentsDot(x, _q), _qSum, _qSquares));
            }
        }

        /// <summary>DTW: the row z-normalised and bounded by LB_Keogh as <see cref="Distance"/> does;
        /// one the bound does not rule out joins the batch (row <paramref name="row"/>). Returns how
        /// many rows wait.</summary>
        public int Admit(ReadOnlySpan<float> x, Scratch scratch, double worst, int row)
        {
            if (!KeoghKeeps(x, scratch, worst))
            {
                return scratch.Waiting;
            }
            var (lane, lanes) = (scratch.Waiting, Vector<double>.Count);
            for (var i = 0; i < x.Length; i++)
            {
                scratch.Batch[(i * lanes) + lane] = scratch.X[i];
            }
            scratch.BatchRows[lane] = row;
            return ++scratch.Waiting;
        }

        /// <summary>DTW of every waiting row at once, a row per vector lane, with the very operations
        /// of <see cref="Dtw"/> (so each lane's result is the one it computes: brute force's); the
        /// batch is abandoned once every lane's row of cells exceeds the k-th best. Each row's
        /// distance is offered to <paramref name="top"/>, and the batch emptied.</summary>
        public void DtwBatch(Scratch scratch, TopK top, double ceiling)
        {
            var (waiting, lanes) = (scratch.Waiting, Vector<double>.Count);
            scratch.Waiting = 0;
            var limit = new Vector<double>(DtwLimit(Math.Min(top.Worst, ceiling)));
            var (m, band, b) = (_q.Length, _query.Band, _q);
            var a = scratch.Batch;
            var previous = scratch.BatchPrevious;
            var current = scratch.BatchCurrent;
            var infinity = new Vector<double>(double.PositiveInfinity);
            for (var j = 0; j <= m; j++)
            {
                infinity.CopyTo(previous, j * lanes);
            }
            Vector<double>.Zero.CopyTo(previous, 0);
            for (var i = 1; i <= m; i++)
            {
                var (from, to) = (Math.Max(1, i - band), Math.Min(m, i + band));
                infinity.CopyTo(current, (from - 1) * lanes);
                var ai = new Vector<double>(a, (i - 1) * lanes);
                var rowMin = infinity;
                for (var j = from; j <= to; j++)
                {
                    var d = ai - new Vector<double>(b[j - 1]);
                    var cost = (d * d) + Vector.Min(new Vector<double>(previous, (j - 1) * lanes), Vector.Min(new Vector<double>(previous, j * lanes), new Vector<double>(current, (j - 1) * lanes)));
                    cost.CopyTo(current, j * lanes);
                    rowMin = Vector.Min(rowMin, cost);
                }
                if (to < m)
                {
                    infinity.CopyTo(current, (to + 1) * lanes); // where the next row reaches past this one
                }
                if (Vector.GreaterThanAll(rowMin, limit))
                {
                    return; // every waiting row is farther than the k-th best
                }
                (previous, current) = (current, previous);
            }
            for (var lane = 0; lane < waiting; lane++)
            {
                // A lane past the limit finishes above it, where the top k do not take it (as the
                // one-row DTW's infinity).
                top.Offer(scratch.BatchRows[lane], Math.Sqrt(previous[(m * lanes) + lane]), 0);
            }
        }

        // DTW: the row z-normalised into scratch.X; false when its LB_Keogh, which never exceeds
        // its DTW distance, is already beyond worst (with a margin, so rounding never prunes a tie).
        private bool KeoghKeeps(ReadOnlySpan<float> x, Scratch scratch, double worst)
        {
            var (sum, squares) = Moments(x);
            var (mean, sd) = MeanSd(x.Length, sum, squares);
            var bound = NormaliseAndKeogh(x, mean, sd, scratch.X, _upper, _lower);
            return !(Math.Sqrt(bound) > (worst * (1 + 1e-9)) + 1e-12);
        }

        // The squared DTW cost past which a row is farther than worst, with the same margin.
        private static double DtwLimit(double worst) => (worst * worst * (1 + 1e-9)) + 1e-12;

        // SIMD: z = (x - mean) / sd (zeros for a flat row) into z, and LB_Keogh of z against the
        // query's envelope: the squared distance from each z to [lower, upper], summed.
        private static double NormaliseAndKeogh(ReadOnlySpan<float> x, double mean, double sd, double[] z, double[] upper, double[] lower)
        {
            var m = x.Length;
            var scale = sd == 0 ? 0 : 1 / sd;
            var i = 0;
            double bound = 0;
            if (Vector.IsHardwareAccelerated && m >= Vector<float>.Count)
            {
                var (mu, k) = (new Vector<double>(mean), new Vector<double>(scale));
                var sum = Vector<double>.Zero;
                var half = Vector<double>.Count;
                for (; i <= m - Vector<float>.Count; i += Vector<float>.Count)
                {
                    Vector.Widen(new Vector<float>(x[i..]), out var lo, out var hi);
                    for (var part = 0; part < 2; part++)
                    {
                        var at = i + (part * half);
                        var v = ((part == 0 ? lo : hi) - mu) * k;
                        v.CopyTo(z, at);
                        var e = Vector.Max(v - new Vector<double>(upper, at), Vector<double>.Zero) + Vector.Max(new Vector<double>(lower, at) - v, Vector<double>.Zero);
                        sum += e * e;
                    }
                }
                bound = Vector.Sum(sum);
            }
            for (; i < m; i++)
            {
                var v = (x[i] - mean) * scale;
                z[i] = v;
                var e = v > upper[i] ? v - upper[i] : v < lower[i] ? lower[i] - v : 0;
                bound += e * e;
            }
            return bound;
        }

        // DTW (squared differences) within the band; abandoned (infinity) once every cell of a row
        // exceeds the limit, which the final cost then would too.
        private static double Dtw(ReadOnlySpan<double> a, ReadOnlySpan<double> b, int band, Scratch s, double limit)
        {
            var m = a.Length;
            var previous = s.Previous.AsSpan(0, m + 1);
            var current = s.Current.AsSpan(0, m + 1);
            previous.Fill(double.PositiveInfinity);
            previous[0] = 0;
            for (var i = 1; i <= m; i++)
            {
                current.Fill(double.PositiveInfinity);
                var rowMin = double.PositiveInfinity;
                for (var j = Math.Max(1, i - band); j <= Math.Min(m, i + band); j++)
                {
                    var d = a[i - 1] - b[j - 1];
                    var cost = (d * d) + Math.Min(previous[j - 1], Math.Min(previous[j], current[j - 1]));
                    current[j] = cost;
                    rowMin = Math.Min(rowMin, cost);
                }
                if (rowMin > limit)
                {
                    return double.PositiveInfinity;
                }
                var swap = previous;
                previous = current;
                current = swap;
            }
            return previous[m];
        }
    }

    // The k best so far, by (distance, row).
    private sealed class TopK(int k)
    {
        private readonly List<(double Distance, int Row, int Lag)> _best = new(k + 1);

        public double Worst => _best.Count < k ? double.PositiveInfinity : _best[^1].Distance;

        public void Offer(int row, double distance, int lag)
        {
            if (double.IsNaN(distance) || double.IsPositiveInfinity(distance))
            {
                return;
            }
            if (_best.Count >= k && !Before(distance, row, _best[^1]))
            {
                return;
            }
            var at = _best.Count;
            while (at > 0 && Before(distance, row, _best[at - 1]))
            {
                at--;
            }
            _best.Insert(at, (distance, row, lag));
            if (_best.Count > k)
            {
                _best.RemoveAt(_best.Count - 1);
            }
        }

        public List<ShapeMatch> Sorted(string?[] names) => _best.ConvertAll(b => new ShapeMatch(b.Row, names[b.Row] ?? "", b.Distance, b.Lag));

        // Whether (distance, row) comes before b: nearer, or as near with a lower row (Compare's order).
        private static bool Before(double distance, int row, (double Distance, int Row, int Lag) b) =>
            distance < b.Distance || (distance == b.Distance && row < b.Row);
    }
}
