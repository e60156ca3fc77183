using System.Globalization;
using System.Text.Json;

namespace Horizon.Algorithms.Evaluation;

/// <summary>One labelled window: first and last timestamp, both inclusive (Unix seconds).</summary>
public readonly record struct NabWindow(long Start, long End);

/// <summary>One data file of a NAB-layout corpus.</summary>
public sealed class NabFile
{
    /// <summary>Category folder, e.g. realKnownCause.</summary>
    public required string Category { get; init; }

    /// <summary>File name without .csv, e.g. nyc_taxi.</summary>
    public required string Name { get; init; }

    /// <summary>The key NAB uses: category/file.csv.</summary>
    public string RelativePath => $"{Category}/{Name}.csv";

    /// <summary>Row timestamps, Unix seconds, in file order.</summary>
    public required long[] Timestamps { get; init; }

    /// <summary>Row values in file order.</summary>
    public required double[] Values { get; init; }

    /// <summary>The original timestamp text of each row (written back into results files).</summary>
    public required string[] TimestampText { get; init; }

    /// <summary>Labelled windows in time order.</summary>
    public required IReadOnlyList<NabWindow> Windows { get; init; }
}

/// <summary>
/// Reads a corpus in NAB's layout: <c>data/&lt;category&gt;/&lt;file&gt;.csv</c> (timestamp,value) and
/// <c>combined_windows.json</c> ({ "category/file.csv": [[start, end], ...] }).
/// </summary>
public static class NabCorpus
{
    private static readonly string[] TimeFormats = ["yyyy-MM-dd HH:mm:ss", "yyyy-MM-dd HH:mm:ss.FFFFFFF", "yyyy-MM-ddTHH:mm:ss", "yyyy-MM-ddTHH:mm:ss.FFFFFFF"];

    /// <summary>Loads every data file under <paramref name="root"/>, ordered by category and name.</summary>
    public static IReadOnlyList<NabFile> Load(string root)
    {
        var windowsPath = Path.Combine(root, "combined_windows.json");
        if (!File.Exists(windowsPath))
        {
            throw new FileNotFoundException($"Not a NAB-layout corpus: {windowsPath} is missing.", windowsPath);
        }
        var windows = JsonSerializer.Deserialize<Dictionary<string, string[][]>>(File.ReadAllText(windowsPath))
            ?? throw new InvalidDataException($"{windowsPath}: empty");
        var files = new List<NabFile>();
        foreach (var path in Directory.EnumerateFiles(Path.Combine(root, "data"), "*.csv", SearchOption.AllDirectories)
                     .Order(StringComparer.Ordinal))
        {
            var category = Path.GetFileName(Path.GetDirectoryName(path)!);
            var name = Path.GetFileNameWithoutExtension(path);
            var key = $"{category}/{name}.csv";
            var (timestamps, text, values) = ReadCsv(path);
            var fileWindows = windows.TryGetValue(key, out var w)
                ? w.Select(pair => new NabWindow(ParseTime(pair[0], key), ParseTime(pair[1], key))).ToList()
                : [];
            files.Add(new NabFile { Category = category, Name = name, Timestamps = timestamps, TimestampText = text, Values = values, Windows = fileWindows });
        }
        return files;
    }

    /// <summary>Parses NAB's "YYYY-MM-DD HH:MM:SS[.ffffff]" (UTC) into Unix seconds.</summary>
    public static long ParseTime(string text, string where) =>
        DateTime.TryParseExact(text, TimeFormats, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var time)
            ? new DateTimeOffset(time, TimeSpan.Zero).ToUnixTimeSeconds()
            : throw new InvalidDataException($"{where}: bad timestamp '{text}'");

    private static (long[] Timestamps, string[] Text, double[] Values) ReadCsv(string path)
    {
        var timestamps = new List<long>();
        var text = new List<string>();
        var values = new List<double>();
        using var reader = new StreamReader(path);
        var header = reader.ReadLine() ?? throw new InvalidDataException($"{path}: empty file");
        var columns = header.Split(',');
        var tsColumn = Array.IndexOf(columns, "timestamp");
        var valueColumn = Array.IndexOf(columns, "value");
        if (tsColumn < 0 || valueColumn < 0)
        {
            throw new InvalidDataException($"{path}: header must name timestamp and value columns, not '{header}'");
        }
        var line = 1;
        while (reader.ReadLine() is { } row)
        {
            line++;
            if (row.Length == 0)
            {
                continue;
            }
            var fields = row.Split(',');
            if (fields.Length <= Math.Max(tsColumn, valueColumn)
                || !double.TryParse(fields[valueColumn], NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
            {
                throw new InvalidDataException($"{path}:{line}: bad row '{row}'");
            }
            timestamps.Add(ParseTime(fields[tsColumn], $"{path}:{line}"));
            text.Add(fields[tsColumn]);
            values.Add(value);
        }
        return ([.. timestamps], [.. text], [.. values]);
    }

    /// <summary>Reads the anomaly_score column of a results file written for <paramref name="file"/>.</summary>
    public static double[] ReadScores(string path, NabFile file)
    {
        var lines = File.ReadAllLines(path);
        if (lines.Length == 0)
        {
            throw new InvalidDataException($"{path}: empty file");
        }
        var column = Array.IndexOf(lines[0].Split(','), "anomaly_score");
        if (column < 0)
        {
            throw new InvalidDataException($"{path}: no anomaly_score column");
        }
        var scores = lines.Skip(1).Where(l => l.Length > 0)
            .Select(l => double.Parse(l.Split(',')[column], NumberStyles.Float, CultureInfo.InvariantCulture)).ToArray();
        if (scores.Length != file.Values.Length)
        {
            throw new InvalidDataException($"{path}: {scores.Length} rows, but {file.RelativePath} has {file.Values.Length}");
        }
        return scores;
    }
}
