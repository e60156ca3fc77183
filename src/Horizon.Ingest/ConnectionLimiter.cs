using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;
using Prometheus;

namespace Horizon.Ingest;

/// <summary>One bound on concurrent TCP connections shared by several endpoints (the ingest
/// listeners share one, HTTP has its own, so neither can starve the other). A connection beyond it
/// is closed at once, counted in <c>horizon_connections_refused_total</c> and logged (at most every
/// 10 s).</summary>
public sealed partial class ConnectionLimiter(int max, Counter refused, ILogger logger)
{
    private int _open;
    private long _lastLog;

    /// <summary>Connections open now.</summary>
    public int Open => Volatile.Read(ref _open);

    /// <summary>Kestrel connection middleware for the endpoint <paramref name="listener"/>.</summary>
    public Func<ConnectionDelegate, ConnectionDelegate> For(string listener) => next => async connection =>
    {
        if (Interlocked.Increment(ref _open) > max)
        {
            Interlocked.Decrement(ref _open);
            refused.WithLabels(listener).Inc();
            var now = Environment.TickCount64;
            var last = Interlocked.Read(ref _lastLog);
            if (now - last >= 10_000 && Interlocked.CompareExchange(ref _lastLog, now, last) == last)
            {
                Log.Refused(logger, listener, connection.RemoteEndPoint?.ToString() ?? "?", max);
            }
            return;
        }
        try
        {
            await next(connection);
        }
        finally
        {
            Interlocked.Decrement(ref _open);
        }
    };

    private static partial class Log
    {
        [LoggerMessage(EventId = 460, Level = LogLevel.Warning, Message = "{Listener}: refused a connection from {Peer}: {Max} connections are open (the limit); see horizon_connections_refused_total")]
        public static partial void Refused(ILogger logger, string listener, string peer, int max);
    }
}
