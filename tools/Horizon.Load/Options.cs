using System.Globalization;
using System.Net;

namespace Horizon.Load;

/// <summary>The wire protocols the harness speaks.</summary>
public enum Protocol
{
    Plaintext,
    Pickle,
    StatsdUdp,
    StatsdTcp,
    Msgpack,
}

/// <summary>Command-line options: <c>--name value</c> pairs and <c>--flag</c>s.</summary>
public sealed class Options
{
    private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);
    private readonly HashSet<string> _flags = new(StringComparer.Ordinal);
    private readonly HashSet<string> _used = new(StringComparer.Ordinal);

    /// <summary>Parses arguments after the command.</summary>
    public Options(IEnumerable<string> args)
    {
        string? pending = null;
        foreach (var arg in args)
        {
            if (arg.StartsWith("--", StringComparison.Ordinal))
            {
                if (pending is not null)
                {
                    _flags.Add(pending);
                }
                var eq = arg.IndexOf('=', StringComparison.Ordinal);
                if (eq > 0)
                {
                    _values[arg[2..eq]] = arg[(eq + 1)..];
                    pending = null;
                }
                else
                {
                    pending = arg[2..];
                }
            }
            else if (pending is not null)
            {
                _values[pending] = arg;
                pending = null;
            }
            else
            {
                throw new ArgumentException($"unexpected argument '{arg}'");
            }
        }
        if (pending is not null)
        {
            _flags.Add(pending);
        }
    }

    /// <summary>A string option.</summary>
    public string Get(string name, string fallback)
    {
        _used.Add(name);
        return _values.TryGetValue(name, out var v) ? v : fallback;
    }

    /// <summary>An optional string option.</summary>
    public string? Get(string name)
    {
        _used.Add(name);
        return _values.GetValueOrDefault(name);
    }

    /// <summary>An integer option (accepts 250k, 1m).</summary>
    public long GetLong(string name, long fallback)
    {
        var text = Get(name);
        if (text is null)
        {
            return fallback;
        }
        var multiplier = 1L;
        if (text.EndsWith('k') || text.EndsWith('K'))
        {
            multiplier = 1000;
            text = text[..^1];
        }
        else if (text.EndsWith('m') || text.EndsWith('M'))
        {
            multiplier = 1_000_000;
            text = text[..^1];
        }
        return long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var v)
            ? v * multiplier
            : throw new ArgumentException($"--{name} must be a whole number (250k, 1m accepted), not '{text}'");
    }

    /// <summary>A number option.</summary>
    public double GetDouble(string name, double fallback)
    {
        var text = Get(name);
        return text is null ? fallback
            : double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v
            : throw new ArgumentException($"--{name} must be a number, not '{text}'");
    }

    /// <summary>A duration in seconds (accepts 90, 90s, 5m, 1h).</summary>
    public TimeSpan GetDuration(string name, TimeSpan fallback)
    {
        var text = Get(name);
        if (text is null)
        {
            return fallback;
        }
        var unit = text[^1];
        var number = char.IsDigit(unit) ? text : text[..^1];
        var seconds = double.Parse(number, CultureInfo.InvariantCulture) * unit switch
        {
            'm' => 60,
            'h' => 3600,
            _ => 1,
        };
        return TimeSpan.FromSeconds(seconds);
    }

    /// <summary>A flag.</summary>
    public bool Flag(string name)
    {
        _used.Add(name);
        return _flags.Contains(name) || (_values.TryGetValue(name, out var v) && v is "true" or "1" or "yes");
    }

    /// <summary>Protocols from a comma-separated list.</summary>
    public IReadOnlyList<Protocol> Protocols(string fallback) =>
        [.. Get("protocol", fallback).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(ParseProtocol)];

    /// <summary>An endpoint, which must be on loopback.</summary>
    public static IPEndPoint LoopbackEndpoint(string text)
    {
        var endpoint = IPEndPoint.Parse(text);
        if (!IPAddress.IsLoopback(endpoint.Address))
        {
            throw new ArgumentException($"{text}: the harness targets loopback addresses only");
        }
        return endpoint;
    }

    /// <summary>Fails on options nobody read (typos).</summary>
    public void RejectUnknown()
    {
        var unknown = _values.Keys.Concat(_flags).Where(k => !_used.Contains(k)).ToList();
        if (unknown.Count > 0)
        {
            throw new ArgumentException("unknown option(s): " + string.Join(", ", unknown.Select(u => "--" + u)));
        }
    }

    /// <summary>Protocol by name.</summary>
    public static Protocol ParseProtocol(string text) => text.ToLowerInvariant() switch
    {
        "plaintext" or "line" => Protocol.Plaintext,
        "pickle" => Protocol.Pickle,
        "statsd" or "statsd-udp" => Protocol.StatsdUdp,
        "statsd-tcp" => Protocol.StatsdTcp,
        "msgpack" or "msgpack-udp" => Protocol.Msgpack,
        _ => throw new ArgumentException($"unknown protocol '{text}' (plaintext, pickle, statsd-udp, statsd-tcp, msgpack)"),
    };

    /// <summary>A protocol's name on the command line (the inverse of <see cref="ParseProtocol"/>).</summary>
    public static string ProtocolName(Protocol protocol) => protocol switch
    {
        Protocol.Plaintext => "plaintext",
        Protocol.Pickle => "pickle",
        Protocol.StatsdUdp => "statsd-udp",
        Protocol.StatsdTcp => "statsd-tcp",
        _ => "msgpack",
    };

    /// <summary>Horizon's default port for a protocol.</summary>
    public static int DefaultPort(Protocol protocol) => protocol switch
    {
        Protocol.Plaintext => 2003,
        Protocol.Pickle => 2024,
        Protocol.Msgpack => 2025,
        _ => 8125,
    };
}
