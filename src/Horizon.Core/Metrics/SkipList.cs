using System.Text;

namespace Horizon.Core.Metrics;

/// <summary>Skyline's SKIP_LIST: a name is skipped when it contains any entry as a substring (as
/// Skyline matches); an entry with '*' or '?' is instead a glob over the whole name.</summary>
public sealed class SkipList
{
    private readonly byte[][] _substrings;
    private readonly byte[][] _globs;

    /// <summary>Builds the list from its entries; blank entries are ignored.</summary>
    public SkipList(IEnumerable<string>? entries)
    {
        var list = (entries ?? []).Where(e => !string.IsNullOrWhiteSpace(e)).Select(e => e.Trim()).ToList();
        _globs = [.. list.Where(IsGlob).Select(Encoding.UTF8.GetBytes)];
        _substrings = [.. list.Where(e => !IsGlob(e)).Select(Encoding.UTF8.GetBytes)];
    }

    /// <summary>An empty list.</summary>
    public static SkipList Empty { get; } = new(null);

    /// <summary>True when the name must be skipped.</summary>
    public bool Matches(ReadOnlySpan<byte> name)
    {
        foreach (var s in _substrings)
        {
            if (name.IndexOf(s) >= 0)
            {
                return true;
            }
        }
        foreach (var g in _globs)
        {
            if (GlobMatch(g, name))
            {
                return true;
            }
        }
        return false;
    }

    private static bool IsGlob(string e) => e.Contains('*', StringComparison.Ordinal) || e.Contains('?', StringComparison.Ordinal);

    // Iterative glob with single-star backtracking: linear in practice, no recursion.
    private static bool GlobMatch(ReadOnlySpan<byte> pattern, ReadOnlySpan<byte> text)
    {
        int p = 0, t = 0, star = -1, mark = 0;
        while (t < text.Length)
        {
            if (p < pattern.Length && (pattern[p] == (byte)'?' || pattern[p] == text[t]))
            {
                p++;
                t++;
            }
            else if (p < pattern.Length && pattern[p] == (byte)'*')
            {
                star = p++;
                mark = t;
            }
            else if (star >= 0)
            {
                p = star + 1;
                t = ++mark;
            }
            else
            {
                return false;
            }
        }
        while (p < pattern.Length && pattern[p] == (byte)'*')
        {
            p++;
        }
        return p == pattern.Length;
    }
}
