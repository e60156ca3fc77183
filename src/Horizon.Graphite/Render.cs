using System.Globalization;

namespace Horizon.Graphite;

/// <summary>Evaluates render targets the way graphite-web does, for the functions Grafana's Graphite
/// data source sends for plain series (<see cref="Functions"/>). An unknown function or a wrong
/// argument is a <see cref="RenderException"/> with a message for the caller.</summary>
public sealed class Render(ISeriesSource source)
{
    private static readonly FunctionParameter S = P("seriesList", "seriesList", true);
    private static readonly FunctionParameter Sm = P("seriesLists", "seriesList", true, multiple: true);

    /// <summary>The functions served, with their parameters as <c>/functions</c> describes them
    /// (name, type, required), and the group Grafana's editor files them under.</summary>
    public static readonly IReadOnlyList<FunctionInfo> Functions =
    [
        new("alias", "Alias", "Takes one metric or a wildcard seriesList and a string; the string is its name in the legend.", [S, P("newName", "string", true)]),
        new("aliasByNode", "Alias", "Names each series by the nodes of its path at the given positions (zero-indexed, negative from the end).", [S, P("nodes", "nodeOrTag", true, multiple: true)]),
        new("aliasByMetric", "Alias", "Names each series by its last node.", [S]),
        new("sumSeries", "Combine", "Adds the series together, point by point.", [Sm]),
        new("averageSeries", "Combine", "Averages the series, point by point.", [Sm]),
        new("maxSeries", "Combine", "The highest of the series at each point.", [Sm]),
        new("minSeries", "Combine", "The lowest of the series at each point.", [Sm]),
        new("group", "Combine", "Takes several series lists and returns them as one.", [Sm]),
        new("asPercent", "Combine", "Each series as a percentage of a total: the sum of the list, a number, or a series.", [S, P("total", "any", false)]),
        new("scale", "Transform", "Multiplies each value by a constant.", [S, P("factor", "float", true)]),
        new("offset", "Transform", "Adds a constant to each value.", [S, P("factor", "float", true)]),
        new("derivative", "Transform", "The change from one point to the next.", [S]),
        new("nonNegativeDerivative", "Transform", "The change from one point to the next, a counter's wrap or reset left out (or counted against maxValue).", [S, P("maxValue", "float", false), P("minValue", "float", false)]),
        new("perSecond", "Transform", "nonNegativeDerivative divided by the step: a counter's rate per second.", [S, P("maxValue", "float", false), P("minValue", "float", false)]),
        new("summarize", "Transform", "Values in buckets of an interval combined by sum (default), avg, min, max or last.", [S, P("intervalString", "interval", true), P("func", "aggFunc", false), P("alignToFrom", "boolean", false)]),
        new("timeShift", "Transform", "The series as it was an interval ago (\"1d\", \"-1h\"; \"+1h\" forward), drawn at today's times.", [S, P("timeShift", "interval", true), P("resetEnd", "boolean", false), P("alignDST", "boolean", false)]),
        new("movingAverage", "Calculate", "The average of the preceding window (a number of points, or an interval such as \"5min\").", [S, P("windowSize", "intOrInterval", true), P("xFilesFactor", "float", false)]),
        new("consolidateBy", "Special", "How values are combined when more points than maxDataPoints are drawn: average, sum, min, max, last.", [S, P("consolidationFunc", "string", true)]),
    ];

    private static FunctionParameter P(string name, string type, bool required, bool multiple = false) => new(name, type, required, multiple);

    /// <summary>The series a target yields over (<paramref name="from"/>, <paramref name="until"/>].</summary>
    public List<TimeSeries> Evaluate(Target target, long from, long until) => target switch
    {
        PathTarget path => [.. source.Fetch(path.Pattern, from, until)],
        FunctionCall call => Call(call, from, until),
        _ => throw new RenderException("a target must be a series or a function of series, not a bare value"),
    };

