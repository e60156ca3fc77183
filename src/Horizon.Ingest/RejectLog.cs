using System.Text;
using Horizon.Core.Protocols;
using Microsoft.Extensions.Logging;

namespace Horizon.Ingest;

/// <summary>Rate-limited log of refused input: one line per listener at most every
/// <see cref="Interval"/>, with how many were not logged in between. Counting is the job of the
/// Prometheus counters; this only lets an operator see an example of what was refused.</summary>
public sealed partial class RejectLog(ILogger logger, string listener)
{
    /// <summary>Shortest time between two messages.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(10);

    private long _last = long.MinValue / 2;
    private int _suppressed;

    /// <summary>Notes one rejection.</summary>
    public void Rejected(RejectReason reason, ReadOnlySpan<byte> sample, object? peer) => Rejected(reason.Label(), sample, peer);

    /// <summary>Notes one rejection, its reason given by its label (log lines have their own reasons).</summary>
    public void Rejected(string reason, ReadOnlySpan<byte> sample, object? peer)
    {
        var now = Environment.TickCount64;
        var last = Interlocked.Read(ref _last);
        if (now - last < (long)Interval.TotalMilliseconds || Interlocked.CompareExchange(ref _last, now, last) != last)
        {
            Interlocked.Increment(ref _suppressed);
            return;
        }
        var suppressed = Interlocked.Exchange(ref _suppressed, 0);
        Log.Rejected(logger, listener, reason, Describe(peer), Printable(sample), suppressed);
    }

    // Peers are formatted only when a line is actually logged.
    private static string Describe(object? peer) => peer switch
    {
        null => "?",
        System.Net.SocketAddress address => new System.Net.IPEndPoint(System.Net.IPAddress.Any, 0).Create(address).ToString() ?? "?",
        _ => peer.ToString() ?? "?",
    };

    /// <summary>At most 200 characters, with control characters and invalid UTF-8 made visible.</summary>
    public static string Printable(ReadOnlySpan<byte> sample)
    {
        var text = Encoding.UTF8.GetString(sample.Length > 200 ? sample[..200] : sample);
        var sb = new StringBuilder(text.Length);
        foreach (var c in text)
        {
            sb.Append(char.IsControl(c) ? $"\\x{(int)c:x2}" : c);
        }
        if (sample.Length > 200)
        {
            sb.Append('…');
        }
        return sb.ToString();
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 400, Level = LogLevel.Warning, Message = "{Listener}: refused input ({Reason}) from {Peer}: \"{Sample}\" ({Suppressed} other refusals since the last message)")]
        public static partial void Rejected(ILogger logger, string listener, string reason, string peer, string sample, int suppressed);
    }
}
