using System.Runtime.CompilerServices;

namespace Horizon.Core.Protocols;

/// <summary>Why one input record (a line, a pickle item, a datagram, a StatsD sample) was refused.</summary>
public enum RejectReason : byte
{
    None = 0,
    MissingField,
    ExtraField,
    BadValue,
    NonFiniteValue,
    BadTimestamp,
    EmptyName,
    InvalidNameCharacter,
    NameTooLong,
    InvalidUtf8,
    LineTooLong,
    TooOld,
    TooFarInFuture,
    SkipListed,
    TooManyMetrics,
    MalformedItem,
    MalformedDatagram,
    UnknownType,
    BadSampleRate,
    TooManyStatsdKeys,
}

/// <summary>Stable snake_case labels for <see cref="RejectReason"/>, used as Prometheus label values.</summary>
public static class RejectReasons
{
    /// <summary>Number of enum values, including <see cref="RejectReason.None"/>.</summary>
    public const int Count = (int)RejectReason.TooManyStatsdKeys + 1;

    private static readonly string[] Labels =
    [
        "none", "missing_field", "extra_field", "bad_value", "non_finite_value", "bad_timestamp",
        "empty_name", "invalid_name_character", "name_too_long", "invalid_utf8", "line_too_long",
        "too_old", "too_far_in_future", "skip_list", "too_many_metrics", "malformed_item",
        "malformed_datagram", "unknown_type", "bad_sample_rate", "too_many_statsd_keys",
    ];

    /// <summary>The label for a reason.</summary>
    public static string Label(this RejectReason reason) => Labels[(int)reason];

    /// <summary>All reasons except None.</summary>
    public static IEnumerable<RejectReason> All()
    {
        for (var i = 1; i < Count; i++)
        {
            yield return (RejectReason)i;
        }
    }
}

/// <summary>Per-reason counts kept on the stack while a read buffer is parsed, then added to the
/// process counters once, so the hot loop touches no shared state per line.</summary>
[InlineArray(RejectReasons.Count)]
public struct RejectTally
{
    private int _element;

    /// <summary>Count one rejection.</summary>
    public void Add(RejectReason reason) => this[(int)reason]++;

    /// <summary>Adds another tally to this one.</summary>
    public void Add(in RejectTally other)
    {
        for (var i = 0; i < RejectReasons.Count; i++)
        {
            this[i] += other[i];
        }
    }

    /// <summary>The first reason counted (in enum order), or None.</summary>
    public readonly RejectReason First
    {
        get
        {
            for (var i = 1; i < RejectReasons.Count; i++)
            {
                if (this[i] != 0)
                {
                    return (RejectReason)i;
                }
            }
            return RejectReason.None;
        }
    }

    /// <summary>True when nothing was counted.</summary>
    public readonly bool IsEmpty
    {
        get
        {
            foreach (var c in this)
            {
                if (c != 0)
                {
                    return false;
                }
            }
            return true;
        }
    }

    /// <summary>Total count over all reasons.</summary>
    public readonly int Total
    {
        get
        {
            var t = 0;
            foreach (var c in this)
            {
                t += c;
            }
            return t;
        }
    }
}
