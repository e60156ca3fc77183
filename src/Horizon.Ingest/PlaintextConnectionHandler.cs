using System.Buffers;
using System.IO.Pipelines;
using Horizon.Core.Points;
using Horizon.Core.Protocols;

namespace Horizon.Ingest;

/// <summary>Carbon's plaintext protocol (TCP 2003): <c>name value [timestamp]\n</c>.</summary>
public sealed class PlaintextConnectionHandler(IngestServices services)
    : IngestConnectionHandler(services, PointSource.Plaintext)
{
    /// <inheritdoc />
    protected override async Task RunAsync(PipeReader input, string? peer)
    {
        var parser = new CarbonLineParser(Services.Listeners.MaxLineLength);
        var writer = Services.Writer;
        var batch = writer.Pool.Rent(Source);
        try
        {
            while (true)
            {
                var result = await input.ReadAsync();
                var buffer = result.Buffer;
                parser.Now = Services.NowSeconds();
                while (Parse(parser, ref buffer, batch, peer))
                {
                    // A full batch waits here while the writer's buffer is full: that is the
                    // back-pressure that slows the peer down when the store is slow.
                    await writer.SubmitAsync(batch);
                    batch = writer.Pool.Rent(Source);
                }
                if (result.IsCompleted || result.IsCanceled)
                {
                    if (result.IsCompleted && !batch.IsFull)
                    {
                        ParseFinal(parser, buffer, batch, peer);
                    }
                    input.AdvanceTo(buffer.End);
                    break;
                }
                input.AdvanceTo(buffer.Start, buffer.End);
                if (batch.Count > 0)
                {
                    await writer.SubmitAsync(batch);
                    batch = writer.Pool.Rent(Source);
                }
            }
        }
        finally
        {
            await writer.SubmitAsync(batch);
        }
    }

    // Parses complete lines into the batch. Returns true when it stopped because the batch is full.
    private bool Parse(CarbonLineParser parser, ref ReadOnlySequence<byte> buffer, PointBatch batch, string? peer)
    {
        var reader = new SequenceReader<byte>(buffer);
        var rejects = default(RejectTally);
        var received = 0;
        while (!batch.IsFull && parser.TryParse(ref reader, out var line))
        {
            received++;
            Accept(line, parser.Now, batch, ref rejects, peer);
        }
        buffer = buffer.Slice(reader.Position);
        Services.Count(Source, received, rejects);
        return batch.IsFull;
    }

    private void ParseFinal(CarbonLineParser parser, in ReadOnlySequence<byte> rest, PointBatch batch, string? peer)
    {
        var rejects = default(RejectTally);
        if (parser.TryParseFinal(rest, out var line))
        {
            Accept(line, parser.Now, batch, ref rejects, peer);
            Services.Count(Source, 1, rejects);
        }
    }

    private void Accept(in CarbonLine line, long now, PointBatch batch, ref RejectTally rejects, string? peer)
    {
        var error = line.Error;
        if (error == RejectReason.None)
        {
            error = Services.Gate.Admit(line.Name, line.Timestamp, now, out var key);
            if (error == RejectReason.None)
            {
                batch.Add(key!, line.Timestamp, line.Value);
                return;
            }
        }
        rejects.Add(error);
        Services.RejectLog(Source).Rejected(error, line.Name, peer);
    }
}
