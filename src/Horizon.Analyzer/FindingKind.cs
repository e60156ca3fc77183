using System.Text.Json.Serialization;

namespace Horizon.Analyzer;

/// <summary>What a finding says. Stored and sent as the lower-case word (<c>"kind": "anomaly"</c>).</summary>
[JsonConverter(typeof(JsonStringEnumConverter<FindingKind>))]
public enum FindingKind
{
    /// <summary>The series is anomalous now: Skyline's votes and/or the ensemble's score.</summary>
    [JsonStringEnumMemberName("anomaly")]
    Anomaly,

    /// <summary>A forecast that the metric reaches its capacity within the exhaustion horizon.</summary>
    [JsonStringEnumMemberName("exhaustion")]
    Exhaustion,
}

/// <summary>Names of <see cref="FindingKind"/>.</summary>
public static class FindingKinds
{
    /// <summary>The word stored, sent and shown: "anomaly", "exhaustion".</summary>
    public static string Name(this FindingKind kind) => kind switch
    {
        FindingKind.Exhaustion => "exhaustion",
        _ => "anomaly",
    };
}