    private List<TimeSeries> Call(FunctionCall call, long from, long until)
    {
        var a = call.Arguments;
        switch (call.Name)
        {
            case "alias":
                return Each(Series(call, 0, from, until), s => s.With(Text(call, 1, "newName"), s.Values));
            case "aliasByNode":
            {
                var nodes = a.Skip(1).Select((_, i) => (int)Number(call, i + 1, "nodes")).ToArray();
                if (nodes.Length == 0)
                {
                    throw new RenderException("aliasByNode needs at least one node");
                }
                return Each(Series(call, 0, from, until), s =>
                {
                    var parts = FirstPath(s.Name).Split('.');
                    return s.With(string.Join('.', nodes.Select(n => n < 0 ? n + parts.Length : n).Where(n => n >= 0 && n < parts.Length).Select(n => parts[n])), s.Values);
                });
            }
            case "aliasByMetric":
                return Each(Series(call, 0, from, until), s => s.With(FirstPath(s.Name).Split('.')[^1], s.Values));
            case "sumSeries" or "sum":
                return Aggregate(call, "sum", "sumSeries", from, until);
            case "averageSeries" or "avg":
                return Aggregate(call, "average", "averageSeries", from, until);
            case "maxSeries":
                return Aggregate(call, "max", "maxSeries", from, until);
            case "minSeries":
                return Aggregate(call, "min", "minSeries", from, until);
            case "group":
                return [.. a.SelectMany((_, i) => Series(call, i, from, until))];
            case "scale":
            {
                var factor = Number(call, 1, "factor");
                return Each(Series(call, 0, from, until), s => s.With($"scale({s.Name},{Format(factor)})", Map(s.Values, v => v * factor)));
            }
            case "offset":
            {
                var factor = Number(call, 1, "factor");
                return Each(Series(call, 0, from, until), s => s.With($"offset({s.Name},{Format(factor)})", Map(s.Values, v => v + factor)));
            }
            case "derivative":
                return Each(Series(call, 0, from, until), s => s.With($"derivative({s.Name})", Derivative(s.Values, null, null, nonNegative: false, 1)));
            case "nonNegativeDerivative":
            {
                var (max, min) = (Optional(call, 1, "maxValue"), Optional(call, 2, "minValue"));
                return Each(Series(call, 0, from, until), s => s.With($"nonNegativeDerivative({s.Name})", Derivative(s.Values, max, min, nonNegative: true, 1)));
            }
            case "perSecond":
            {
                var (max, min) = (Optional(call, 1, "maxValue"), Optional(call, 2, "minValue"));
                return Each(Series(call, 0, from, until), s => s.With($"perSecond({s.Name})", Derivative(s.Values, max, min, nonNegative: true, s.Step)));
            }
            case "summarize":
                return Summarize(call, from, until);
            case "timeShift":
                return TimeShift(call, from, until);
            case "movingAverage":
                return MovingAverage(call, from, until);
            case "asPercent":
                return AsPercent(call, from, until);
            case "consolidateBy":
            {
                var how = Text(call, 1, "consolidationFunc");
                if (how is not ("average" or "avg" or "sum" or "min" or "max" or "last"))
                {
                    throw new RenderException($"consolidateBy takes average, sum, min, max or last, not {how}");
                }
                return Each(Series(call, 0, from, until), s =>
                {
                    var result = s.With($"consolidateBy({s.Name},\"{how}\")", s.Values);
                    result.ConsolidateBy = how;
                    return result;
                });
            }
            default:
                throw new RenderException($"unknown function {call.Name} (served: {string.Join(", ", Functions.Select(f => f.Name))})");
        }
    }

    private List<TimeSeries> Aggregate(FunctionCall call, string how, string name, long from, long until)
    {
        var all = call.Arguments.SelectMany((_, i) => Series(call, i, from, until)).ToList();
        if (all.Count == 0)
        {
            return [];
        }
        var label = $"{name}({string.Join(',', all.Select(s => s.PathExpression).Distinct(StringComparer.Ordinal))})";
        var result = Combine(all, label, how);
        result.Tags["aggregatedBy"] = how == "average" ? "average" : how;
        return [result];
    }

    /// <summary>Several series combined point by point, after graphite-web's normalize.</summary>
    private static TimeSeries Combine(IReadOnlyList<TimeSeries> series, string name, string how)
    {
        var (columns, start, end, step) = Normalize(series);
        var values = new double[columns.Max(c => c.Length)];
        var row = new double[columns.Count];
        for (var i = 0; i < values.Length; i++)
        {
            for (var j = 0; j < columns.Count; j++)
            {
                row[j] = i < columns[j].Length ? columns[j][i] : double.NaN;
            }
            values[i] = TimeSeries.Aggregate(row, how);
        }
        return new TimeSeries(name, start, step, values, name, end);
    }

