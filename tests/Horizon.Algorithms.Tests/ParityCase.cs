using System.Text.Json;
using System.Text.Json.Serialization;

namespace Horizon.Algorithms.Tests;

/// <summary>One case of ../shared/parity/skyline_vectors.json.</summary>
public sealed class ParityCase
{
    public required string Id { get; init; }
    public required long Now { get; init; }
    public required long[] Timestamps { get; init; }
    public required double[] Values { get; init; }
    public string? Exception { get; init; }
    public required Dictionary<string, bool?> Algorithms { get; init; }
    public required Ensemble EnsembleOriginal { get; init; }
    public required Ensemble EnsembleFixed { get; init; }
    public required JsonElement Stats { get; init; }

    public sealed class Ensemble
    {
        public bool Anomalous { get; init; }
        public int VotesYes { get; init; }
        public string? Error { get; init; }
    }

    public override string ToString() => Id;

    private static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals | JsonNumberHandling.AllowReadingFromString,
    };

    /// <summary>Every case in the file.</summary>
    public static IReadOnlyList<ParityCase> All { get; } = Load();

    private static List<ParityCase> Load()
    {
        var path = Path.Combine(SharedData.Root, "parity", "skyline_vectors.json");
        using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
        return [.. doc.RootElement.GetProperty("cases").EnumerateArray().Select(c => c.Deserialize<ParityCase>(Options)!)];
    }

    /// <summary>A stats number, NaN for null or the strings "NaN"/"Infinity".</summary>
    public static double Number(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Number => e.GetDouble(),
        JsonValueKind.String => e.GetString() switch
        {
            "Infinity" => double.PositiveInfinity,
            "-Infinity" => double.NegativeInfinity,
            _ => double.NaN,
        },
        _ => double.NaN,
    };

    public double Stat(params string[] path)
    {
        var e = Stats;
        foreach (var p in path)
        {
            if (e.ValueKind != JsonValueKind.Object || !e.TryGetProperty(p, out e))
            {
                return double.NaN;
            }
        }
        return Number(e);
    }
}
