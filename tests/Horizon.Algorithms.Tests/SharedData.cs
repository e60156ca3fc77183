namespace Horizon.Algorithms.Tests;

/// <summary>Finds ../shared beside the repository root (where CI puts it too).</summary>
public static class SharedData
{
    /// <summary>The shared folder.</summary>
    public static string Root { get; } = Find();

    private static string Find()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Horizon.sln")))
        {
            dir = dir.Parent;
        }
        if (dir?.Parent is null)
        {
            throw new InvalidOperationException("Horizon.sln not found above " + AppContext.BaseDirectory);
        }
        var shared = Path.Combine(dir.Parent.FullName, "shared");
        if (!Directory.Exists(shared))
        {
            throw new InvalidOperationException($"The shared data folder is missing: expected {shared} beside the repository.");
        }
        return shared;
    }
}
