using System.Diagnostics;
using System.Globalization;
using System.Text;
using Horizon.Algorithms.Detection;
using Horizon.Algorithms.Evaluation;
using Horizon.Nab;

const string Usage = """
    horizon-nab: runs detectors over NAB-layout labelled data, row by row as a live stream, and scores them

      horizon-nab [--data ../shared/nab] [--out nab-results] [--detectors skyline,ensemble,level,...]
                  [--combination gate|mean|median|max] [--window 1440] [--full-duration 2592000] [--score-only]
                  [--set Name=value,...] [--explain] [--held-out] [--cv category] [--threshold T] [--teach T]

      --data       a folder in NAB's layout: data/<category>/<file>.csv and combined_windows.json
      --out        results root: <out>/<detector>/<category>/<detector>_<file>.csv (NAB's results layout),
                   and <out>/scores.md with the tables printed at the end
      --detectors  configurations to run (default: all): skyline (Skyline's nine algorithms, score =
                   yes votes / 9), ensemble (Horizon's ensemble), and each Horizon detector alone:
                   level, change, holt_winters, regression, autoregressive, sustained, volatility
      --score-only score results already in --out instead of running the detectors
      --set        any other ensemble setting (EnsembleSettings' property names), e.g.
                   --set NoveltyPoints=500,RecurrenceDays=0,Detectors=level+holt_winters;
                   values separated by | are alternatives: the ensemble runs once per combination
                   (ensemble@NoveltyPoints=0,Refractory=60, ...: a name that is also its results folder), and --cv picks among them
      --explain    add a column `explanation` to the ensemble's results: the score before the novelty
                   filter, each detector's score and reason, screened / seasonal / recurring / flatline
      --held-out   also score each file at the threshold optimal over the other files (leave one
                   file out), so no file's labels choose its own threshold
      --cv category
                   also score leave one category out: each category at the threshold optimal over
                   the other categories, and, over every configuration run, the configuration and
                   threshold that score best on the other categories applied to the one held out
      --threshold  run the ensemble with this Threshold (its refractory period and pre-screen work
                   from it) and also score every configuration at it, not only at the swept optimum:
                   what an operating point quieter than NAB's costs (docs/DETECTION.md)
      --teach      replay "not anomalous" feedback at this threshold: every false alarm shown is
                   marked, and later findings that moved like a marked one are not shown; prints
                   the false alarms and the labelled findings and windows before and after
    """;

try
{
    var options = Args.Parse(args);
    if (options.ContainsKey("help"))
    {
        Console.WriteLine(Usage);
        return 0;
    }
    var data = options.GetValueOrDefault("data", Path.Combine("..", "shared", "nab"));
    var output = options.GetValueOrDefault("out", "nab-results");
    var names = options.GetValueOrDefault("detectors", "skyline,ensemble," + string.Join(',', DetectorNames.All))
        .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
    var settings = new EnsembleSettings
    {
        Combination = Enum.Parse<Combination>(options.GetValueOrDefault("combination", "gate"), ignoreCase: true),
        Window = int.Parse(options.GetValueOrDefault("window", "1440"), CultureInfo.InvariantCulture),
    };
    double? threshold = options.TryGetValue("threshold", out var t) ? double.Parse(t, CultureInfo.InvariantCulture) : null;
    if (threshold is { } fixedThreshold)
    {
        settings = settings with { Threshold = fixedThreshold };
    }
    var variants = Settings.Expand(options.GetValueOrDefault("set", ""));
    var fullDuration = long.Parse(options.GetValueOrDefault("full-duration", "2592000"), CultureInfo.InvariantCulture);
    var configurations = names.SelectMany(n => n == "ensemble" && variants.Count > 1
            ? variants.Select(v => Configuration.Create(n, Settings.Apply(settings, v), fullDuration) with { Name = $"ensemble@{v}" })
            : [Configuration.Create(n, Settings.Apply(settings, variants[0]), fullDuration)])
        .ToList();
    var crossValidation = options.GetValueOrDefault("cv");
    if (crossValidation is not (null or "category"))
    {
        throw new ArgumentException($"--cv {crossValidation}: only 'category' (leave one category out) is known");
    }

    var files = NabCorpus.Load(data);
    Console.Error.WriteLine($"{files.Count} files, {files.Sum(f => f.Values.Length):N0} rows, {files.Sum(f => f.Windows.Count)} windows in {data}");
    var scores = new double[configurations.Count][][];
    if (options.ContainsKey("score-only"))
    {
        for (var c = 0; c < configurations.Count; c++)
        {
            var name = configurations[c].Name;
            scores[c] = [.. files.Select(f => NabCorpus.ReadScores(Path.Combine(output, name, f.Category, $"{name}_{f.Name}.csv"), f))];
        }
    }
    else
    {
        var watch = Stopwatch.StartNew();
        Runner.Run(files, configurations, scores, output, options.ContainsKey("explain"));
        Console.Error.WriteLine($"ran {configurations.Count} configurations in {watch.Elapsed.TotalSeconds:F1} s");
    }

    var report = Report.Build(files, configurations.Select(c => c.Name).ToList(), scores, options.ContainsKey("held-out"), threshold, crossValidation is not null);
    if (options.TryGetValue("teach", out var teach))
    {
        var at = double.Parse(teach, CultureInfo.InvariantCulture);
        report += string.Concat(configurations.Select((c, i) => "\n" + Teach.Replay(files, scores[i], at, c.Name)));
    }
    Console.WriteLine(report);
    Directory.CreateDirectory(output);
    File.WriteAllText(Path.Combine(output, "scores.md"), report);
    return 0;
}
catch (Exception e) when (e is ArgumentException or IOException or InvalidDataException or FormatException)
{
    Console.Error.WriteLine("horizon-nab: " + e.Message);
    Console.Error.WriteLine(Usage);
    return 2;
}

