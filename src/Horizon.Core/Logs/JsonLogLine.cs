using System.Text;
using System.Text.Json;

namespace Horizon.Core.Logs;

/// <summary>One JSON log line (an object per line, as structured loggers, Docker and Fluent Bit
/// write them): the message from <c>message</c>, <c>msg</c>, <c>log</c> or <c>text</c>, the severity
/// from <c>level</c>, <c>severity</c>, <c>lvl</c> or <c>loglevel</c> (a word or 0-7), the source from
/// <c>source</c>, <c>app</c>, <c>service</c>, <c>program</c> or <c>logger</c>, the host from
/// <c>host</c> or <c>hostname</c>. Other fields are ignored.</summary>
public static class JsonLogLine
{
    /// <summary>Parses <paramref name="line"/>, unescaping the message into
    /// <paramref name="messageBuffer"/> and the source into <paramref name="sourceBuffer"/> (no
    /// allocation). The message is cut at the buffer's length.</summary>
    public static LogReject TryParse(ReadOnlySpan<byte> line, Span<byte> messageBuffer, Span<byte> sourceBuffer,
        out int messageLength, out int sourceLength, out LogSeverity severity)
    {
        messageLength = -1;
        sourceLength = 0;
        severity = LogSeverity.Unknown;
        var hostLength = 0;
        Span<byte> host = stackalloc byte[64];
        line = line.Trim(" \t\r\n\0"u8);
        if (line.IsEmpty)
        {
            return LogReject.Empty;
        }
        var reader = new Utf8JsonReader(line, new JsonReaderOptions { MaxDepth = 16 });
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return LogReject.BadJson;
            }
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var field = Field(ref reader);
                if (!reader.Read())
                {
                    return LogReject.BadJson;
                }
                switch (field)
                {
                    case Known.Message when reader.TokenType == JsonTokenType.String:
                        messageLength = Copy(ref reader, messageBuffer);
                        break;
                    case Known.Level:
                        severity = Severity(ref reader);
                        break;
                    case Known.Source when reader.TokenType == JsonTokenType.String:
                        sourceLength = Copy(ref reader, sourceBuffer);
                        break;
                    case Known.Host when reader.TokenType == JsonTokenType.String:
                        hostLength = Copy(ref reader, host);
                        break;
                    default:
                        reader.Skip();
                        break;
                }
            }
            if (reader.TokenType != JsonTokenType.EndObject || reader.Read())
            {
                return LogReject.BadJson;
            }
        }
        catch (JsonException)
        {
            return LogReject.BadJson;
        }
        if (messageLength <= 0)
        {
            return LogReject.NoMessage;
        }
        if (sourceLength == 0 && hostLength > 0 && hostLength <= sourceBuffer.Length)
        {
            host[..hostLength].CopyTo(sourceBuffer);
            sourceLength = hostLength;
        }
        return LogReject.None;
    }

    private enum Known
    {
        Other,
        Message,
        Level,
        Source,
        Host,
    }

    private static Known Field(ref Utf8JsonReader reader)
    {
        if (reader.ValueIsEscaped || reader.ValueSpan.Length > 16)
        {
            return Known.Other;
        }
        Span<byte> name = stackalloc byte[16];
        var n = reader.ValueSpan.Length;
        for (var i = 0; i < n; i++)
        {
            var b = reader.ValueSpan[i];
            name[i] = b is >= (byte)'A' and <= (byte)'Z' ? (byte)(b + 32) : b;
        }
        return name[..n] switch
        {
            var s when s.SequenceEqual("message"u8) || s.SequenceEqual("msg"u8) || s.SequenceEqual("log"u8) || s.SequenceEqual("text"u8) => Known.Message,
            var s when s.SequenceEqual("level"u8) || s.SequenceEqual("severity"u8) || s.SequenceEqual("lvl"u8) || s.SequenceEqual("loglevel"u8) => Known.Level,
            var s when s.SequenceEqual("source"u8) || s.SequenceEqual("app"u8) || s.SequenceEqual("service"u8) || s.SequenceEqual("program"u8) || s.SequenceEqual("logger"u8) => Known.Source,
            var s when s.SequenceEqual("host"u8) || s.SequenceEqual("hostname"u8) => Known.Host,
            _ => Known.Other,
        };
    }

    private static int Copy(ref Utf8JsonReader reader, scoped Span<byte> into)
    {
        if (!reader.ValueIsEscaped)
        {
            var raw = reader.ValueSpan;
            var n = Math.Min(raw.Length, into.Length);
            raw[..n].CopyTo(into);
            return n;
        }
        if (reader.ValueSpan.Length <= into.Length)
        {
            return reader.CopyString(into);
        }
        // Longer than the buffer once escaped: unescape through a rented buffer and cut.
        var rented = System.Buffers.ArrayPool<byte>.Shared.Rent(reader.ValueSpan.Length);
        try
        {
            var n = reader.CopyString(rented);
            var m = Math.Min(n, into.Length);
            rented.AsSpan(0, m).CopyTo(into);
            return m;
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(rented);
        }
    }

    private static LogSeverity Severity(ref Utf8JsonReader reader)
    {
        if (reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out var n))
        {
            // 0-7 is syslog's scale; bunyan/pino's 10-60 scale maps by tens.
            return n switch
            {
                >= 0 and <= 7 => (LogSeverity)n,
                >= 60 => LogSeverity.Critical,
                >= 50 => LogSeverity.Error,
                >= 40 => LogSeverity.Warning,
                >= 30 => LogSeverity.Informational,
                >= 10 => LogSeverity.Debug,
                _ => LogSeverity.Unknown,
            };
        }
        if (reader.TokenType != JsonTokenType.String || reader.ValueSpan.Length > 16 || reader.ValueIsEscaped)
        {
            return LogSeverity.Unknown;
        }
        Span<char> word = stackalloc char[16];
        var chars = Encoding.UTF8.GetChars(reader.ValueSpan, word);
        return LogSeverities.TryParse(word[..chars], out var severity) ? severity : LogSeverity.Unknown;
    }
}
