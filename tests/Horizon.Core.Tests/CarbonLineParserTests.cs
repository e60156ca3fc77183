using System.Buffers;
using System.Text;
using Horizon.Core.Protocols;

namespace Horizon.Core.Tests;

public sealed class CarbonLineParserTests
{
    private const long Now = 1_700_000_100;

    private sealed record Parsed(string Name, double Value, long Timestamp, RejectReason Error);

    private static List<Parsed> ParseAll(IEnumerable<byte[]> chunks, int maxLineLength = 4096)
    {
        var parser = new CarbonLineParser(maxLineLength) { Now = Now };
        var results = new List<Parsed>();
        Feeding.Run(chunks, (ref SequenceReader<byte> reader, bool completed) =>
        {
            while (parser.TryParse(ref reader, out var line))
            {
                results.Add(new Parsed(Encoding.UTF8.GetString(line.Name), line.Value, line.Timestamp, line.Error));
            }
        });
        return results;
    }

    private static void AssertAllWays(string payload, IReadOnlyList<Parsed> expected, int maxLineLength = 4096) =>
        AssertAllWays(Encoding.UTF8.GetBytes(payload), expected, maxLineLength);

    private static void AssertAllWays(byte[] payload, IReadOnlyList<Parsed> expected, int maxLineLength = 4096)
    {
        foreach (var (mode, chunks) in Feeding.AllWays(payload))
        {
            var actual = ParseAll(chunks, maxLineLength);
            Assert.True(expected.SequenceEqual(actual), $"{mode}: expected [{string.Join("; ", expected)}] got [{string.Join("; ", actual)}]");
        }
        // All bytes present at once, but every byte in its own segment (the multi-segment path).
        var parser = new CarbonLineParser(maxLineLength) { Now = Now };
        var reader = new SequenceReader<byte>(Feeding.OneBytePerSegment(payload));
        var results = new List<Parsed>();
        while (parser.TryParse(ref reader, out var line))
        {
            results.Add(new Parsed(Encoding.UTF8.GetString(line.Name), line.Value, line.Timestamp, line.Error));
        }
        Assert.Equal(expected, results);
    }

    [Fact]
    public void ParserReadsNameValueAndTimestamp() =>
        AssertAllWays("servers.web01.cpu 12.5 1700000000\n", [new("servers.web01.cpu", 12.5, 1_700_000_000, RejectReason.None)]);

    [Fact]
    public void ParserTreatsMissingOrMinusOneTimestampAsNow() =>
        AssertAllWays("a.b 1\nc.d 2 -1\ne.f 3 -1.0\n",
        [
            new("a.b", 1, Now, RejectReason.None),
            new("c.d", 2, Now, RejectReason.None),
            new("e.f", 3, Now, RejectReason.None),
        ]);

    [Fact]
    public void ParserAcceptsCrLfTabsAndRunsOfWhitespace() =>
        AssertAllWays("  a.b \t 1.5\t\t1700000000 \r\nc.d 2 1700000001\r\n",
        [
            new("a.b", 1.5, 1_700_000_000, RejectReason.None),
            new("c.d", 2, 1_700_000_001, RejectReason.None),
        ]);

    [Fact]
    public void ParserDoesNotConsumeIncompleteLine()
    {
        var parser = new CarbonLineParser { Now = Now };
        var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>("a.b 1 1700000000"u8.ToArray()));
        Assert.False(parser.TryParse(ref reader, out _));
        Assert.Equal(0, reader.Consumed);