namespace Horizon.Nab
{
    internal static class Args
    {
        public static Dictionary<string, string> Parse(string[] args)
        {
            var options = new Dictionary<string, string>(StringComparer.Ordinal);
            for (var i = 0; i < args.Length; i++)
            {
                var arg = args[i];
                if (arg is "-h" or "--help")
                {
                    options["help"] = "";
                    continue;
                }
                if (!arg.StartsWith("--", StringComparison.Ordinal))
                {
                    throw new ArgumentException($"unexpected argument '{arg}'");
                }
                var name = arg[2..];
                var eq = name.IndexOf('=', StringComparison.Ordinal);
                if (eq >= 0)
                {
                    options[name[..eq]] = name[(eq + 1)..];
                }
                else if (name is "score-only" or "explain" or "held-out")
                {
                    options[name] = "";
                }
                else if (i + 1 < args.Length)
                {
                    options[name] = args[++i];
                }
                else
                {
                    throw new ArgumentException($"--{name} needs a value");
                }
            }
            string[] known = ["help", "data", "out", "detectors", "combination", "window", "full-duration", "score-only", "set", "explain", "held-out", "cv", "threshold", "teach"];
            var unknown = options.Keys.Except(known).ToList();
            return unknown.Count == 0 ? options : throw new ArgumentException("unknown option(s): --" + string.Join(", --", unknown));
        }
    }

    internal static class Settings
    {
        /// <summary>Every combination of the alternatives in "Name=a|b,Other=c|d" as plain
        /// assignments ("Name=a,Other=c", ...); one (perhaps empty) when there are none.</summary>
        public static List<string> Expand(string assignments)
        {
            var combinations = new List<string> { "" };
            foreach (var assignment in assignments.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                var eq = assignment.IndexOf('=', StringComparison.Ordinal);
                var alternatives = eq > 0 ? assignment[(eq + 1)..].Split('|') : [assignment[(eq + 1)..]];
                combinations = [.. from c in combinations
                                   from a in alternatives
                                   select (c.Length == 0 ? "" : c + ",") + (eq > 0 ? assignment[..(eq + 1)] : "") + a];
            }
            return combinations;
        }

