namespace Horizon.Core;

/// <summary>Every key Horizon reads or writes in the store, in one place. Skyline's layout
/// (<c>metrics.&lt;name&gt;</c>, <c>metrics.unique_metrics</c>) is kept as Skyline has it, under a
/// configurable namespace (Skyline's FULL_NAMESPACE, <c>Series:FullNamespace</c>); Horizon's own keys
/// start with <c>horizon.</c>. A component or tool that needs a key name asks here.</summary>
public static class StoreKeys
{
    /// <summary>Skyline's FULL_NAMESPACE: the prefix of every series key, unless configured otherwise.</summary>
    public const string DefaultNamespace = "metrics.";

    /// <summary>The set of every series' name, under the namespace (Skyline's <c>unique_metrics</c>).
    /// Its members are full keys (<c>metrics.&lt;name&gt;</c>), as Skyline stores them.</summary>
    public static string UniqueMetrics(string fullNamespace = DefaultNamespace) => fullNamespace + "unique_metrics";

    /// <summary>One of the split name index's sets (<c>Series:NameIndex</c> Split or Both): the
    /// full keys whose hash slot mod 64 is <paramref name="part"/>. <c>horizon.names.{07}</c> under
    /// the default namespace, <c>horizon.names.&lt;namespace&gt;{07}</c> under another; the hash tag
    /// spreads the 64 over a cluster's masters.</summary>
    public static string NamePart(int part, string fullNamespace = DefaultNamespace) =>
        NamesPrefix(fullNamespace) + "{" + part.ToString("D2", System.Globalization.CultureInfo.InvariantCulture) + "}";

    /// <summary>Which name index the store's names are in (<c>skyline</c>, <c>split</c> or <c>both</c>):
    /// set by the first Horizon process on the store and by Roomba after it reconciled the index,
    /// so a process configured otherwise can say so.</summary>
    public static string NameIndexMark(string fullNamespace = DefaultNamespace) => NamesPrefix(fullNamespace) + "mode";

    // The split index's keys: horizon.names., with the namespace after it unless it is Skyline's.
    private static string NamesPrefix(string fullNamespace) =>
        "horizon.names." + (fullNamespace == DefaultNamespace ? "" : fullNamespace);

    /// <summary>A metric's series: msgpack [timestamp, value] pairs grown with APPEND.</summary>
    public static string Series(string name, string fullNamespace = DefaultNamespace) => fullNamespace + name;

    /// <summary>Prefix of each metric's long-term roll-ups (<c>horizon.rollup.&lt;name&gt;</c>, the
    /// layout of <c>RollupHistory.Serialize</c>), kept with a TTL by the analyzer in ensemble mode.</summary>
    public const string RollupPrefix = "horizon.rollup.";

    /// <summary>A metric's roll-up key.</summary>
    public static string Rollup(string name) => RollupPrefix + name;

    /// <summary>Hash of metric metadata: field = metric name, value = JSON (<c>MetricMetadata</c>).</summary>
    public const string Metadata = "horizon.metadata";

    /// <summary>A counter every metadata write increments (INCR): analyzers read <see cref="Metadata"/>
    /// again only when it moved.</summary>
    public const string MetadataVersion = "horizon.metadata.version";

    /// <summary>Hash of current anomalies: field = metric name, value = the finding's JSON.</summary>
    public const string Anomalies = "horizon.anomalies";

    /// <summary>List of findings, newest first, bounded.</summary>
    public const string AnomalyHistory = "horizon.anomalies.history";

    /// <summary>Hash of analyzer pass summaries: field = shard.</summary>
    public const string AnalyzerPasses = "horizon.analyzer.passes";

    /// <summary>Hash of incidents: field = incident id, value = its JSON (open and, for a while, resolved).</summary>
    public const string Incidents = "horizon.incidents";

    /// <summary>Sorted set of events (deploys and the like): member = the event's JSON
    /// <c>{id, when, what, tags, data}</c>, score = its time (Unix seconds).</summary>
    public const string Events = "horizon.events";

    /// <summary>Hash of deploy verdicts: field = the deploy event's id, value = JSON (<c>DeployVerdict</c>).</summary>
    public const string Deploys = "horizon.deploys";

    /// <summary>Hash of saved shapes ("collections" of known problems): field = id, value = JSON
    /// <c>{id, name, notes, created_at, created_by, metric, means}</c> (30 points).</summary>
    public const string Collections = "horizon.collections";

    /// <summary>Set of the ids of open incidents in <see cref="Incidents"/> (what analyzers take up).</summary>
    public const string IncidentsOpen = "horizon.incidents.open";

    /// <summary>Incremented by every analyzer's write to <see cref="Incidents"/>: another shard's
    /// analyzer takes the open incidents up again only when it moved.</summary>
    public const string IncidentsVersion = "horizon.incidents.version";

    /// <summary>A lock (a key with an expiry) an analyzer holds while it updates the incidents, so
    /// shards update them one at a time.</summary>
    public const string IncidentsLock = "horizon.incidents.lock";

    /// <summary>List of incident transitions (opened, joined, escalated, acknowledged, silenced, resolved), newest first, bounded.</summary>
    public const string IncidentHistory = "horizon.incidents.history";

    /// <summary>Hash of acknowledgements written through the API: field = incident id, value = JSON (by, at, comment).</summary>
    public const string IncidentAcknowledgements = "horizon.incidents.acks";

    /// <summary>Hash of silences written through the API: field = silence id, value = its JSON.</summary>
    public const string Silences = "horizon.silences";

    /// <summary>Hash of shapes taught "not anomalous": field = metric name, value = JSON list of
    /// <c>{id, metric, end_bin, means, at, by, incident}</c> (the half hour of minute means).</summary>
    public const string Profiles = "horizon.profiles";

    /// <summary>Incremented by every write to <see cref="Profiles"/>: analyzers read it again only when it moved.</summary>
    public const string ProfilesVersion = "horizon.profiles.version";

    /// <summary>Hash: each analyzer in <c>Analyzer:Shard=auto</c> mode to its lease, JSON
    /// <c>{member, host, pid, started_at, heartbeat_ms, owned, last_pass_at}</c>; a member whose
    /// heartbeat is older than <c>Analyzer:LeaseTimeout</c> is dead and its names go to the others.</summary>
    public const string Analyzers = "horizon.analyzers";

    /// <summary>Hash: each log template's series name to its JSON (source, template, severity,
    /// first and last seen, lines, sample lines), written by the ingest process that groups the
    /// source's lines.</summary>
    public const string LogTemplates = "horizon.logs.templates";

    /// <summary>Sorted set: the series of log templates that appeared after their source's
    /// warm-up, scored by when; the analyzer makes each a finding.</summary>
    public const string LogNewTemplates = "horizon.logs.new";

    /// <summary>Hash: each log source to when its first line arrived (Unix seconds).</summary>
    public const string LogSources = "horizon.logs.sources";

    /// <summary>A new id for a record kept in one of these keys (an event, a silence, a taught
    /// shape, a collection): <paramref name="prefix"/> and 48 random bits in hex.</summary>
    public static string NewRecordId(string prefix) => prefix + Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(6));
}
