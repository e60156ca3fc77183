using System.IO.Hashing;
using System.Runtime.InteropServices;
using System.Text;

namespace Horizon.Core.Logs;

/// <summary>A log template: the words its lines share, <c>&lt;*&gt;</c> where they differ.</summary>
public sealed class LogTemplate
{
    internal LogTemplate(int index, string id, string[] tokens)
    {
        Index = index;
        Id = id;
        Tokens = tokens;
        Text = string.Join(' ', tokens);
    }

    /// <summary>Position in its miner (0, 1, 2...).</summary>
    public int Index { get; }

    /// <summary>A stable id: a hash of the template as first made, in 12 hex digits.</summary>
    public string Id { get; }

    /// <summary>The words, <see cref="TemplateMiner.Wildcard"/> where lines differ.</summary>
    internal string[] Tokens { get; }

    /// <summary>The template as text.</summary>
    public string Text { get; private set; }

    /// <summary>Lines grouped into it.</summary>
    public long Lines { get; set; }

    /// <summary>The template's text changed since <see cref="Changed"/> was last cleared.</summary>
    public bool Changed { get; set; }

    internal void Generalise(int position)
    {
        Tokens[position] = TemplateMiner.Wildcard;
        Text = string.Join(' ', Tokens);
        Changed = true;
    }
}

/// <summary>Groups log lines into templates online with Drain (He, Zhu, Zheng and Lyu, ICWS 2017):
/// a fixed-depth tree routes a line by its number of words, then by its first words (a word with a
/// digit routes as <c>&lt;*&gt;</c>), to a leaf whose templates it is compared with word by word; it
/// joins the most similar one if at least <see cref="Similarity"/> of its words agree (the template's
/// differing words become <c>&lt;*&gt;</c>) and starts a new one otherwise. Words with a digit are
/// masked as variables first (numbers, addresses, ids), Drain's usual pre-processing made generic.
/// Not thread-safe: one miner per source, fed by one thread. No allocation per line once the
/// templates and tree nodes exist.</summary>
public sealed class TemplateMiner
{
    /// <summary>The word that stands for a variable part.</summary>
    public const string Wildcard = "<*>";

    private const int MaxTokens = 128;
    private readonly Dictionary<int, Node> _byLength = [];
    private readonly List<LogTemplate> _templates = [];
    private readonly Range[] _tokens = new Range[MaxTokens];
    private readonly int _prefixDepth;
    private readonly int _maxChildren;
    private readonly string _idSeed;
    private readonly TemplateBudget? _budget;