        /// <summary>Applies "Name=value,..." to a copy of the settings (numbers and enums).</summary>
        public static EnsembleSettings Apply(EnsembleSettings settings, string assignments)
        {
            var copy = settings with { };
            foreach (var assignment in assignments.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                var eq = assignment.IndexOf('=', StringComparison.Ordinal);
                if (eq > 0 && assignment[..eq] == nameof(EnsembleSettings.Detectors))
                {
                    var list = new List<Detector>();
                    foreach (var name in assignment[(eq + 1)..].Split('+'))
                    {
                        list.Add(DetectorNames.TryParse(name, out var d) ? d : throw new ArgumentException($"--set: unknown detector '{name}'"));
                    }
                    copy = copy with { Detectors = list };
                    continue;
                }
                var property = eq > 0 ? typeof(EnsembleSettings).GetProperty(assignment[..eq]) : null;
                if (property is null || !property.CanWrite || !(property.PropertyType.IsPrimitive || property.PropertyType.IsEnum))
                {
                    throw new ArgumentException($"--set: '{assignment}' is not Name=value for a numeric or enum setting of the ensemble");
                }
                var text = assignment[(eq + 1)..];
                property.SetValue(copy, property.PropertyType.IsEnum
                    ? Enum.Parse(property.PropertyType, text, ignoreCase: true)
                    : Convert.ChangeType(text, property.PropertyType, CultureInfo.InvariantCulture));
            }
            return copy;
        }
    }

    internal static class Runner
    {
        public static void Run(IReadOnlyList<NabFile> files, IReadOnlyList<Configuration> configurations, double[][][] scores, string output, bool explain)
        {
            for (var c = 0; c < configurations.Count; c++)
            {
                scores[c] = new double[files.Count][];
            }
            var jobs = (from c in Enumerable.Range(0, configurations.Count) from f in Enumerable.Range(0, files.Count) select (c, f))
                .OrderByDescending(j => files[j.f].Values.Length).ToList();
            var totalRows = (long)jobs.Sum(j => files[j.f].Values.Length);
            long doneRows = 0;
            var progress = new Progress(totalRows);
            Parallel.ForEach(jobs, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, job =>
            {
                var (c, f) = job;
                var file = files[f];
                var explanations = explain ? new string[file.Values.Length] : null;
                var result = configurations[c].NewStream().Score(file, explanations);
                scores[c][f] = result;
                Write(Path.Combine(output, configurations[c].Name), configurations[c].Name, file, result, explanations);
                progress.Report(Interlocked.Add(ref doneRows, file.Values.Length));
            });
            progress.Done();
        }

        private static void Write(string root, string name, NabFile file, double[] result, string[]? explanations)
        {
            var dir = Path.Combine(root, file.Category);
            Directory.CreateDirectory(dir);
            var text = new StringBuilder(explanations is null ? "timestamp,value,anomaly_score,label\n" : "timestamp,value,anomaly_score,label,explanation\n");
            var window = 0;
            for (var i = 0; i < result.Length; i++)
            {
                var ts = file.Timestamps[i];
                while (window < file.Windows.Count && file.Windows[window].End < ts)
                {
                    window++;
                }
                var label = window < file.Windows.Count && file.Windows[window].Start <= ts ? 1 : 0;
                text.Append(CultureInfo.InvariantCulture, $"{file.TimestampText[i]},{file.Values[i]:R},{result[i]:R},{label}");
                text.Append(explanations is null ? "\n" : $",\"{explanations[i]}\"\n");
            }
            File.WriteAllText(Path.Combine(dir, $"{name}_{file.Name}.csv"), text.ToString());
        }
    }

    internal sealed class Progress(long total)
    {
        private readonly Stopwatch _watch = Stopwatch.StartNew();
        private long _lastTick;

        public void Report(long done)
        {
            var now = _watch.ElapsedMilliseconds;
            if (now - Interlocked.Read(ref _lastTick) < 250 && done < total)
            {
                return;
            }
            Interlocked.Exchange(ref _lastTick, now);
            var fraction = (double)done / total;
            var bar = new string('#', (int)(fraction * 40)).PadRight(40, '.');
            var eta = fraction > 0 ? (now / fraction - now) / 1000 : 0;
            lock (this)
            {
                Console.Error.Write($"\r[{bar}] {fraction,6:P1}  {done:N0}/{total:N0} rows  {now / 1000.0:F0} s elapsed, ~{eta:F0} s left ");
            }
        }

        public void Done()
        {
            Report(total);
            Console.Error.WriteLine();
        }
    }
}
