using System.Buffers;
using System.IO.Pipelines;
using Horizon.Core.Points;
using Horizon.Core.Protocols;

namespace Horizon.Ingest;

/// <summary>StatsD over TCP (8125): newline-separated StatsD lines, aggregated like UDP ones.</summary>
public sealed class StatsdTcpConnectionHandler(IngestServices services)
    : IngestConnectionHandler(services, PointSource.StatsdTcp)
{
    /// <inheritdoc />
    protected override async Task RunAsync(PipeReader input, string? peer)
    {
        var framer = new LineFramer(Services.Listeners.MaxLineLength);
        while (true)
        {
            var result = await input.ReadAsync();
            var buffer = result.Buffer;
            ProcessLines(framer, ref buffer, peer);
            if (result.IsCompleted || result.IsCanceled)
            {
                if (result.IsCompleted && framer.TryReadFinal(buffer, out var line, out var tooLong))
                {
                    ProcessOne(line, tooLong, peer);
                }
                input.AdvanceTo(buffer.End);
                return;
            }
            input.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    private void ProcessLines(LineFramer framer, ref ReadOnlySequence<byte> buffer, string? peer)
    {
        var reader = new SequenceReader<byte>(buffer);
        var rejects = default(RejectTally);
        int lines = 0, samples = 0;
        while (framer.TryRead(ref reader, out var line, out var tooLong))
        {
            if (tooLong)
            {
                rejects.Add(RejectReason.LineTooLong);
                Services.RejectLog(Source).Rejected(RejectReason.LineTooLong, default, peer);
                lines++;
                continue;
            }
            if (StatsdLineParser.IsBlank(line))
            {
                continue;
            }
            lines++;
            samples += ProcessLine(line, ref rejects, peer);
        }
        buffer = buffer.Slice(reader.Position);
        if (lines > 0)
        {
            Services.Statsd.RecordPacket(lines, rejects.Total);
        }
        Services.Count(Source, samples, rejects);
    }

    private void ProcessOne(ReadOnlySpan<byte> line, bool tooLong, string? peer)
    {
        var rejects = default(RejectTally);
        var samples = 0;
        if (tooLong)
        {
            rejects.Add(RejectReason.LineTooLong);
        }
        else
        {
            samples = ProcessLine(line, ref rejects, peer);
        }
        Services.Statsd.RecordPacket(1, rejects.Total);
        Services.Count(Source, samples, rejects);
    }

    // Returns the samples the line held, accepted or refused.
    private int ProcessLine(ReadOnlySpan<byte> line, ref RejectTally rejects, string? peer)
    {
        var lineRejects = default(RejectTally);
        var accepted = Services.Statsd.ProcessLine(line, ref lineRejects);
        if (!lineRejects.IsEmpty)
        {
            Services.RejectLog(Source).Rejected(lineRejects.First, line, peer);
            rejects.Add(lineRejects);
        }
        return accepted + lineRejects.Total;
    }
}
