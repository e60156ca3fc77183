using System.Net;
using System.Net.Sockets;

namespace Horizon.Ingest;

/// <summary>
/// Claims a UDP port for one Horizon process. The receive loops share their port through
/// SO_REUSEPORT, which the kernel grants to any process of the same user: a second instance would
/// bind too and silently take half the traffic. Before binding, the port is probed with a socket
/// that does not share (it fails when anything holds the port), and a lock named after the port is
/// held for the listener's lifetime, so two instances starting together cannot both pass the
/// probe. The lock is an abstract Unix socket on Linux (released by the kernel when the process
/// dies, however it dies), a locked file elsewhere.
/// </summary>
public sealed class PortLock : IDisposable
{
    private readonly IDisposable _held;

    private PortLock(IDisposable held) => _held = held;

    /// <summary>Takes the lock for <paramref name="endpoint"/> (a bound port, not 0), or throws a
    /// <see cref="SocketException"/> (address in use) saying who holds it.</summary>
    public static PortLock Acquire(IPEndPoint endpoint)
    {
        var name = $"horizon-udp-{endpoint.Address}-{endpoint.Port}";
        if (OperatingSystem.IsLinux())
        {
            var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            try
            {
                socket.Bind(new UnixDomainSocketEndPoint("\0" + name));
                return new PortLock(socket);
            }
            catch (SocketException)
            {
                socket.Dispose();
                throw new SocketException((int)SocketError.AddressAlreadyInUse, $"udp://{endpoint} is held by another Horizon process");
            }
        }
        try
        {
            var file = new FileStream(Path.Combine(Path.GetTempPath(), name + ".lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.DeleteOnClose);
            return new PortLock(file);
        }
        catch (IOException)
        {
            throw new SocketException((int)SocketError.AddressAlreadyInUse, $"udp://{endpoint} is held by another Horizon process");
        }
    }

    /// <summary>Throws a <see cref="SocketException"/> when anything, sharing or not, holds the UDP
    /// port of <paramref name="endpoint"/>.</summary>
    public static void ProbeExclusive(IPEndPoint endpoint)
    {
        using var probe = new Socket(endpoint.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        probe.Bind(endpoint);
    }

    /// <inheritdoc />
    public void Dispose() => _held.Dispose();
}