    /// <summary>graphite-web's normalize: each series' values consolidated to the least common
    /// multiple of the steps (in groups from its first value), lined up by position from the
    /// earliest start; the end is the latest, less what does not fill a step.</summary>
    private static (List<double[]> Columns, long Start, long End, long Step) Normalize(IReadOnlyList<TimeSeries> series)
    {
        var step = series.Select(s => s.Step).Aggregate(Lcm);
        var columns = series.Select(s => TimeSeries.Grouped(s.Values, (int)(step / s.Step), s.ConsolidateBy)).ToList();
        var start = series.Min(s => s.Start);
        var end = series.Max(s => s.End);
        return (columns, start, end - ((end - start) % step), step);
    }

    private List<TimeSeries> Summarize(FunctionCall call, long from, long until)
    {
        var interval = Interval(call, 1, "intervalString");
        if (interval <= 0)
        {
            throw new RenderException("summarize's interval must be positive");
        }
        var how = call.Arguments.Count > 2 || call.Named.ContainsKey("func") ? Text(call, 2, "func") : "sum";
        if (how is not ("sum" or "total" or "avg" or "average" or "min" or "max" or "last" or "count"))
        {
            throw new RenderException($"summarize's func is sum, avg, min, max, last or count, not {how}");
        }
        var alignToFrom = Flag(call, 3, "alignToFrom", false);
        var intervalText = Text(call, 1, "intervalString");
        return Each(Series(call, 0, from, until), s =>
        {
            // Buckets from the series' start (alignToFrom) or the interval boundary before it, to
            // the boundary after its end; each combines the values timed within it.
            var first = alignToFrom ? s.Start : s.Start - Mod(s.Start, interval);
            var last = alignToFrom ? s.End : s.End - Mod(s.End, interval) + interval;
            var values = new List<double>();
            var listed = (int)Math.Min(s.Values.LongLength, Math.Max(0, (s.End - s.Start + s.Step - 1) / s.Step));
            var i = 0;
            long bucket;
            for (bucket = first; bucket < last; bucket += interval)
            {
                var lo = i;
                while (i < listed && s.Start + (i * s.Step) < bucket + interval)
                {
                    i++;
                }
                values.Add(TimeSeries.Aggregate(s.Values.AsSpan(lo, i - lo), how));
            }
            var name = $"summarize({s.Name}, \"{intervalText}\", \"{how}\"{(alignToFrom ? ", true" : "")})";
            return new TimeSeries(name, first, interval, [.. values], s.PathExpression, alignToFrom ? bucket : last);
        });
    }

    private List<TimeSeries> TimeShift(FunctionCall call, long from, long until)
    {
        var text = Text(call, 1, "timeShift");
        var signed = text.Length > 0 && char.IsAsciiDigit(text[0]) ? "-" + text : text;
        if (GraphiteTime.Offset(signed) is not { } delta)
        {
            throw new RenderException($"timeShift's interval is like \"1d\", \"-1h\" or \"+30min\", not \"{text}\"");
        }
        var resetEnd = Flag(call, 2, "resetEnd", true);
        // Drawn from where the unshifted series start, as graphite-web draws it.
        if (Series(call, 0, from, until) is not [var unshifted, ..])
        {
            return [];
        }
        return Each(Series(call, 0, from + delta, until + delta), s =>
            new TimeSeries($"timeShift({s.Name}, \"{signed}\")", unshifted.Start, s.Step, s.Values, s.PathExpression,
                resetEnd ? unshifted.End : s.End - s.Start + unshifted.Start));
    }

    private List<TimeSeries> MovingAverage(FunctionCall call, long from, long until)
    {
        var window = Argument(call, 1, "windowSize");
        var xff = Optional(call, 2, "xFilesFactor") ?? 0;
        // The window before the first point comes from before `from`: graphite-web evaluates the
        // series again from that much earlier and starts the result that much later.
        var preview = window switch
        {
            NumberArgument n when n.Value >= 1 => Series(call, 0, from, until) is { Count: > 0 } plain ? plain.Max(s => s.Step) * (long)n.Value : 0,
            StringArgument t when GraphiteTime.Offset(t.Value) is { } seconds && seconds != 0 => Math.Abs(seconds),
            _ => throw new RenderException("movingAverage's windowSize is a number of points (at least 1) or an interval such as \"5min\""),
        };
        var label = window is StringArgument text ? $"\"{text.Value}\"" : ((NumberArgument)window).Text;
        return Each(Series(call, 0, from - preview, until), s =>
        {
            var points = window is NumberArgument n ? (int)n.Value : (int)(preview / s.Step);
            var values = new double[Math.Max(0, s.Values.Length - points)];
            for (var i = points; i < s.Values.Length; i++)
            {
                var span = s.Values.AsSpan(i - points, points);
                var known = 0;
                foreach (var v in span)
                {
                    known += double.IsNaN(v) ? 0 : 1;
                }
                values[i - points] = known > 0 && known >= xff * points ? TimeSeries.Aggregate(span, "average") : double.NaN;
            }
            return new TimeSeries($"movingAverage({s.Name},{label})", s.Start + preview, s.Step, values, s.PathExpression, s.End);
        });
    }

