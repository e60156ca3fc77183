using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Horizon.Fuzz;

/// <summary>
/// horizon-fuzz. Run plainly, it copies itself and Horizon's assemblies to a temporary folder,
/// instruments the copies with SharpFuzz (every branch of every <c>Horizon.*</c> type records its
/// edge), and runs that copy; the copy gives the instrumentation its edge map before any Horizon
/// code runs, then fuzzes each target in turn.
/// </summary>
public static class Program
{
    private const string Usage = """
        horizon-fuzz: coverage-guided fuzzing of Horizon's decoders

          horizon-fuzz [--target pickle,plaintext,statsd,msgpack,series,metadata] [--seconds 60]
                       [--corpus tests/fuzz-corpus] [--save] [--findings fuzz-findings] [--seed N] [--out table.md]

          Each target starts from its corpus folder (<corpus>/<target>/*), then mutates for the
          given seconds. Prints inputs tried, edges and corpus growth; exits 1 when any target
          crashed, broke a property or took over a second on an input (saved to --findings).
          --save adds the inputs that reached new edges to the corpus folders.
        """;

    private const string InstrumentedVariable = "HORIZON_FUZZ_INSTRUMENTED";

    /// <summary>The assemblies whose branches are measured.</summary>
    public static readonly string[] Instrumented = ["Horizon.Core.dll", "Horizon.Storage.dll", "Horizon.Algorithms.dll"];

    /// <summary>Entry point.</summary>
    public static unsafe int Main(string[] args)
    {
        if (args.Contains("-h") || args.Contains("--help"))
        {
            Console.WriteLine(Usage);
            return 0;
        }
        if (Environment.GetEnvironmentVariable(InstrumentedVariable) != "1")
        {
            return RunInstrumentedCopy(args);
        }
        // Before any instrumented method runs: it writes to this map.
        SharpFuzz.Common.Trace.SharedMem = (byte*)NativeMemory.AllocZeroed(CoverageFuzzer.MapSize);
        return Fuzz(args, SharpFuzz.Common.Trace.SharedMem);
    }

    private static int RunInstrumentedCopy(string[] args)
    {
        var copy = Path.Combine(Path.GetTempPath(), "horizon-fuzz-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(copy);
        try
        {
            foreach (var file in Directory.EnumerateFiles(AppContext.BaseDirectory))
            {
                File.Copy(file, Path.Combine(copy, Path.GetFileName(file)));
            }
            foreach (var assembly in Instrumented)
            {
                SharpFuzz.Fuzzer.Instrument(Path.Combine(copy, assembly), type => type.StartsWith("Horizon.", StringComparison.Ordinal), SharpFuzz.Options.Value);
            }
            var info = new ProcessStartInfo("dotnet") { UseShellExecute = false };
            info.ArgumentList.Add(Path.Combine(copy, "horizon-fuzz.dll"));
            foreach (var arg in args)
            {
                info.ArgumentList.Add(arg);
            }
            info.Environment[InstrumentedVariable] = "1";
            using var child = Process.Start(info) ?? throw new InvalidOperationException("dotnet did not start");
            child.WaitForExit();
            return child.ExitCode;
        }
        finally
        {
            Directory.Delete(copy, recursive: true);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static unsafe int Fuzz(string[] args, byte* map)
    {
        var targets = FuzzTargets.All.ToList();
        var seconds = 60.0;
        string? corpus = null, findings = "fuzz-findings", output = null;
        var save = false;
        var seed = Environment.TickCount;
        try
        {
            for (var i = 0; i < args.Length; i++)
            {
                string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
                switch (args[i])
                {
                    case "--target":
                        var names = Value().Split(',');
                        targets = [.. names.Select(n => FuzzTargets.All.FirstOrDefault(t => t.Name == n) ?? throw new ArgumentException($"no target '{n}'"))];
                        break;
                    case "--seconds": seconds = double.Parse(Value(), CultureInfo.InvariantCulture); break;
                    case "--corpus": corpus = Value(); break;
                    case "--findings": findings = Value(); break;
                    case "--seed": seed = int.Parse(Value(), CultureInfo.InvariantCulture); break;
                    case "--out": output = Value(); break;
                    case "--save": save = true; break;
                    default: throw new ArgumentException($"unknown argument '{args[i]}'");
                }
            }
        }
        catch (Exception e) when (e is ArgumentException or FormatException)
        {
            Console.Error.WriteLine($"horizon-fuzz: {e.Message}\n{Usage}");
            return 2;
        }
        corpus ??= Corpus.Find() ?? throw new InvalidOperationException("no tests/fuzz-corpus above the current directory: pass --corpus");
        Console.WriteLine($"horizon-fuzz: corpus {Path.GetFullPath(corpus)}, seed {seed}, {seconds:0.#} s per target");
        Console.WriteLine(FuzzSummary.Header);
        var summaries = new List<FuzzSummary>();
        foreach (var target in targets)
        {
            var fuzzer = new CoverageFuzzer(target, map, seed, findings, save ? corpus : null, Console.Out);
            var summary = fuzzer.Run(Corpus.Read(corpus, target.Name), TimeSpan.FromSeconds(seconds));
            summaries.Add(summary);
            Console.WriteLine(summary);
        }
        if (output is not null)
        {
            File.WriteAllText(output, $"{FuzzSummary.Header}\n{string.Join('\n', summaries)}\n");
        }
        var found = summaries.Sum(s => s.Findings);
        Console.WriteLine(found == 0 ? "no findings" : $"{found} findings, saved under {Path.GetFullPath(findings!)}");
        return found == 0 ? 0 : 1;
    }
}

/// <summary>The corpus kept in the repository: one folder of inputs per target.</summary>
public static class Corpus
{
    /// <summary>tests/fuzz-corpus in this directory or one above it, or null.</summary>
    public static string? Find()
    {
        foreach (var start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, "tests", "fuzz-corpus");
                if (Directory.Exists(candidate))
                {
                    return candidate;
                }
            }
        }
        return null;
    }

    /// <summary>A target's inputs, in a stable order.</summary>
    public static IEnumerable<byte[]> Read(string corpus, string target)
    {
        var dir = Path.Combine(corpus, target);
        return Directory.Exists(dir)
            ? Directory.EnumerateFiles(dir).Order(StringComparer.Ordinal).Select(File.ReadAllBytes)
            : [];
    }
}
