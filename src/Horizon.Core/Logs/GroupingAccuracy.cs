namespace Horizon.Core.Logs;

/// <summary>Grouping accuracy as the log-parsing benchmarks define it (Zhu et al., "Tools and
/// Benchmarks for Automated Log Parsing", ICSE-SEIP 2019, over the LogHub samples): a line is
/// parsed correctly when the set of lines grouped with it equals the set its true template has;
/// the accuracy is the share of such lines.</summary>
public static class GroupingAccuracy
{
    /// <summary>Groups <paramref name="lines"/> (message text and true template id) with a fresh
    /// miner and returns the accuracy and the number of templates made.</summary>
    public static (double Accuracy, int Templates) Measure(IReadOnlyList<(string Content, string Truth)> lines, TemplateMiner miner)
    {
        var predicted = new int[lines.Count];
        for (var i = 0; i < lines.Count; i++)
        {
            predicted[i] = miner.Add(lines[i].Content, out _);
        }
        return (Score(predicted, [.. lines.Select(l => l.Truth)]), miner.Templates.Count);
    }

    /// <summary>The accuracy of a grouping against the truth (any labels; equal labels, one group).</summary>
    public static double Score<TPredicted, TTruth>(IReadOnlyList<TPredicted> predicted, IReadOnlyList<TTruth> truth)
        where TPredicted : notnull
        where TTruth : notnull
    {
        if (predicted.Count != truth.Count)
        {
            throw new ArgumentException("One label of each kind per line.");
        }
        if (predicted.Count == 0)
        {
            return 1;
        }
        var truthSizes = truth.GroupBy(t => t).ToDictionary(g => g.Key, g => g.Count());
        var correct = 0;
        foreach (var group in Enumerable.Range(0, predicted.Count).GroupBy(i => predicted[i]))
        {
            var members = group.ToList();
            var first = truth[members[0]];
            // Correct when every line of the predicted group has one true template and that
            // template has no lines elsewhere.
            if (members.All(i => Equals(truth[i], first)) && truthSizes[first] == members.Count)
            {
                correct += members.Count;
            }
        }
        return (double)correct / predicted.Count;
    }

    /// <summary>Reads a LogHub <c>*_structured.csv</c>: the Content and EventId of each row.</summary>
    public static List<(string Content, string Truth)> ReadLogHub(TextReader csv)
    {
        var header = Fields(csv.ReadLine() ?? "");
        var content = header.IndexOf("Content");
        var eventId = header.IndexOf("EventId");
        if (content < 0 || eventId < 0)
        {
            throw new FormatException("A LogHub structured CSV has Content and EventId columns.");
        }
        var rows = new List<(string, string)>();
        while (csv.ReadLine() is { } line)
        {
            var fields = Fields(line);
            if (fields.Count > Math.Max(content, eventId))
            {
                rows.Add((fields[content], fields[eventId]));
            }
        }
        return rows;
    }

    // One CSV row (RFC 4180 quoting, no line breaks inside fields: LogHub has none).
    private static List<string> Fields(string line)
    {
        var fields = new List<string>();
        var field = new System.Text.StringBuilder();
        var quoted = false;
        for (var i = 0; i < line.Length; i++)
        {
            var c = line[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < line.Length && line[i + 1] == '"')
                {
                    field.Append('"');
                    i++;
                }
                else if (c == '"')
                {
                    quoted = false;
                }
                else
                {
                    field.Append(c);
                }
            }
            else if (c == '"')
            {
                quoted = true;
            }
            else if (c == ',')
            {
                fields.Add(field.ToString());
                field.Clear();
            }
            else
            {
                field.Append(c);
            }
        }
        fields.Add(field.ToString());
        return fields;
    }
}
