using System.Buffers;
using System.Text;
using Horizon.Core.Protocols;
using Microsoft.AspNetCore.Connections;

namespace Horizon.Ingest;

/// <summary>StatsD's management port (8126): each line a command for <see cref="StatsdAdmin"/>,
/// its answer written back; <c>quit</c>, the end of the stream or a line over 1 KiB closes it.</summary>
public sealed class StatsdAdminConnectionHandler(StatsdAdmin admin) : ConnectionHandler
{
    private const int MaxLine = 1024;

    /// <inheritdoc />
    public override async Task OnConnectedAsync(ConnectionContext connection)
    {
        var input = connection.Transport.Input;
        var framer = new LineFramer(MaxLine);
        try
        {
            while (true)
            {
                var result = await input.ReadAsync(connection.ConnectionClosed);
                var buffer = result.Buffer;
                var (answers, close) = Answer(framer, ref buffer, result.IsCompleted);
                input.AdvanceTo(buffer.Start, buffer.End);
                if (answers.Length > 0)
                {
                    await connection.Transport.Output.WriteAsync(Encoding.UTF8.GetBytes(answers), connection.ConnectionClosed);
                }
                if (close || result.IsCompleted || result.IsCanceled)
                {
                    return;
                }
            }
        }
        catch (Exception e) when (e is IOException or ConnectionResetException or ConnectionAbortedException or OperationCanceledException)
        {
            // The peer went away.
        }
    }

    // Runs every complete line buffered (at the end of the stream, the last one without its
    // newline too); stops at quit or an over-long line, which close the connection.
    private (string Answers, bool Close) Answer(LineFramer framer, ref ReadOnlySequence<byte> buffer, bool final)
    {
        var answers = new StringBuilder();
        var reader = new SequenceReader<byte>(buffer);
        var close = false;
        while (!close && framer.TryRead(ref reader, out var line, out var tooLong))
        {
            close = !Run(line, tooLong, answers);
        }
        buffer = buffer.Slice(reader.Position);
        if (!close && final && framer.TryReadFinal(buffer, out var last, out var lastTooLong))
        {
            Run(last, lastTooLong, answers);
        }
        return (answers.ToString(), close);
    }

    // False when the connection is to close.
    private bool Run(ReadOnlySpan<byte> line, bool tooLong, StringBuilder answers)
    {
        if (tooLong || admin.Run(Encoding.ASCII.GetString(line)) is not { } answer)
        {
            return false;
        }
        answers.Append(answer);
        return true;
    }
}
