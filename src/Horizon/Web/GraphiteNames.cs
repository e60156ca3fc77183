using Horizon.Core.Series;
using Horizon.Graphite;
using Horizon.Storage;

namespace Horizon.Web;

/// <summary>Every metric name in <c>metrics.unique_metrics</c>, sorted, for Graphite's globs and
/// <c>/metrics/find</c>: read again when older than <see cref="MaxAge"/> (a name first stored a
/// moment ago is found within that), so browsing a tree of 250k names is a binary search, not a scan.</summary>
public sealed class GraphiteNames(StoreConnection store, SeriesOptions series, TimeProvider time) : IDisposable
{
    /// <summary>How long a read of the names serves.</summary>
    public static readonly TimeSpan MaxAge = TimeSpan.FromSeconds(10);

    private readonly SemaphoreSlim _gate = new(1, 1);
    private string[] _names = [];
    private long? _readAt;

    /// <summary>The names, sorted (ordinal).</summary>
    public async Task<string[]> AllAsync()
    {
        if (Fresh())
        {
            return _names;
        }
        await _gate.WaitAsync();
        try
        {
            if (!Fresh())
            {
                var names = new List<string>();
                var prefix = series.FullNamespace.Length;
                await foreach (var member in store.ScanNamesAsync(pageSize: 5000))
                {
                    var key = member.ToString();
                    if (key.Length > prefix && key.StartsWith(series.FullNamespace, StringComparison.Ordinal))
                    {
                        names.Add(key[prefix..]);
                    }
                }
                var sorted = names.ToArray();
                Array.Sort(sorted, StringComparer.Ordinal);
                (_names, _readAt) = (sorted, time.GetTimestamp());
            }
            return _names;
        }
        finally
        {
            _gate.Release();
        }
    }

    private bool Fresh() => _readAt is { } at && time.GetElapsedTime(at) < MaxAge;

    /// <inheritdoc/>
    public void Dispose() => _gate.Dispose();

    /// <summary>The names in <paramref name="sorted"/> that begin with <paramref name="prefix"/>.</summary>
    public static IEnumerable<string> StartingWith(string[] sorted, string prefix)
    {
        var i = Array.BinarySearch(sorted, prefix, StringComparer.Ordinal);
        for (i = i < 0 ? ~i : i; i < sorted.Length && sorted[i].StartsWith(prefix, StringComparison.Ordinal); i++)
        {
            yield return sorted[i];
        }
    }

    /// <summary>The names a glob matches.</summary>
    public static IEnumerable<string> Matching(string[] sorted, GraphiteGlob glob) =>
        glob.IsLiteral ? (Array.BinarySearch(sorted, glob.Pattern, StringComparer.Ordinal) >= 0 ? [glob.Pattern] : [])
            : StartingWith(sorted, glob.Prefix).Where(glob.IsMatch);
}
