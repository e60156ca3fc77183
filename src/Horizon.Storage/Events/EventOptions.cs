namespace Horizon.Storage.Events;

/// <summary>How long events are kept (<c>Events</c>).</summary>
public sealed record EventOptions
{
    /// <summary>Events older than this are removed (when new ones are written).</summary>
    public TimeSpan Retention { get; init; } = TimeSpan.FromDays(30);

    /// <summary>Most events kept; beyond, the oldest go.</summary>
    public int MaxEvents { get; init; } = 100_000;

    /// <summary>A point whose name starts with this is also an event, for tools that only speak
    /// carbon: <c>events.deploy.web 1234 &lt;time&gt;</c> is the event "deploy web 1234" tagged
    /// deploy and web, at that time (the point is stored as a series too). Empty: off.</summary>
    public string MetricPrefix { get; init; } = "events.";

    /// <summary>Fails fast on settings that cannot work.</summary>
    public void Validate()
    {
        if (Retention <= TimeSpan.Zero || MaxEvents < 1)
        {
            throw new ArgumentException("Events:Retention must be positive and Events:MaxEvents at least 1.");
        }
    }
}
