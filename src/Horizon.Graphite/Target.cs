using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Horizon.Graphite;

/// <summary>A parsed render target: a path pattern, a function call, or a literal argument.</summary>
public abstract partial record Target
{
    [GeneratedRegex(@"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$", RegexOptions.CultureInvariant)]
    private static partial Regex NumberPattern();

    /// <summary>Parses a whole target (<c>sumSeries(app.*.requests)</c>); a syntax error is a
    /// <see cref="FormatException"/> saying where.</summary>
    public static Target Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var parser = new Parser(text);
        var target = parser.Expression();
        parser.SkipSpaces();
        if (!parser.AtEnd)
        {
            throw parser.Error("unexpected text");
        }
        return target;
    }

    private sealed class Parser(string text)
    {
        private int _at;

        public bool AtEnd => _at >= text.Length;

        public FormatException Error(string what) =>
            new($"{what} at character {_at + 1} of the target {text}");

        public void SkipSpaces()
        {
            while (_at < text.Length && char.IsWhiteSpace(text[_at]))
            {
                _at++;
            }
        }

        public Target Expression()
        {
            SkipSpaces();
            if (AtEnd)
            {
                throw Error("a series or value expected");
            }
            var c = text[_at];
            if (c is '"' or '\'')
            {
                var close = text.IndexOf(c, _at + 1);
                if (close < 0)
                {
                    throw Error("unclosed string");
                }
                var value = text[(_at + 1)..close];
                _at = close + 1;
                return new StringArgument(value);
            }
            var start = _at;
            var depth = 0;
            while (_at < text.Length)
            {
                c = text[_at];
                if (c == '{')
                {
                    depth++;
                }
                else if (c == '}')
                {
                    depth--;
                }
                else if (depth == 0 && (c is '(' or ')' or ',' or '=' || char.IsWhiteSpace(c)))
                {
                    break;
                }
                _at++;
            }
            var token = text[start.._at];
            if (token.Length == 0)
            {
                throw Error("a series or value expected");
            }
            if (!AtEnd && text[_at] == '(')
            {
                if (!token.All(ch => char.IsAsciiLetterOrDigit(ch) || ch == '_'))
                {
                    throw Error($"'{token}' is not a function name");
                }
                _at++;
                return Call(token, start);
            }
            if (NumberPattern().IsMatch(token) && double.TryParse(token, NumberStyles.Float, CultureInfo.InvariantCulture, out var number))
            {
                return new NumberArgument(number, token);
            }
            return token switch
            {
                "true" or "True" => new BoolArgument(true),
                "false" or "False" => new BoolArgument(false),
                "None" or "null" => new NoneArgument(),
                _ => new PathTarget(token),
            };
        }

        private FunctionCall Call(string name, int start)
        {
            var positional = new List<Target>();
            var named = new Dictionary<string, Target>(StringComparer.Ordinal);
            SkipSpaces();
            if (!AtEnd && text[_at] == ')')
            {
                _at++;
                return new FunctionCall(name, positional, named, text[start.._at]);
            }
            while (true)
            {
                SkipSpaces();
                var save = _at;
                // name=value
                var key = new StringBuilder();
                while (_at < text.Length && (char.IsAsciiLetterOrDigit(text[_at]) || text[_at] == '_'))
                {
                    key.Append(text[_at++]);
                }
                SkipSpaces();
                if (key.Length > 0 && !AtEnd && text[_at] == '=')
                {
                    _at++;
                    named[key.ToString()] = Expression();
                }
                else
                {
                    _at = save;
                    if (named.Count > 0)
                    {
                        throw Error("a positional argument after a named one");
                    }
                    positional.Add(Expression());
                }
                SkipSpaces();
                if (AtEnd)
                {
                    throw Error($"unclosed call to {name}");
                }
                if (text[_at] == ',')
                {
                    _at++;
                    continue;
                }
                if (text[_at] == ')')
                {
                    _at++;
                    return new FunctionCall(name, positional, named, text[start.._at]);
                }
                throw Error("',' or ')' expected");
            }
        }
    }
}

/// <summary>A path pattern (<c>app.*.requests</c>): the series it matches.</summary>
public sealed record PathTarget(string Pattern) : Target;

/// <summary>A function call with its arguments, as written.</summary>
public sealed record FunctionCall(string Name, IReadOnlyList<Target> Arguments, IReadOnlyDictionary<string, Target> Named, string Text) : Target;

/// <summary>A number argument, with its text (Graphite names series with it).</summary>
public sealed record NumberArgument(double Value, string Text) : Target;

/// <summary>A quoted string argument.</summary>
public sealed record StringArgument(string Value) : Target;

/// <summary>true or false.</summary>
public sealed record BoolArgument(bool Value) : Target;

/// <summary>None (Python's null, as Graphite spells it).</summary>
public sealed record NoneArgument : Target;
