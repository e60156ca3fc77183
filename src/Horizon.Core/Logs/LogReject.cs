namespace Horizon.Core.Logs;

/// <summary>Why a log line was refused.</summary>
public enum LogReject : byte
{
#pragma warning disable CS1591 // named for what they refuse
    None,
    Empty,
    TooLong,
    BadPriority,
    BadJson,
    NoMessage,
#pragma warning restore CS1591
}

/// <summary>Stable labels for <see cref="LogReject"/> (Prometheus label values).</summary>
public static class LogRejects
{
    /// <summary>Number of values, <see cref="LogReject.None"/> included.</summary>
    public const int Count = (int)LogReject.NoMessage + 1;

    private static readonly string[] Labels = ["none", "empty", "line_too_long", "bad_priority", "bad_json", "no_message"];

    /// <summary>The label of a reason.</summary>
    public static string Label(this LogReject reason) => Labels[(int)reason];
}
