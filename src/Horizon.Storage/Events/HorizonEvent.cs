using System.Globalization;
using System.Text.Json.Serialization;

namespace Horizon.Storage.Events;

/// <summary>Something that happened at a moment (a deploy, a config push, a failover), in Graphite's
/// event shape: <see cref="What"/> it was, its <see cref="Tags"/>, <see cref="When"/> (Unix
/// seconds) and free <see cref="Data"/>. Drawn on every graph and named by the incidents that
/// start soon after it.</summary>
public sealed record HorizonEvent
{
    /// <summary>Unique: <c>e-</c> and 48 random bits.</summary>
    public required string Id { get; init; }

    /// <summary>Unix seconds.</summary>
    public long When { get; init; }

    /// <summary>One line: <c>deploy web 1234</c>.</summary>
    public required string What { get; init; }

    /// <summary>Words to select events by (<c>deploy</c>, <c>web</c>).</summary>
    public IReadOnlyList<string> Tags { get; init; } = [];

    /// <summary>Anything else (a changelog link, who deployed).</summary>
    public string? Data { get; init; }

    /// <summary>"12 min after deploy web 1234" for a moment <paramref name="at"/> after it.</summary>
    public string After(long at)
    {
        var seconds = Math.Max(0, at - When);
        var span = seconds < 90 ? string.Create(CultureInfo.InvariantCulture, $"{seconds} s")
            : seconds < 5400 ? string.Create(CultureInfo.InvariantCulture, $"{(seconds + 30) / 60} min")
            : string.Create(CultureInfo.InvariantCulture, $"{seconds / 3600.0:F1} h");
        return $"{span} after {What}";
    }

    /// <summary>Whether it carries every one of <paramref name="tags"/> (case-insensitive).</summary>
    public bool HasTags(IEnumerable<string> tags) => tags.All(t => Tags.Contains(t, StringComparer.OrdinalIgnoreCase));

    /// <summary>What is wrong with it as given, or null: a <see cref="What"/> of 1 to 500 characters
    /// without line breaks, at most 20 tags of 1 to 100 characters without spaces, data up to 4,000 characters.</summary>
    [JsonIgnore]
    public string? Problem =>
        What.Length is 0 or > 500 || What.AsSpan().IndexOfAny('\r', '\n') >= 0 ? "what is one line of 1 to 500 characters"
        : Tags.Count > 20 || Tags.Any(t => t.Length is 0 or > 100 || t.Any(char.IsWhiteSpace)) ? "tags are at most 20 words of 1 to 100 characters"
        : Data is { Length: > 4000 } ? "data is at most 4,000 characters"
        : When <= 0 ? "when is Unix seconds"
        : null;
}