    /// <summary>Creates a miner. <paramref name="depth"/> is Drain's tree depth (the root and the
    /// length layer included, so 4 routes by the first two words).</summary>
    public TemplateMiner(string idSeed = "", int depth = 4, double similarity = 0.5, int maxChildren = 100, int maxTemplates = 10_000, TemplateBudget? budget = null)
    {
        _budget = budget;
        ArgumentOutOfRangeException.ThrowIfLessThan(depth, 3);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxChildren, 2);
        if (similarity is <= 0 or > 1)
        {
            throw new ArgumentOutOfRangeException(nameof(similarity), "Similarity must be in (0, 1].");
        }
        _idSeed = idSeed;
        _prefixDepth = depth - 2;
        Similarity = similarity;
        _maxChildren = maxChildren;
        MaxTemplates = maxTemplates;
    }

    /// <summary>The share of words that must agree for a line to join a template.</summary>
    public double Similarity { get; }

    /// <summary>Templates beyond this are not made; such lines join their closest template, or
    /// none (-1).</summary>
    public int MaxTemplates { get; }

    /// <summary>The templates, by index.</summary>
    public IReadOnlyList<LogTemplate> Templates => _templates;

    /// <summary>Groups a line. Returns its template's index (-1 when the line has no words, or the
    /// miner is full and nothing is close), with <paramref name="created"/> set for a new one.</summary>
    public int Add(ReadOnlySpan<char> line, out bool created)
    {
        created = false;
        var similarity = 0.0;
        var count = Tokenise(line);
        if (count == 0)
        {
            return -1;
        }
        // Drain's search: by length, then the first words (a word not in the tree follows the
        // wildcard branch, where restored and generalised templates wait).
        var found = Search(line, count);
        var best = found is null ? null : Best(found, line, count, out similarity);
        if (best is not null && similarity >= Similarity)
        {
            for (var i = 0; i < count; i++)
            {
                var token = Token(line, i);
                if (!ReferenceEquals(best.Tokens[i], Wildcard) && !token.SequenceEqual(best.Tokens[i]))
                {
                    best.Generalise(i);
                }
            }
            best.Lines++;
            return best.Index;
        }
        if (_templates.Count >= MaxTemplates || (_budget is not null && !_budget.TryTake()))
        {
            if (best is null)
            {
                return -1;
            }
            best.Lines++;
            return best.Index;
        }
        var tokens = new string[count];
        for (var i = 0; i < count; i++)
        {
            tokens[i] = IsVariable(Token(line, i)) ? Wildcard : Token(line, i).ToString();
        }
        var template = New(tokens);
        template.Lines = 1;
        Leaf(line, count).Add(template);
        created = true;
        return template.Index;
    }

    /// <summary>Restores a template saved earlier (its id kept), so a restart routes lines to the
    /// same templates and their series continue.</summary>
    public LogTemplate Restore(string id, string text)
    {
        var line = text.AsSpan();
        var count = Tokenise(line);
        var tokens = new string[count];
        for (var i = 0; i < count; i++)
        {
            var t = Token(line, i);
            tokens[i] = t.SequenceEqual(Wildcard) ? Wildcard : t.ToString();
        }
        var template = new LogTemplate(_templates.Count, id, tokens);
        _budget?.TryTake();
        _templates.Add(template);
        Leaf(line, count).Add(template);
        return template;
    }

    private LogTemplate New(string[] tokens)
    {
        var text = string.Join(' ', tokens);
        var hash = XxHash64.HashToUInt64(MemoryMarshal.AsBytes($"{_idSeed}\n{text}".AsSpan()));
        var id = (hash & 0xFFFF_FFFF_FFFFUL).ToString("x12", System.Globalization.CultureInfo.InvariantCulture);
        var template = new LogTemplate(_templates.Count, id, tokens);
        _templates.Add(template);
        return template;
    }

    private LogTemplate? Best(List<LogTemplate> leaf, ReadOnlySpan<char> line, int count, out double similarity)
    {
        LogTemplate? best = null;
        similarity = -1;
        var bestWildcards = -1;
        foreach (var template in CollectionsMarshal.AsSpan(leaf))
        {
            var same = 0;
            var wildcards = 0;
            for (var i = 0; i < count; i++)
            {
                var t = template.Tokens[i];
                if (ReferenceEquals(t, Wildcard))
                {
                    wildcards++;
                }
                else if (Token(line, i).SequenceEqual(t))
                {
                    same++;
                }
            }
            // Drain's simSeq: agreeing words over all words; a variable masked in the line
            // agrees with a wildcard.
            var maskedAgree = 0;
            for (var i = 0; i < count; i++)
            {
                if (ReferenceEquals(template.Tokens[i], Wildcard) && IsVariable(Token(line, i)))
                {
                    maskedAgree++;
                }
            }
            var s = (double)(same + maskedAgree) / count;
            if (s > similarity || (s == similarity && wildcards > bestWildcards))
            {
                best = template;
                similarity = s;
                bestWildcards = wildcards;
            }
        }
        return best;
    }

    private List<LogTemplate>? Search(ReadOnlySpan<char> line, int count)
    {
        if (!_byLength.TryGetValue(count, out var node))
        {
            return null;
        }
        for (var depth = 0; depth < _prefixDepth && depth < count && node is not null; depth++)
        {
            var token = Token(line, depth);
            node = node.Find(IsVariable(token) ? Wildcard : token) ?? node.Find(Wildcard);
        }
        return node?.Templates;
    }

    private List<LogTemplate> Leaf(ReadOnlySpan<char> line, int count)
    {
        if (!_byLength.TryGetValue(count, out var node))
        {
            node = new Node();
            _byLength[count] = node;
        }
        for (var depth = 0; depth < _prefixDepth && depth < count; depth++)
        {
            var token = Token(line, depth);
            node = node.Child(IsVariable(token) ? Wildcard : token, _maxChildren);
        }
        return node.Templates ??= [];
    }

    private ReadOnlySpan<char> Token(ReadOnlySpan<char> line, int i) => line[_tokens[i]];

    private int Tokenise(ReadOnlySpan<char> line)
    {
        var count = 0;
        var i = 0;
        while (i < line.Length)
        {
            while (i < line.Length && char.IsWhiteSpace(line[i]))
            {
                i++;
            }
            if (i == line.Length)
            {
                break;
            }
            var start = i;
            while (i < line.Length && !char.IsWhiteSpace(line[i]))
            {
                i++;
            }
            if (count == MaxTokens)
            {
                // The rest of a very long line is one last word.
                _tokens[MaxTokens - 1] = new Range(_tokens[MaxTokens - 1].Start, i);
                continue;
            }
            _tokens[count++] = new Range(start, i);
        }
        return count;
    }

    /// <summary>A word that carries a value rather than meaning: it has a digit in it.</summary>
    internal static bool IsVariable(ReadOnlySpan<char> token) => token.IndexOfAnyInRange('0', '9') >= 0;

    private sealed class Node
    {
        private Dictionary<string, Node>? _children;

        public List<LogTemplate>? Templates;

        public Node? Find(ReadOnlySpan<char> token) =>
            _children is not null && _children.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(token, out var child) ? child : null;

        public Node Child(ReadOnlySpan<char> token, int maxChildren)
        {
            _children ??= new Dictionary<string, Node>(StringComparer.Ordinal);
            var lookup = _children.GetAlternateLookup<ReadOnlySpan<char>>();
            if (lookup.TryGetValue(token, out var child))
            {
                return child;
            }
            // A full node sends new words to its wildcard child.
            var key = _children.Count >= maxChildren - 1 && !token.SequenceEqual(Wildcard) ? Wildcard : token.ToString();
            if (!_children.TryGetValue(key, out child))
            {
                child = new Node();
                _children[key] = child;
            }
            return child;
        }
    }
}

