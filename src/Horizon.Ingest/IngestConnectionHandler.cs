using System.IO.Pipelines;
using Horizon.Core.Points;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;

namespace Horizon.Ingest;

/// <summary>What every TCP listener does around its protocol loop: count the connection, stop
/// reading promptly when the server shuts down (what was read is still processed), close a
/// connection that sent nothing for <see cref="ListenerOptions.IdleTimeout"/>, and treat a peer that
/// vanishes as the end of its stream rather than an error.</summary>
public abstract class IngestConnectionHandler : ConnectionHandler
{
    /// <summary>A handler of a point listener.</summary>
    protected IngestConnectionHandler(IngestServices services, PointSource source)
        : this(services, source.Label()) => Source = source;

    /// <summary>A handler of another listener (the log listeners), named for the counters.</summary>
    protected IngestConnectionHandler(IngestServices services, string listener)
    {
        Services = services;
        Listener = listener;
    }

    /// <summary>The shared ingest services.</summary>
    protected IngestServices Services { get; }

    /// <summary>The point listener this handler serves.</summary>
    protected PointSource Source { get; }

    /// <summary>The listener's name in metrics and logs.</summary>
    protected string Listener { get; }

    /// <inheritdoc />
    public sealed override async Task OnConnectedAsync(ConnectionContext connection)
    {
        var active = Services.Connections.ConnectionsActive.WithLabels(Listener);
        active.Inc();
        var input = connection.Transport.Input;
        var lifetime = connection.Features.Get<IConnectionLifetimeNotificationFeature>();
        using var stopping = lifetime?.ConnectionClosedRequested.Register(static state => ((PipeReader)state!).CancelPendingRead(), input);
        var reader = Services.IdleSweeper.Watch(input);
        try
        {
            await RunAsync(reader, connection.RemoteEndPoint?.ToString());
            if (reader.TimedOut)
            {
                CountClosed("idle_timeout");
            }
        }
        catch (Exception e) when (e is IOException or ConnectionResetException or ConnectionAbortedException or OperationCanceledException)
        {
            // The peer went away; everything read before that was processed.
        }
        finally
        {
            Services.IdleSweeper.Forget(reader);
            active.Dec();
            await input.CompleteAsync();
        }
    }

    /// <summary>The protocol loop: read, parse, hand points to the writer, until the stream ends.</summary>
    protected abstract Task RunAsync(PipeReader input, string? peer);

    /// <summary>Counts a connection Horizon closes because of what the peer sent.</summary>
    protected void CountClosed(string reason) => Services.Connections.ConnectionsClosed.WithLabels(Listener, reason).Inc();
}
