namespace Horizon.Analyzer.Incidents;

/// <summary>
/// A silence: incidents all of whose metrics match are not delivered until it ends. <see cref="Metric"/>
/// is a glob over the whole name (<c>*</c> any run of characters, dots included; <c>?</c> one), and
/// <see cref="Owner"/> an exact owner; either may be left out, not both. Stored as JSON in
/// <c>horizon.silences</c> (field: <see cref="Id"/>), written through the API.
/// </summary>
public sealed record Silence(string Id, string? Metric, string? Owner, long StartsAt, long EndsAt, string CreatedBy, string? Comment)
{
    private NameGlob? _glob;

    /// <summary>Whether it is in force at <paramref name="now"/> (Unix seconds).</summary>
    public bool ActiveAt(long now) => StartsAt <= now && now < EndsAt;

    /// <summary>Whether a metric (with its owner) is covered.</summary>
    public bool Matches(string metric, string? owner) =>
        (Metric is null || (_glob ??= new NameGlob(Metric)).IsMatch(metric)) && (Owner is null || string.Equals(owner, Owner, StringComparison.Ordinal));

    /// <summary>Why it cannot be stored (null: it can).</summary>
    public string? Problem(long now)
    {
        if (Metric is null && Owner is null)
        {
            return "a silence needs a metric pattern, an owner, or both";
        }
        if (Metric is { Length: 0 or > 1000 } || Owner is { Length: 0 or > 200 } || Comment is { Length: > 2000 } || CreatedBy.Length is 0 or > 200)
        {
            return "metric (1-1000 characters), owner (1-200), created_by (1-200) and comment (up to 2000) must fit";
        }
        if (EndsAt <= now || EndsAt <= StartsAt)
        {
            return "ends_at must be in the future and after starts_at";
        }
        return null;
    }
}