    private List<TimeSeries> AsPercent(FunctionCall call, long from, long until)
    {
        var series = Series(call, 0, from, until);
        var total = call.Arguments.Count > 1 ? call.Arguments[1] : call.Named.GetValueOrDefault("total");
        if (series.Count == 0)
        {
            return [];
        }
        switch (total)
        {
            case null or NoneArgument:
            {
                var (columns, _, _, _) = Normalize(series);
                var sums = Combine(series, "", "sum").Values;
                var label = $"sumSeries({string.Join(',', series.Select(s => s.PathExpression).Distinct(StringComparer.Ordinal))})";
                return [.. series.Select((s, i) => new TimeSeries($"asPercent({s.Name},{label})", s.Start, s.Step, Percent(columns[i], sums), s.PathExpression, s.End))];
            }
            case NumberArgument n:
            {
                var totals = Enumerable.Repeat(n.Value, series[0].Values.Length).ToArray();
                return Each(series, s => s.With($"asPercent({s.Name},{PythonNumber(n)})", Percent(s.Values, totals)));
            }
            default:
            {
                var totals = Evaluate(total, from, until);
                if (totals.Count != 1 && totals.Count != series.Count)
                {
                    throw new RenderException($"asPercent's total is one series or as many as the list ({series.Count}); it matched {totals.Count}");
                }
                if (totals.Count == series.Count)
                {
                    // Paired by name, as graphite-web pairs them.
                    return [.. series.OrderBy(s => s.Name, StringComparer.Ordinal).Zip(totals.OrderBy(t => t.Name, StringComparer.Ordinal), (s, t) =>
                    {
                        var (columns, start, end, step) = Normalize([s, t]);
                        return new TimeSeries($"asPercent({s.Name},{t.Name})", start, step, Percent(columns[0], columns[1]), s.PathExpression, end);
                    })];
                }
                var (all, _, _, _) = Normalize([.. series, totals[0]]);
                return [.. series.Select((s, i) => new TimeSeries($"asPercent({s.Name},{totals[0].Name})", s.Start, s.Step, Percent(all[i], all[^1]), s.PathExpression, s.End))];
            }
        }
    }

    // Each value as a percentage of the total at its position (missing where either is, or the total is 0).
    private static double[] Percent(double[] values, double[] totals)
    {
        var result = new double[Math.Max(values.Length, totals.Length)];
        for (var i = 0; i < result.Length; i++)
        {
            var (v, t) = (i < values.Length ? values[i] : double.NaN, i < totals.Length ? totals[i] : double.NaN);
            result[i] = double.IsNaN(v) || double.IsNaN(t) || t == 0 ? double.NaN : v / t * 100;
        }
        return result;
    }

    // Graphite's delta: a missing value starts over; a counter that went down is a wrap (counted
    // against maxValue), a reset (counted from minValue), or nothing.
    private static double[] Derivative(double[] values, double? maxValue, double? minValue, bool nonNegative, long per)
    {
        var result = new double[values.Length];
        var previous = double.NaN;
        for (var i = 0; i < values.Length; i++)
        {
            var v = values[i];
            var delta = double.NaN;
            if ((maxValue is { } hi && v > hi) || (minValue is { } lo && v < lo))
            {
                previous = double.NaN;
                result[i] = double.NaN;
                continue;
            }
            if (!double.IsNaN(v) && !double.IsNaN(previous))
            {
                delta = !nonNegative || v >= previous ? v - previous
                    : maxValue is { } max ? max + 1 + v - previous
                    : minValue is { } min ? v - min
                    : double.NaN;
            }
            result[i] = per == 1 ? delta : Math.Round(delta / per, 6);
            previous = v;
        }
        return result;
    }

