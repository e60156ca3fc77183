using Horizon.Analyzer;
using Horizon.Core.Series;
using Horizon.Core.Statsd;
using Horizon.Ingest;
using Horizon.Storage;
using Horizon.Web;

namespace Horizon;

/// <summary>Every settings record, bound from configuration and checked before anything starts.</summary>
public sealed record HorizonOptions(
    StoreOptions Store,
    SeriesOptions Series,
    WriterOptions Writer,
    RoombaOptions Roomba,
    ListenerOptions Listeners,
    StatsdOptions Statsd,
    IngestOptions Ingest,
    AnalyzerOptions Analyzer,
    WebOptions Web,
    Horizon.Storage.Events.EventOptions Events,
    Horizon.Storage.Forwarding.ForwardOptions Forward,
    Horizon.Ingest.Logs.LogOptions Logs)
{
    /// <summary>Horizon's configuration sections and the record each binds to.</summary>
    public static readonly IReadOnlyDictionary<string, Type> Sections = new Dictionary<string, Type>(StringComparer.OrdinalIgnoreCase)
    {
        ["Store"] = typeof(StoreOptions),
        ["Series"] = typeof(SeriesOptions),
        ["Writer"] = typeof(WriterOptions),
        ["Roomba"] = typeof(RoombaOptions),
        ["Listeners"] = typeof(ListenerOptions),
        ["Statsd"] = typeof(StatsdOptions),
        ["Ingest"] = typeof(IngestOptions),
        ["Analyzer"] = typeof(AnalyzerOptions),
        ["Web"] = typeof(WebOptions),
        ["Events"] = typeof(Horizon.Storage.Events.EventOptions),
        ["Forward"] = typeof(Horizon.Storage.Forwarding.ForwardOptions),
        ["Logs"] = typeof(Horizon.Ingest.Logs.LogOptions),
    };

    /// <summary>Binds every section (lists replace their defaults rather than extend them), refuses
    /// keys Horizon does not know (<see cref="KnownSettings"/>) and validates every record: the
    /// only place settings are checked.</summary>
    public static HorizonOptions Bind(IConfiguration configuration)
    {
        KnownSettings.Check(configuration, Sections);
        T Section<T>(string name) where T : new() => configuration.GetSection(name).Get<T>() ?? new T();
        T[]? ExactList<T>(string key) => configuration.GetSection(key).Exists() ? configuration.GetSection(key).Get<T[]>() ?? [] : null;

        var series = Section<SeriesOptions>("Series");
        if (ExactList<string>("Series:SkipList") is { } skip)
        {
            series = series with { SkipList = skip };
        }
        var statsd = Section<StatsdOptions>("Statsd");
        if (ExactList<double>("Statsd:PercentThreshold") is { } pct)
        {
            statsd = statsd with { PercentThreshold = pct };
        }
        var analyzer = Section<AnalyzerOptions>("Analyzer");
        if (ExactList<string>("Analyzer:Skyline:Algorithms") is { } algorithms)
        {
            analyzer = analyzer with { Skyline = analyzer.Skyline with { Algorithms = algorithms } };
        }
        if (ExactList<Horizon.Algorithms.Detection.Detector>("Analyzer:Ensemble:Detectors") is { } detectors)
        {
            analyzer = analyzer with { Ensemble = analyzer.Ensemble with { Detectors = detectors } };
        }
        // One FULL_DURATION for Roomba and the analyzer, as in Skyline's settings.py.
        analyzer = analyzer with { Skyline = analyzer.Skyline with { FullDuration = series.FullDuration } };
        var options = new HorizonOptions(
            Section<StoreOptions>("Store"),
            series,
            Section<WriterOptions>("Writer"),
            Section<RoombaOptions>("Roomba"),
            Section<ListenerOptions>("Listeners"),
            statsd,
            Section<IngestOptions>("Ingest"),
            analyzer,
            Section<WebOptions>("Web"),
            Section<Horizon.Storage.Events.EventOptions>("Events"),
            Section<Horizon.Storage.Forwarding.ForwardOptions>("Forward"),
            Section<Horizon.Ingest.Logs.LogOptions>("Logs"));
        options.Validate();
        return options;
    }

    /// <summary>Throws with a message naming the setting when a value cannot work.</summary>
    public void Validate()
    {
        Store.Embedded.Validate();
        Series.Validate();
        Writer.Validate(Series);
        Roomba.Validate();
        Listeners.Validate();
        Statsd.Validate();
        Analyzer.Validate();
        Web.Validate();
        Events.Validate();
        Forward.Validate();
        Logs.Validate();
        if (Ingest.DrainTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentException("Ingest:DrainTimeout must be positive.");
        }
    }
}