        var leftover = Feeding.Run(["a.b 1 17"u8.ToArray(), "00000000\nc.d 2"u8.ToArray()], (ref SequenceReader<byte> r, bool completed) =>
        {
            while (parser.TryParse(ref r, out var ignored))
            {
                Assert.Equal(RejectReason.None, ignored.Error);
            }
        });
        Assert.Equal("c.d 2".Length, leftover);
    }

    [Fact]
    public void ParserRejectsEachMalformedLineAloneAndKeepsTheOthers()
    {
        var payload =
            "good.one 1 1700000000\n" +
            "missing.value\n" +
            "bad.value abc 1700000000\n" +
            "hex.value 0x10 1700000000\n" +
            "nan.value nan 1700000000\n" +
            "inf.value -inf 1700000000\n" +
            "huge.value 1e400 1700000000\n" +
            "bad.ts 1 yesterday\n" +
            "negative.ts 1 -5\n" +
            "extra.field 1 1700000000 more\n" +
            "ctl\u0001name 1 1700000000\n" +
            "good.two 2 1700000001\n";
        AssertAllWays(payload,
        [
            new("good.one", 1, 1_700_000_000, RejectReason.None),
            new("missing.value", 0, 0, RejectReason.MissingField),
            new("bad.value", 0, 0, RejectReason.BadValue),
            new("hex.value", 0, 0, RejectReason.BadValue),
            new("nan.value", 0, 0, RejectReason.NonFiniteValue),
            new("inf.value", 0, 0, RejectReason.NonFiniteValue),
            new("huge.value", 0, 0, RejectReason.NonFiniteValue),
            new("bad.ts", 1, 0, RejectReason.BadTimestamp),
            new("negative.ts", 1, 0, RejectReason.BadTimestamp),
            new("extra.field", 0, 0, RejectReason.ExtraField),
            new("ctl\u0001name", 0, 0, RejectReason.InvalidNameCharacter),
            new("good.two", 2, 1_700_000_001, RejectReason.None),
        ]);
    }

    [Fact]
    public void ParserRejectsInvalidUtf8NamesAndKeepsGoing()
    {
        var payload = new List<byte>();
        payload.AddRange("bad"u8.ToArray());
        payload.AddRange(new byte[] { 0xff, 0xfe });
        payload.AddRange(" 1 1700000000\nok.name 3 1700000000\n"u8.ToArray());
        AssertAllWays(payload.ToArray(),
        [
            new("bad\ufffd\ufffd", 0, 0, RejectReason.InvalidUtf8),
            new("ok.name", 3, 1_700_000_000, RejectReason.None),
        ]);
    }

    [Fact]
    public void ParserReportsAnOverlongLineOnceAndRecoversAtTheNextNewline()
    {
        var longName = new string('x', 100);
        var payload = $"a.b 1 1700000000\n{longName} 1 1700000000\nc.d 2 1700000000\n";
        AssertAllWays(payload,
        [
            new("a.b", 1, 1_700_000_000, RejectReason.None),
            new("", 0, 0, RejectReason.LineTooLong),
            new("c.d", 2, 1_700_000_000, RejectReason.None),
        ], maxLineLength: 32);
    }

    [Fact]
    public void ParserRejectsNameOverTheNameLimit()
    {
        var name = new string('n', 1025);
        var ok = new string('n', 1024);
        AssertAllWays($"{name} 1 1700000000\n{ok} 2 1700000000\n",
        [
            new(name, 0, 0, RejectReason.NameTooLong),
            new(ok, 2, 1_700_000_000, RejectReason.None),
        ]);
    }

    [Fact]
    public void ParserSkipsBlankLinesSilently() =>
        AssertAllWays("\n\r\n   \na.b 1 1700000000\n\n",
        [
            new("a.b", 1, 1_700_000_000, RejectReason.None),
        ]);

    [Fact]
    public void ParserTruncatesFloatTimestamps() =>
        AssertAllWays("a.b 1 1700000000.9\nc.d 2 1.7e9\n",
        [
            new("a.b", 1, 1_700_000_000, RejectReason.None),
            new("c.d", 2, 1_700_000_000, RejectReason.None),
        ]);

    [Theory]
    [InlineData("42", 42.0)]
    [InlineData("-0.5", -0.5)]
    [InlineData(".5", 0.5)]
    [InlineData("5.", 5.0)]
    [InlineData("+3", 3.0)]
    [InlineData("1e3", 1000.0)]
    [InlineData("1E-3", 0.001)]
    [InlineData("123456789012345678901234567890", 123456789012345678901234567890.0)]
    [InlineData("0.1", 0.1)]
    public void ValuesParseAsPythonFloatDoes(string text, double expected)
    {
        Assert.True(CarbonLineParser.ParseLine(Encoding.UTF8.GetBytes($"m {text} 1700000000"), Now, out var line));
        Assert.Equal(RejectReason.None, line.Error);
        Assert.Equal(expected, line.Value);
    }

    [Theory]
    [InlineData("0x10")]
    [InlineData("1_000")]
    [InlineData("1e")]
    [InlineData(".")]
    [InlineData("--1")]
    [InlineData("1.2.3")]
    [InlineData("12abc")]
    public void ValuesThatPythonFloatRefusesAreRejected(string text)
    {
        Assert.True(CarbonLineParser.ParseLine(Encoding.UTF8.GetBytes($"m {text} 1700000000"), Now, out var line));
        Assert.Equal(RejectReason.BadValue, line.Error);
    }
}
