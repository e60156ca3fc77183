using System.Buffers;

namespace Horizon.Core.Protocols;

/// <summary>Cuts a byte stream into frames: <see cref="LineFramer"/> (newline-ended lines) and
/// <see cref="Logs.SyslogFramer"/> (octet-counted or newline-ended syslog frames).</summary>
public interface IFrameReader
{
    /// <summary>Reads the next frame. False when no complete frame is buffered; true with
    /// <paramref name="tooLong"/> set, once, for a frame over the limit.</summary>
    bool TryRead(ref SequenceReader<byte> reader, out ReadOnlySpan<byte> frame, out bool tooLong);

    /// <summary>What is left when the peer closed without a final newline, if anything.</summary>
    bool TryReadFinal(in ReadOnlySequence<byte> rest, out ReadOnlySpan<byte> frame, out bool tooLong);
}
