using System.Text.RegularExpressions;

namespace Horizon.Analyzer.Incidents;

/// <summary>A glob over a whole metric name, as silences and receiver routes take it: <c>*</c> any
/// run of characters (dots included), <c>?</c> one; everything else literal.</summary>
public sealed class NameGlob(string pattern)
{
    private readonly Regex _regex = new("^" + Regex.Escape(pattern).Replace("\\*", ".*", StringComparison.Ordinal).Replace("\\?", ".", StringComparison.Ordinal) + "$",
        RegexOptions.CultureInvariant | RegexOptions.Singleline, TimeSpan.FromMilliseconds(50));

    /// <summary>Whether <paramref name="name"/> matches.</summary>
    public bool IsMatch(string name) => _regex.IsMatch(name);
}