    private List<TimeSeries> Series(FunctionCall call, int index, long from, long until)
    {
        var argument = Argument(call, index, "seriesList");
        return argument is PathTarget or FunctionCall ? Evaluate(argument, from, until)
            : throw new RenderException($"argument {index + 1} of {call.Name} must be a series list");
    }

    private static Target Argument(FunctionCall call, int index, string name) =>
        index < call.Arguments.Count ? call.Arguments[index]
        : call.Named.TryGetValue(name, out var named) ? named
        : throw new RenderException($"{call.Name} needs its {name} argument");

    private static double Number(FunctionCall call, int index, string name) => Argument(call, index, name) switch
    {
        NumberArgument n => n.Value,
        var other => throw new RenderException($"{call.Name}'s {name} must be a number, not {Describe(other)}"),
    };

    private static double? Optional(FunctionCall call, int index, string name) =>
        index < call.Arguments.Count || call.Named.ContainsKey(name)
            ? Argument(call, index, name) is NoneArgument ? null : Number(call, index, name)
            : null;

    private static string Text(FunctionCall call, int index, string name) => Argument(call, index, name) switch
    {
        StringArgument s => s.Value,
        var other => throw new RenderException($"{call.Name}'s {name} must be a quoted string, not {Describe(other)}"),
    };

    private static bool Flag(FunctionCall call, int index, string name, bool otherwise) =>
        index < call.Arguments.Count || call.Named.ContainsKey(name)
            ? Argument(call, index, name) switch
            {
                BoolArgument b => b.Value,
                NumberArgument n => n.Value != 0,
                var other => throw new RenderException($"{call.Name}'s {name} must be true or false, not {Describe(other)}"),
            }
            : otherwise;

    private static long Interval(FunctionCall call, int index, string name)
    {
        var text = Text(call, index, name);
        return GraphiteTime.Offset(text) is { } seconds ? Math.Abs(seconds)
            : throw new RenderException($"{call.Name}'s {name} is an interval such as \"1h\" or \"10min\", not \"{text}\"");
    }

    private static string Describe(Target target) => target switch
    {
        PathTarget p => p.Pattern,
        FunctionCall c => c.Text,
        NumberArgument n => n.Text,
        StringArgument s => $"\"{s.Value}\"",
        BoolArgument b => b.Value ? "true" : "false",
        _ => "None",
    };

    // The first path expression in a series name ("a.b.c" in "scale(a.b.c,2)").
    private static string FirstPath(string name)
    {
        try
        {
            return First(Target.Parse(name)) ?? name;
        }
        catch (FormatException)
        {
            return name;
        }

        static string? First(Target t) => t switch
        {
            PathTarget p => p.Pattern,
            FunctionCall c => c.Arguments.Select(First).FirstOrDefault(x => x is not null),
            _ => null,
        };
    }

    private static List<TimeSeries> Each(List<TimeSeries> series, Func<TimeSeries, TimeSeries> change) => series.ConvertAll(s => change(s));

    private static double[] Map(double[] values, Func<double, double> f) => Array.ConvertAll(values, v => double.IsNaN(v) ? v : f(v));

    private static long Lcm(long a, long b) => a / Gcd(a, b) * b;

    private static long Gcd(long a, long b) => b == 0 ? a : Gcd(b, a % b);

    // Python's %g, as graphite-web names scale(x,10) and offset(x,0.5).
    private static string Format(double value) => value.ToString("G6", CultureInfo.InvariantCulture).ToLowerInvariant();

    // Python's str() of the number as graphite-web parsed it: an int as written, a float with its point.
    private static string PythonNumber(NumberArgument n) =>
        n.Text.AsSpan().IndexOfAny(".eE") < 0 ? n.Value.ToString("R", CultureInfo.InvariantCulture)
        : n.Value.ToString("R", CultureInfo.InvariantCulture) is var r && r.AsSpan().IndexOfAny(".E") < 0 ? r + ".0" : r.Replace("E", "e", StringComparison.Ordinal);

    private static long Mod(long t, long step) => ((t % step) + step) % step;
}

/// <summary>A served function, described as graphite-web's <c>/functions</c> does.</summary>
public sealed record FunctionInfo(string Name, string Group, string Description, IReadOnlyList<FunctionParameter> Params);

/// <summary>One parameter of a served function.</summary>
public sealed record FunctionParameter(string Name, string Type, bool Required, bool Multiple = false);

/// <summary>A target that cannot be rendered, with the reason for the caller.</summary>
public sealed class RenderException(string message) : Exception(message);
