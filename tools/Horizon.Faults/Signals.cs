using System.Runtime.InteropServices;

namespace Horizon.Faults;

/// <summary>POSIX signals to child processes (Process.Kill only sends SIGKILL).</summary>
public static partial class Signals
{
    private const int SigTerm = 15;

    /// <summary>Sends SIGTERM: the process shuts down as it would under systemd or Kubernetes.</summary>
    public static void Terminate(int pid)
    {
        if (Kill(pid, SigTerm) != 0)
        {
            throw new InvalidOperationException($"kill({pid}, SIGTERM) failed: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
