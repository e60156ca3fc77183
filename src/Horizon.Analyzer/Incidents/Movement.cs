namespace Horizon.Analyzer.Incidents;

/// <summary>A metric's recent movement on a shared grid: the means of its points per minute over the
/// last <see cref="Bins"/> minutes up to its newest point (a minute without points holds the last
/// mean), so metrics sampled at different intervals compare. Kept with a finding to tell which
/// findings of the same moment moved together (as earthgecko's Luminosity cross-correlates metrics
/// around an anomaly).</summary>
[System.Text.Json.Serialization.JsonConverter(typeof(MovementJsonConverter))]
public sealed class Movement
{
    /// <summary>Minutes compared.</summary>
    public const int Bins = 30;

    private const long BinSeconds = 60;

    private readonly float[] _means;

    private Movement(long endBin, float[] means)
    {
        EndBin = endBin;
        _means = means;
    }

    /// <summary>The minute (Unix seconds / 60) of the last bin.</summary>
    public long EndBin { get; }

    /// <summary>The minute means, oldest first.</summary>
    public ReadOnlySpan<float> Means => _means;

    /// <summary>A movement from stored minute means (<see cref="Bins"/> of them).</summary>
    public static Movement FromMeans(long endBin, float[] means) =>
        means.Length == Bins && Array.TrueForAll(means, float.IsFinite) ? new(endBin, means) : throw new ArgumentException($"a movement is {Bins} finite minute means");

    /// <summary>The movement of a series (timestamps ascending), or null with fewer than five minutes
    /// of the half hour holding points (a 5-minute metric has six).</summary>
    public static Movement? Of(ReadOnlySpan<long> timestamps, ReadOnlySpan<double> values)
    {
        if (timestamps.IsEmpty)
        {
            return null;
        }
        var end = timestamps[^1] / BinSeconds;
        var first = end - Bins + 1;
        Span<double> sum = stackalloc double[Bins];
        Span<int> count = stackalloc int[Bins];
        sum.Clear();
        count.Clear();
        for (var i = timestamps.Length - 1; i >= 0 && timestamps[i] / BinSeconds >= first; i--)
        {
            if (double.IsFinite(values[i]))
            {
                var b = (int)((timestamps[i] / BinSeconds) - first);
                sum[b] += values[i];
                count[b]++;
            }
        }
        var filled = 0;
        foreach (var c in count)
        {
            filled += c > 0 ? 1 : 0;
        }
        if (filled < 5)
        {
            return null;
        }
        var means = new float[Bins];
        var last = double.NaN;
        for (var b = 0; b < Bins; b++)
        {
            last = count[b] > 0 ? sum[b] / count[b] : last;
            means[b] = (float)last;
        }
        // Minutes before the first point take its mean.
        var firstFilled = Array.FindIndex(means, m => !float.IsNaN(m));
        Array.Fill(means, means[firstFilled], 0, firstFilled);
        return new Movement(end, means);
    }

    /// <summary>The largest absolute Pearson correlation of the two over their common minutes, at a
    /// lag of -1, 0 or +1 minute (0 when they share fewer than ten, or either is flat).</summary>
    public double Correlation(Movement other)
    {
        var best = 0.0;
        for (var lag = -1; lag <= 1; lag++)
        {
            best = Math.Max(best, Math.Abs(At(other, (EndBin - other.EndBin) + lag)));
        }
        return best;
    }

    /// <summary>The largest absolute correlation of the two shapes whenever they happened (bin by
    /// bin, a minute of lag either way): whether this moved like <paramref name="other"/> did.</summary>
    public double ShapeCorrelation(Movement other)
    {
        var best = 0.0;
        for (var lag = -1; lag <= 1; lag++)
        {
            best = Math.Max(best, At(other, lag));
        }
        return best;
    }

    // Correlation with other's bin j aligned to this one's bin j + shift.
    private double At(Movement other, long shift)
    {
        double sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;
        var n = 0;
        for (var i = 0; i < Bins; i++)
        {
            var j = i + shift;
            if (j < 0 || j >= Bins)
            {
                continue;
            }
            double x = _means[i], y = other._means[j];
            sx += x;
            sy += y;
            sxx += x * x;
            syy += y * y;
            sxy += x * y;
            n++;
        }
        if (n < 10)
        {
            return 0;
        }
        var vx = sxx - (sx * sx / n);
        var vy = syy - (sy * sy / n);
        if (!(vx > 1e-12 * Math.Max(1, sxx)) || !(vy > 1e-12 * Math.Max(1, syy)))
        {
            return 0;
        }
        return (sxy - (sx * sy / n)) / Math.Sqrt(vx * vy);
    }
}

/// <summary>A movement as stored with an incident's metric: <c>{"end_bin": ..., "means": [...]}</c>
/// (what a taught shape holds too); one that does not make a movement reads as null.</summary>
public sealed class MovementJsonConverter : System.Text.Json.Serialization.JsonConverter<Movement>
{
    /// <inheritdoc />
    public override Movement? Read(ref System.Text.Json.Utf8JsonReader reader, Type typeToConvert, System.Text.Json.JsonSerializerOptions options)
    {
        using var document = System.Text.Json.JsonDocument.ParseValue(ref reader);
        var root = document.RootElement;
        if (root.ValueKind != System.Text.Json.JsonValueKind.Object || !root.TryGetProperty("end_bin", out var end) || !end.TryGetInt64(out var endBin)
            || !root.TryGetProperty("means", out var means) || means.ValueKind != System.Text.Json.JsonValueKind.Array || means.GetArrayLength() != Movement.Bins)
        {
            return null;
        }
        var values = new float[Movement.Bins];
        var i = 0;
        foreach (var m in means.EnumerateArray())
        {
            if (!m.TryGetSingle(out values[i++]) || !float.IsFinite(values[i - 1]))
            {
                return null;
            }
        }
        return Movement.FromMeans(endBin, values);
    }

    /// <inheritdoc />
    public override void Write(System.Text.Json.Utf8JsonWriter writer, Movement value, System.Text.Json.JsonSerializerOptions options)
    {
        writer.WriteStartObject();
        writer.WriteNumber("end_bin", value.EndBin);
        writer.WriteStartArray("means");
        foreach (var m in value.Means)
        {
            writer.WriteNumberValue(m);
        }
        writer.WriteEndArray();
        writer.WriteEndObject();
    }
}
