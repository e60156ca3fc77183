using System.Buffers;
using System.Text;
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
        var output = connection.Transport.Output;
        try
        {
            while (true)
            {
                var result = await input.ReadAsync(connection.ConnectionClosed);
                var buffer = result.Buffer;
                while (buffer.PositionOf((byte)'\n') is { } end)
                {
                    var answer = admin.Run(Encoding.ASCII.GetString(buffer.Slice(0, end)));
                    buffer = buffer.Slice(buffer.GetPosition(1, end));
                    if (answer is null)
                    {
                        return;
                    }
                    await output.WriteAsync(Encoding.UTF8.GetBytes(answer), connection.ConnectionClosed);
                }
                if (buffer.Length > MaxLine || result.IsCompleted || result.IsCanceled)
                {
                    if (result.IsCompleted && buffer.Length is > 0 and <= MaxLine && admin.Run(Encoding.ASCII.GetString(buffer)) is { } last)
                    {
                        await output.WriteAsync(Encoding.UTF8.GetBytes(last), connection.ConnectionClosed);
                    }
                    return;
                }
                input.AdvanceTo(buffer.Start, buffer.End);
            }
        }
        catch (Exception e) when (e is IOException or ConnectionResetException or ConnectionAbortedException or OperationCanceledException)
        {
            // The peer went away.
        }
    }
}
