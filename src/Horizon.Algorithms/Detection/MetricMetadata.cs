using System.Text.Json;
using System.Text.Json.Serialization;

namespace Horizon.Algorithms.Detection;

/// <summary>Which way a deviation is bad news.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<BadDirection>))]
public enum BadDirection : byte
{
    /// <summary>Both ways (the default).</summary>
    Both,

    /// <summary>Only rises are anomalies (errors, latency, queue depth).</summary>
    Up,

    /// <summary>Only falls are anomalies (throughput, free space, success rate).</summary>
    Down,
}

/// <summary>The seasonality a metric is judged against.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<SeasonalityMode>))]
public enum SeasonalityMode : byte
{
    /// <summary>Detected from the metric's long-term roll-ups (the default).</summary>
    Auto,

    /// <summary>Never seasonal.</summary>
    None,

    /// <summary>A daily pattern.</summary>
    Daily,

    /// <summary>A weekly pattern.</summary>
    Weekly,
}

/// <summary>
/// What a team knows about one metric, stored as JSON in the <c>horizon.metadata</c> hash (field:
/// the metric name) and edited through <c>/api/metadata/&lt;name&gt;</c>. It changes the judgement
/// and is shown with each anomaly.
/// </summary>
public sealed record MetricMetadata
{
    /// <summary>Unit of the values, e.g. "ms", "bytes", "%".</summary>
    public string? Unit { get; init; }

    /// <summary>Who to tell.</summary>
    public string? Owner { get; init; }

    /// <summary>A limit the metric must not reach (disk size, 100 %): enables exhaustion forecasts.</summary>
    public double? Capacity { get; init; }

    /// <summary>Which way a deviation is bad news.</summary>
    public BadDirection BadDirection { get; init; }

    /// <summary>Expected seasonality.</summary>
    public SeasonalityMode Seasonality { get; init; }

    /// <summary>Detectors to use (empty: the default set).</summary>
    public IReadOnlyList<string> Detectors { get; init; } = [];

    /// <summary>Detectors to leave out.</summary>
    public IReadOnlyList<string> Skip { get; init; } = [];

    /// <summary>A key performance indicator: judged after every deploy (the deploy verdict).</summary>
    public bool Kpi { get; init; }

    /// <summary>Multiplies the deviations before scoring: 2 flags what is half as unusual, 0.5 only what is twice as unusual.</summary>
    public double Sensitivity { get; init; } = 1.0;

    /// <summary>Metadata for a metric nobody described.</summary>
    public static MetricMetadata Default { get; } = new();

    /// <summary>JSON options for the stored form (camelCase, enums as names).</summary>
    public static JsonSerializerOptions Json { get; } = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>Longest unit accepted.</summary>
    public const int MaxUnitLength = 32;

    /// <summary>Longest owner accepted.</summary>
    public const int MaxOwnerLength = 256;

    /// <summary>Most entries in <see cref="Detectors"/> or <see cref="Skip"/>.</summary>
    public const int MaxDetectorEntries = 32;

    /// <summary>Checks the values; throws <see cref="ArgumentException"/> with what is wrong.</summary>
    public MetricMetadata Validated()
    {
        if (Unit?.Length > MaxUnitLength || Owner?.Length > MaxOwnerLength)
        {
            throw new ArgumentException($"unit is at most {MaxUnitLength} characters and owner at most {MaxOwnerLength}");
        }
        if (Detectors.Count > MaxDetectorEntries || Skip.Count > MaxDetectorEntries)
        {
            throw new ArgumentException($"detectors and skip list at most {MaxDetectorEntries} entries each");
        }
        if (!(Sensitivity > 0 && Sensitivity <= 100))
        {
            throw new ArgumentException("sensitivity must be above 0 and at most 100");
        }
        if (Capacity is { } c && !double.IsFinite(c))
        {
            throw new ArgumentException("capacity must be a finite number");
        }
        foreach (var name in Detectors.Concat(Skip))
        {
            if (!DetectorNames.TryParse(name, out _))
            {
                throw new ArgumentException($"unknown detector '{name}'; known: {string.Join(", ", DetectorNames.All)}");
            }
        }
        return this;
    }

    /// <summary>Parses and validates the stored JSON form.</summary>
    public static MetricMetadata Parse(string json) =>
        (JsonSerializer.Deserialize<MetricMetadata>(json, Json) ?? throw new ArgumentException("metadata must be a JSON object")).Validated();

    /// <summary><see cref="Parse"/>, or null for a value that is missing, not JSON, or not valid
    /// metadata (a reader that treats the metric as having none).</summary>
    public static MetricMetadata? TryParse(string? json)
    {
        try
        {
            return json is null ? null : Parse(json);
        }
        catch (Exception e) when (e is JsonException or ArgumentException)
        {
            return null;
        }
    }

    /// <summary>The stored JSON form.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>Whether <paramref name="detector"/> runs for this metric.</summary>
    public bool Uses(Detector detector)
    {
        if (Detectors.Count == 0 && Skip.Count == 0)
        {
            return true;
        }
        var name = detector.Name();
        return (Detectors.Count == 0 || Detectors.Contains(name, StringComparer.OrdinalIgnoreCase))
            && !Skip.Contains(name, StringComparer.OrdinalIgnoreCase);
    }
}