/// <summary>A bound on templates shared by several miners (one per source).</summary>
public sealed class TemplateBudget(int max)
{
    private int _used;

    /// <summary>Templates made so far.</summary>
    public int Used => Volatile.Read(ref _used);

    /// <summary>The bound.</summary>
    public int Max { get; } = max;

    /// <summary>Takes one; false when none is left.</summary>
    public bool TryTake()
    {
        if (Interlocked.Increment(ref _used) <= Max)
        {
            return true;
        }
        Interlocked.Decrement(ref _used);
        return false;
    }
}

/// <summary>Log sources named for series: what is not a letter, digit, '-' or '_' becomes '_'.</summary>
public static class LogSourceNames
{
    /// <summary>Writes the series-safe form of <paramref name="name"/> into <paramref name="into"/>
    /// (at most its length) and returns the length; 0 for an empty name.</summary>
    public static int Sanitise(ReadOnlySpan<byte> name, Span<char> into)
    {
        var n = 0;
        foreach (var b in name)
        {
            if (n == into.Length)
            {
                break;
            }
            into[n++] = b is >= (byte)'a' and <= (byte)'z' or >= (byte)'A' and <= (byte)'Z' or >= (byte)'0' and <= (byte)'9' or (byte)'-' or (byte)'_'
                ? (char)b
                : '_';
        }
        return n;
    }

    /// <summary>The string form, for names that arrive as text.</summary>
    public static string Sanitise(string name)
    {
        Span<char> buffer = stackalloc char[64];
        var bytes = Encoding.UTF8.GetBytes(name);
        return new string(buffer[..Sanitise(bytes, buffer)]);
    }
}
