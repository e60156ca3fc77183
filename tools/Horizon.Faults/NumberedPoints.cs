using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Horizon.Faults;

/// <summary>
/// Numbered points over carbon's plaintext protocol at a steady rate: point <c>s</c> is
/// <c>&lt;prefix&gt;.m{s % names}</c> with timestamp <c>base + s / names</c> and value <c>s</c>, so
/// every stored point says which one it is and when it was sent. Sends in batches every 10 ms; a
/// batch whose write completed is "sent" (handed to the kernel for Horizon), one whose write
/// failed is not. After a broken connection it reconnects, when asked to, and goes on.
/// </summary>
public sealed class NumberedPoints(IPEndPoint target, string prefix, int names, long baseTimestamp)
{
    private readonly List<(long Start, long End, long At)> _batches = []; // sent at Stopwatch time At
    private long _next;
    private long _sent;

    /// <summary>The metric name prefix.</summary>
    public string Prefix => prefix;

    /// <summary>Distinct names.</summary>
    public int Names => names;

    /// <summary>Points handed over (their write completed).</summary>
    public long Sent => Interlocked.Read(ref _sent);

    /// <summary>The number the next point gets: every point so far, sent or not, is below it.</summary>
    public long Next => Interlocked.Read(ref _next);

    /// <summary>Points whose write failed (the connection broke under them).</summary>
    public long Unsent { get; private set; }

    /// <summary>Point numbers of batches whose write failed: never counted as sent.</summary>
    public List<(long Start, long End)> Failed { get; } = [];

    /// <summary>Where the endpoint goes after a restart of the target (same port by default).</summary>
    public IPEndPoint Target { get; set; } = target;

    /// <summary>When point <paramref name="seq"/> was handed over (Stopwatch timestamp), or null.</summary>
    public long? SentAt(long seq)
    {
        lock (_batches)
        {
            var lo = 0;
            var hi = _batches.Count - 1;
            while (lo <= hi)
            {
                var mid = (lo + hi) / 2;
                if (_batches[mid].End <= seq)
                {
                    lo = mid + 1;
                }
                else
                {
                    hi = mid - 1;
                }
            }
            return lo < _batches.Count && seq >= _batches[lo].Start ? _batches[lo].At : null;
        }
    }

    /// <summary>Sends <paramref name="rate"/> points a second until <paramref name="stop"/> fires.
    /// With <paramref name="reconnect"/>, a broken connection is retried every 100 ms.</summary>
    public async Task RunAsync(double rate, bool reconnect, CancellationToken stop)
    {
        var perBatch = Math.Max(1, (int)(rate / 100));
        var clock = Stopwatch.StartNew();
        long batches = 0;
        while (!stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = new TcpClient { NoDelay = true };
                await client.ConnectAsync(Target, stop);
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException)
            {
                if (!reconnect || stop.IsCancellationRequested)
                {
                    return;
                }
                await Delay(100, stop);
                continue;
            }
            using (client)
            {
                var stream = client.GetStream();
                while (!stop.IsCancellationRequested)
                {
                    var start = _next;
                    var bytes = Batch(start, perBatch);
                    try
                    {
                        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stop);
                        timeout.CancelAfter(TimeSpan.FromSeconds(30));
                        await stream.WriteAsync(bytes, timeout.Token);
                    }
                    catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
                    {
                        Failed.Add((start, start + perBatch));
                        Unsent += perBatch;
                        Interlocked.Exchange(ref _next, start + perBatch);
                        break;
                    }
                    Interlocked.Exchange(ref _next, start + perBatch);
                    Interlocked.Add(ref _sent, perBatch);
                    lock (_batches)
                    {
                        _batches.Add((start, start + perBatch, Stopwatch.GetTimestamp()));
                    }
                    batches++;
                    // Paced against the clock, so a slow write is made up for, not added to.
                    var due = batches * 10 - clock.ElapsedMilliseconds;
                    if (due > 0)
                    {
                        await Delay((int)due, stop);
                    }
                }
            }
            if (!reconnect)
            {
                return;
            }
            await Delay(100, stop);
        }
    }

    private byte[] Batch(long start, int count)
    {
        var text = new StringBuilder(count * 32);
        for (var s = start; s < start + count; s++)
        {
            text.Append(prefix).Append(".m").Append(s % names).Append(' ')
                .Append(s.ToString(CultureInfo.InvariantCulture)).Append(' ')
                .Append((baseTimestamp + s / names).ToString(CultureInfo.InvariantCulture)).Append('\n');
        }
        return Encoding.ASCII.GetBytes(text.ToString());
    }

    private static async Task Delay(int milliseconds, CancellationToken stop)
    {
        try
        {
            await Task.Delay(milliseconds, stop);
        }
        catch (OperationCanceledException)
        {
        }
    }
}
