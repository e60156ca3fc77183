using System.Buffers;
using System.Buffers.Binary;

namespace Horizon.Core.Protocols;

/// <summary>Outcome of reading one carbon pickle frame.</summary>
public enum FrameStatus : byte
{
    /// <summary>A whole frame was read.</summary>
    Ok,

    /// <summary>Not all of the frame is buffered yet.</summary>
    Incomplete,

    /// <summary>The length prefix is over the limit; the connection must be closed.</summary>
    TooLarge,
}

/// <summary>Reads carbon-relay's pickle framing: a 4-byte big-endian length, then that many bytes
/// of pickle (Twisted's Int32StringReceiver). Never consumes a partial frame.</summary>
public static class PickleFrameReader
{
    /// <summary>Carbon's own limit for a pickle frame (1 MiB).</summary>
    public const int DefaultMaxFrameLength = 1 << 20;

    /// <summary>Reads the next frame's payload.</summary>
    public static FrameStatus TryRead(ref SequenceReader<byte> reader, int maxFrameLength, out ReadOnlySequence<byte> payload, out uint declaredLength)
    {
        payload = default;
        declaredLength = 0;
        if (!reader.TryReadBigEndian(out int raw))
        {
            return FrameStatus.Incomplete;
        }
        declaredLength = (uint)raw;
        if (declaredLength > (uint)maxFrameLength)
        {
            reader.Rewind(4);
            return FrameStatus.TooLarge;
        }
        if (reader.Remaining < declaredLength)
        {
            reader.Rewind(4);
            return FrameStatus.Incomplete;
        }
        payload = reader.UnreadSequence.Slice(0, declaredLength);
        reader.Advance(declaredLength);
        return FrameStatus.Ok;
    }

    /// <summary>Writes a frame header for a payload of <paramref name="length"/> bytes.</summary>
    public static void WriteHeader(Span<byte> destination, int length) =>
        BinaryPrimitives.WriteInt32BigEndian(destination, length);
}
