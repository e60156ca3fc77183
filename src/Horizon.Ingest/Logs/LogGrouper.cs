using System.Text;
using Horizon.Core.Logs;

namespace Horizon.Ingest.Logs;

/// <summary>The per-line work of the log pipeline, on its one thread: the line's source found (or
/// made, up to <see cref="LogOptions.MaxSources"/>), its text decoded and its severity read when
/// the transport gave none, the line grouped into a template of its source (Drain), counted, and
/// kept in the tail. No allocation per line once sources and templates exist (a template's latest
/// sample line is copied once per interval).</summary>
public sealed class LogGrouper(LogOptions options, LogMetrics metrics, LogTail tail)
{
    private readonly char[] _chars = new char[options.MaxLineLength];

    /// <summary>The bound on templates over all sources.</summary>
    public TemplateBudget Budget { get; } = new(options.MaxTemplates);

    /// <summary>The sources, by name.</summary>
    public Dictionary<string, LogSource> Sources { get; } = new(StringComparer.Ordinal);

    /// <summary>Every template of every source.</summary>
    public List<LogTemplateState> Templates { get; } = [];

    /// <summary>Adds a restored template.</summary>
    public void Add(LogTemplateState state)
    {
        state.Source.Templates.Add(state);
        Templates.Add(state);
    }

    /// <summary>The source of that name, made if it is new.</summary>
    public LogSource SourceNamed(string name, long firstSeen)
    {
        if (!Sources.TryGetValue(name, out var source))
        {
            source = new LogSource(name, new TemplateMiner(name, options.Depth, options.Similarity, maxTemplates: options.MaxTemplates, budget: Budget), firstSeen);
            Sources[name] = source;
        }
        return source;
    }

    /// <summary>Groups every line of a block.</summary>
    public void Group(LogBlock block)
    {
        Span<char> sourceName = stackalloc char[64];
        var lookup = Sources.GetAlternateLookup<ReadOnlySpan<char>>();
        for (var i = 0; i < block.Count; i++)
        {
            ref readonly var line = ref block.Lines[i];
            var n = LogSourceNames.Sanitise(block.Source(line), sourceName);
            ReadOnlySpan<char> name = n == 0 ? "unknown" : sourceName[..n];
            if (!lookup.TryGetValue(name, out var source))
            {
                source = Sources.Count >= options.MaxSources ? SourceNamed("other", line.TimeMs / 1000) : SourceNamed(name.ToString(), line.TimeMs / 1000);
            }
            var message = block.Message(line);
            var chars = _chars.AsSpan(0, Encoding.UTF8.GetChars(message, _chars));
            var severity = line.Severity == LogSeverity.Unknown ? LogSeverities.Detect(chars) : line.Severity;
            var index = source.Miner.Add(chars, out var created);
            LogTemplateState? state = null;
            if (index < 0)
            {
                metrics.Unmatched.Inc();
            }
            else
            {
                if (created)
                {
                    var template = source.Miner.Templates[index];
                    state = new LogTemplateState(source, template, options.SeriesPrefix + source.Name + "." + template.Id, line.TimeMs / 1000)
                    {
                        FirstSample = chars.ToString(),
                        IsNew = true,
                    };
                    Add(state);
                }
                state ??= source.Templates[index];
                if (state.Interval++ == 0)
                {
                    state.LatestSample = created ? state.FirstSample : chars.ToString();
                    state.Dirty = true;
                }
                state.LastSeenMs = line.TimeMs;
                if (severity < state.Severity)
                {
                    state.Severity = severity;
                    state.Dirty = true;
                }
                if (state.Template.Changed)
                {
                    state.Template.Changed = false;
                    state.Dirty = true;
                }
            }
            tail.Append(message, severity, line.TimeMs, source, state);
        }
    }
}
