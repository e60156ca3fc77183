using System.Buffers;
using System.IO.Pipelines;
using Horizon.Core.Points;
using Horizon.Core.Protocols;
using Microsoft.Extensions.Logging;

namespace Horizon.Ingest;

/// <summary>Carbon's pickle protocol (TCP 2024), as carbon-relay sends it: length-prefixed
/// pickled lists of <c>(name, (timestamp, value))</c>. A frame that is too large, truncated or not
/// plain data closes the connection; a bad item inside a good frame is refused alone.</summary>
public sealed partial class PickleConnectionHandler(IngestServices services)
    : IngestConnectionHandler(services, PointSource.Pickle)
{
    private readonly ILogger _logger = services.LoggerFactory.CreateLogger<PickleConnectionHandler>();

    /// <inheritdoc />
    protected override async Task RunAsync(PipeReader input, string? peer)
    {
        var decoder = new CarbonPickleDecoder();
        var sink = new Sink(this, peer);
        var writer = Services.Writer;
        try
        {
            while (true)
            {
                var result = await input.ReadAsync();
                var buffer = result.Buffer;
                sink.Now = Services.NowSeconds();
                var closeReason = ReadFrames(decoder, sink, ref buffer, out var detail);
                Services.Count(Source, sink.Received, sink.Rejects);
                sink.ResetCounts();
                foreach (var full in sink.TakeFull())
                {
                    await writer.SubmitAsync(full);
                }
                if (closeReason is not null)
                {
                    CountClosed(closeReason);
                    Log.Closed(_logger, peer ?? "?", closeReason, detail);
                    input.AdvanceTo(buffer.End);
                    break;
                }
                if (result.IsCompleted || result.IsCanceled)
                {
                    if (result.IsCompleted && !buffer.IsEmpty)
                    {
                        CountClosed("truncated_frame");
                        Log.Closed(_logger, peer ?? "?", "truncated_frame", $"{buffer.Length} bytes of an unfinished frame");
                    }
                    input.AdvanceTo(buffer.End);
                    break;
                }
                input.AdvanceTo(buffer.Start, buffer.End);
                await writer.SubmitAsync(sink.TakeCurrent());
            }
        }
        finally
        {
            foreach (var full in sink.TakeFull())
            {
                await writer.SubmitAsync(full);
            }
            await writer.SubmitAsync(sink.TakeCurrent());
        }
    }

    // Decodes every complete frame; returns a close reason when the stream cannot go on.
    private string? ReadFrames(CarbonPickleDecoder decoder, Sink sink, ref ReadOnlySequence<byte> buffer, out string detail)
    {
        detail = "";
        var reader = new SequenceReader<byte>(buffer);
        try
        {
            while (true)
            {
                var status = PickleFrameReader.TryRead(ref reader, Services.Listeners.MaxPickleFrameBytes, out var frame, out var declared);
                if (status == FrameStatus.Incomplete)
                {
                    return null;
                }
                if (status == FrameStatus.TooLarge)
                {
                    detail = $"frame of {declared} bytes, the limit is {Services.Listeners.MaxPickleFrameBytes}";
                    return "frame_too_large";
                }
                var error = Decode(decoder, frame, sink);
                if (error != PickleError.None)
                {
                    detail = $"{CarbonPickleDecoder.Describe(error)}: {decoder.ErrorDetail}";
                    return error == PickleError.UnsupportedOpcode ? "unsupported_opcode" : "bad_pickle";
                }
            }
        }
        finally
        {
            buffer = buffer.Slice(reader.Position);
        }
    }

    private static PickleError Decode(CarbonPickleDecoder decoder, in ReadOnlySequence<byte> frame, Sink sink)
    {
        if (frame.IsSingleSegment)
        {
            return decoder.Decode(frame.FirstSpan, sink);
        }
        var rented = ArrayPool<byte>.Shared.Rent((int)frame.Length);
        try
        {
            frame.CopyTo(rented);
            return decoder.Decode(rented.AsSpan(0, (int)frame.Length), sink);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    // Collects a frame's datapoints into batches; full ones wait for the async loop to submit.
    private sealed class Sink(PickleConnectionHandler handler, string? peer) : IPickleItemSink
    {
        private readonly List<PointBatch> _full = [];
        private PointBatch _current = handler.Services.Writer.Pool.Rent(PointSource.Pickle);
        private RejectTally _rejects;

        public long Now { get; set; }

        public int Received { get; private set; }

        public RejectTally Rejects => _rejects;

        public void ResetCounts()
        {
            Received = 0;
            _rejects = default;
        }

        public void OnPoint(ReadOnlySpan<byte> name, double timestamp, double value)
        {
            Received++;
            var ts = (long)timestamp;
            var error = handler.Services.Gate.Admit(name, ts, Now, out var key);
            if (error != RejectReason.None)
            {
                OnRejectCounted(error, name);
                return;
            }
            _current.Add(key!, ts, value);
            if (_current.IsFull)
            {
                _full.Add(_current);
                _current = handler.Services.Writer.Pool.Rent(PointSource.Pickle);
            }
        }

        public void OnReject(RejectReason reason, ReadOnlySpan<byte> name)
        {
            Received++;
            OnRejectCounted(reason, name);
        }

        private void OnRejectCounted(RejectReason reason, ReadOnlySpan<byte> name)
        {
            _rejects.Add(reason);
            handler.Services.RejectLog(PointSource.Pickle).Rejected(reason, name, peer);
        }

        public List<PointBatch> TakeFull()
        {
            var taken = new List<PointBatch>(_full);
            _full.Clear();
            return taken;
        }

        public PointBatch TakeCurrent()
        {
            var taken = _current;
            _current = handler.Services.Writer.Pool.Rent(PointSource.Pickle);
            return taken;
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 410, Level = LogLevel.Warning, Message = "pickle: closing the connection from {Peer} ({Reason}): {Detail}")]
        public static partial void Closed(ILogger logger, string peer, string reason, string detail);
    }
}
