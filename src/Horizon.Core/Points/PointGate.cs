using Horizon.Core.Metrics;
using Horizon.Core.Protocols;
using Horizon.Core.Series;

namespace Horizon.Core.Points;

/// <summary>What every parsed point passes before it is stored, whatever its protocol: the time
/// window Skyline enforces (MAX_RESOLUTION into the past, a small tolerance into the future), the
/// skip list, and the bound on distinct names.</summary>
public sealed class PointGate(MetricRegistry registry, SeriesOptions options)
{
    /// <summary>The metric table behind the gate.</summary>
    public MetricRegistry Registry { get; } = registry;

    /// <summary>Checks one point; on success returns its key.</summary>
    public RejectReason Admit(ReadOnlySpan<byte> name, long timestamp, long now, out MetricKey? key)
    {
        key = null;
        if (timestamp < now - options.MaxResolution)
        {
            return RejectReason.TooOld;
        }
        if (timestamp > now + options.FutureTolerance)
        {
            return RejectReason.TooFarInFuture;
        }
        var error = Registry.GetOrAdd(name, out key);
        if (error != RejectReason.None)
        {
            return error;
        }
        return key!.IsSkipped ? RejectReason.SkipListed : RejectReason.None;
    }
}
