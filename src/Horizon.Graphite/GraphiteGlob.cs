using System.Text;
using System.Text.RegularExpressions;

namespace Horizon.Graphite;

/// <summary>A Graphite path pattern: nodes split by dots, and within one node <c>*</c> (any run of
/// characters), <c>?</c> (one), <c>[a-z]</c> (a character class) and <c>{a,b}</c> (alternatives);
/// none of them crosses a dot.</summary>
public sealed class GraphiteGlob
{
    private readonly Regex? _regex;

    /// <summary>Parses a pattern; an unbalanced bracket or brace is an <see cref="ArgumentException"/>.</summary>
    public GraphiteGlob(string pattern)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        Pattern = pattern;
        var regex = new StringBuilder("^");
        var literal = new StringBuilder();
        var wild = false;
        for (var i = 0; i < pattern.Length; i++)
        {
            var c = pattern[i];
            switch (c)
            {
                case '*':
                    regex.Append("[^.]*");
                    wild = true;
                    break;
                case '?':
                    regex.Append("[^.]");
                    wild = true;
                    break;
                case '[':
                    var close = pattern.IndexOf(']', i + 1);
                    if (close < 0)
                    {
                        throw new ArgumentException($"unclosed '[' in {pattern}");
                    }
                    var set = pattern[(i + 1)..close];
                    var negated = set.StartsWith('!') || set.StartsWith('^');
                    regex.Append(negated ? "[^." : "[").Append(Regex.Escape(negated ? set[1..] : set).Replace("\\-", "-", StringComparison.Ordinal)).Append(']');
                    i = close;
                    wild = true;
                    break;
                case '{':
                    var end = pattern.IndexOf('}', i + 1);
                    if (end < 0)
                    {
                        throw new ArgumentException($"unclosed '{{' in {pattern}");
                    }
                    regex.Append("(?:").AppendJoin('|', pattern[(i + 1)..end].Split(',').Select(a => Regex.Escape(a).Replace("\\*", "[^.]*", StringComparison.Ordinal))).Append(')');
                    i = end;
                    wild = true;
                    break;
                default:
                    regex.Append(Regex.Escape(c.ToString()));
                    break;
            }
            if (!wild)
            {
                literal.Append(c);
            }
        }
        Prefix = literal.ToString();
        IsLiteral = !wild;
        _regex = wild ? new Regex(regex.Append('$').ToString(), RegexOptions.CultureInvariant | RegexOptions.Singleline, TimeSpan.FromMilliseconds(100)) : null;
        Depth = pattern.Count(ch => ch == '.') + 1;
    }

    /// <summary>The pattern as given.</summary>
    public string Pattern { get; }

    /// <summary>The characters before the first wildcard: every match starts with them.</summary>
    public string Prefix { get; }

    /// <summary>No wildcard: it matches one name, itself.</summary>
    public bool IsLiteral { get; }

    /// <summary>How many nodes a match has (wildcards never cross a dot).</summary>
    public int Depth { get; }

    /// <summary>Whether a whole name (or node path) matches.</summary>
    public bool IsMatch(string name) => _regex?.IsMatch(name) ?? string.Equals(name, Pattern, StringComparison.Ordinal);
}
