using System.Collections;
using System.Reflection;

namespace Horizon;

/// <summary>Refuses settings Horizon does not know: a key under one of Horizon's sections that names
/// no property of its settings record (a typo such as <c>Listeners:Plaintext:Prot</c> would otherwise
/// start Horizon on the default port), or a top-level section that is not Horizon's. The error names
/// the key and the nearest known one.</summary>
public static class KnownSettings
{
    /// <summary>Top-level sections Horizon reads but does not bind to a record of its own.</summary>
    private static readonly string[] Foreign = ["Logging"];

    /// <summary>Throws <see cref="ArgumentException"/> for the first unknown key in
    /// <paramref name="configuration"/>, given Horizon's sections and the record each binds to.</summary>
    public static void Check(IConfiguration configuration, IReadOnlyDictionary<string, Type> sections)
    {
        foreach (var child in configuration.GetChildren())
        {
            if (sections.FirstOrDefault(s => string.Equals(s.Key, child.Key, StringComparison.OrdinalIgnoreCase)) is { Value: { } type })
            {
                CheckRecord(child, type);
            }
            else if (!Foreign.Contains(child.Key, StringComparer.OrdinalIgnoreCase))
            {
                throw Unknown(child.Path, [.. sections.Keys, .. Foreign], "");
            }
        }
    }

    private static void CheckRecord(IConfigurationSection section, Type type)
    {
        var properties = type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.SetMethod is { IsPublic: true }).ToArray();
        foreach (var child in section.GetChildren())
        {
            var property = properties.FirstOrDefault(p => string.Equals(p.Name, child.Key, StringComparison.OrdinalIgnoreCase))
                ?? throw Unknown(child.Path, properties.Select(p => p.Name), section.Path + ":");
            CheckValue(child, property.PropertyType);
        }
    }

    private static void CheckValue(IConfigurationSection section, Type type)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        if (IsScalar(type))
        {
            if (section.GetChildren().FirstOrDefault() is { } child)
            {
                throw new ArgumentException($"unknown setting '{child.Path}': {section.Path} is a single value, not a section");
            }
            return;
        }
        if (type.GetInterfaces().Append(type).Any(i => i.IsGenericType && i.GetGenericTypeDefinition() is var d && (d == typeof(IDictionary<,>) || d == typeof(IReadOnlyDictionary<,>))))
        {
            return; // keys are data, not settings
        }
        if (ElementType(type) is { } element)
        {
            foreach (var item in section.GetChildren())
            {
                if (!int.TryParse(item.Key, out _))
                {
                    throw new ArgumentException($"unknown setting '{item.Path}': {section.Path} is a list, its entries are numbered ({section.Path}:0, {section.Path}:1, ...)");
                }
                CheckValue(item, element);
            }
            return;
        }
        CheckRecord(section, type);
    }

    private static bool IsScalar(Type type) =>
        type.IsPrimitive || type.IsEnum || type == typeof(string) || type == typeof(decimal) || type == typeof(TimeSpan) ||
        type == typeof(DateTimeOffset) || type == typeof(DateTime) || type == typeof(Uri);

    private static Type? ElementType(Type type)
    {
        if (type.IsArray)
        {
            return type.GetElementType();
        }
        if (!typeof(IEnumerable).IsAssignableFrom(type))
        {
            return null;
        }
        var enumerable = type.IsGenericType && type.GetGenericTypeDefinition() == typeof(IEnumerable<>)
            ? type
            : type.GetInterfaces().FirstOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IEnumerable<>));
        return enumerable?.GetGenericArguments()[0];
    }

    private static ArgumentException Unknown(string path, IEnumerable<string> known, string prefix)
    {
        var key = path[(path.LastIndexOf(':') + 1)..];
        var nearest = known.MinBy(k => Distance(key.ToLowerInvariant(), k.ToLowerInvariant()));
        return new ArgumentException(nearest is null
            ? $"unknown setting '{path}'"
            : $"unknown setting '{path}' (did you mean '{prefix}{nearest}'?)");
    }

    /// <summary>Levenshtein distance: insertions, deletions and substitutions.</summary>
    public static int Distance(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }
        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                current[j] = Math.Min(Math.Min(current[j - 1], previous[j]) + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
            }
            (previous, current) = (current, previous);
        }
        return previous[b.Length];
    }
}
