using System.Reflection;
using System.Runtime.InteropServices;

namespace Horizon;

/// <summary>What this build is: <c>horizon --version</c>, the <c>horizon_build_info</c> metric
/// and <c>/api/status</c> say it.</summary>
public static class BuildInfo
{
    private static readonly string Informational =
        typeof(BuildInfo).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0";

    /// <summary>The release (<c>Version</c> in Directory.Build.props).</summary>
    public static string Version { get; } = Informational.Split('+')[0];

    /// <summary>The git commit it was built from (the SDK's SourceRevisionId), or "unknown".</summary>
    public static string Commit { get; } = Informational.Contains('+', StringComparison.Ordinal) ? Informational.Split('+')[1] : "unknown";

    /// <summary>The .NET runtime it runs on.</summary>
    public static string Runtime { get; } = RuntimeInformation.FrameworkDescription;

    /// <summary>One line: <c>horizon 0.9.0 (commit 1a2b3c4d5e6f, .NET 10.0.1)</c>.</summary>
    public static string Line => $"horizon {Version} (commit {(Commit.Length > 12 ? Commit[..12] : Commit)}, {Runtime})";

    /// <summary>Exports <c>horizon_build_info{version,commit,runtime} 1</c>.</summary>
    public static void Register(Prometheus.CollectorRegistry registry) =>
        Prometheus.Metrics.WithCustomRegistry(registry)
            .CreateGauge("horizon_build_info", "Always 1; the labels say which build runs.", "version", "commit", "runtime")
            .WithLabels(Version, Commit, Runtime).Set(1);
}
