using System.Buffers;
using System.Text;
using Horizon.Core.Logs;

namespace Horizon.Core.Tests;

public sealed class LogParsingTests
{
    [Theory]
    // logger(1)'s default (RFC 5424), with structured data and a BOM
    [InlineData("<13>1 2026-12-07T15:30:00.123456+00:00 web01 myapp 4242 - [timeQuality tzKnown=\"1\" isSynced=\"0\"] user alice logged in", "web01", "myapp", LogSeverity.Notice, "user alice logged in")]
    [InlineData("<11>1 - - - - - - \u00EF\u00BB\u00BFdisk full", "", "", LogSeverity.Error, "disk full")]
    [InlineData("<134>1 2026-12-07T15:30:00Z h app - ID47 [a b=\"x\\]y\"][c] text here", "h", "app", LogSeverity.Informational, "text here")]
    // RFC 3164, as logger --rfc3164 and rsyslog send it, with and without the host
    [InlineData("<12>Dec  7 15:30:00 web01 nginx[123]: upstream timed out\n", "web01", "nginx", LogSeverity.Warning, "upstream timed out")]
    [InlineData("<27>Dec 17 01:02:03 sshd: Failed password for root", "", "sshd", LogSeverity.Error, "Failed password for root")]
    [InlineData("<30>2026-12-07T15:30:00.5+01:00 db02 postgres[9]: checkpoint complete", "db02", "postgres", LogSeverity.Informational, "checkpoint complete")]
    [InlineData("<14>Dec  7 15:30:00 web01 just a message", "web01", "", LogSeverity.Informational, "just a message")]
    // no priority: a bare line, severity left to the text
    [InlineData("ERROR something broke", "", "", LogSeverity.Unknown, "ERROR something broke")]
    public void SyslogMessagesOfBothRfcsParse(string raw, string host, string app, LogSeverity severity, string text)
    {
        var bytes = Encoding.Latin1.GetBytes(raw);
        Assert.Equal(LogReject.None, SyslogMessage.TryParse(bytes, out var m));
        Assert.Equal(host, Encoding.UTF8.GetString(m.Host));
        Assert.Equal(app, Encoding.UTF8.GetString(m.App));
        Assert.Equal(severity, m.Severity);
        Assert.Equal(text, Encoding.UTF8.GetString(m.Message));
    }

    [Theory]
    [InlineData("", LogReject.Empty)]
    [InlineData("  \r\n", LogReject.Empty)]
    [InlineData("<192>1 - - - - - - x", LogReject.BadPriority)]
    [InlineData("<x>hello", LogReject.BadPriority)]
    [InlineData("<13>1 - - - - - -", LogReject.NoMessage)]
    public void BadSyslogIsRefusedWithAReason(string raw, LogReject reason) =>
        Assert.Equal(reason, SyslogMessage.TryParse(Encoding.UTF8.GetBytes(raw), out _));

    [Fact]
    public void TcpFramesAreOctetCountedOrNewlineEndedEvenSplitAcrossReads()
    {
        var stream = "30 <13>1 - h app - - - first one\n<13>1 - h app - - - second\n5 third12 <14>x fourth"u8.ToArray();
        var framer = new SyslogFramer(64);
        var frames = new List<string>();
        // Byte by byte: every frame must wait for its last byte.
        var pending = new List<byte>();
        foreach (var b in stream)
        {
            pending.Add(b);
            var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(pending.ToArray()));
            while (framer.TryRead(ref reader, out var frame, out var tooLong))
            {
                Assert.False(tooLong);
                frames.Add(Encoding.UTF8.GetString(frame));
            }
            pending.RemoveRange(0, (int)reader.Consumed);
        }
        Assert.Equal(["<13>1 - h app - - - first one\n", "<13>1 - h app - - - second", "third", "<14>x fourth"], frames);
    }

    [Fact]
    public void AnOverLongOctetCountedFrameIsReportedOnceAndSkippedWithoutLosingTheNext()
    {
        var framer = new SyslogFramer(16);
        var big = "40 " + new string('x', 40) + "5 after";
        var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(Encoding.ASCII.GetBytes(big[..20])));
        Assert.True(framer.TryRead(ref reader, out _, out var tooLong));
        Assert.True(tooLong);
        reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(Encoding.ASCII.GetBytes(big[20..])));
        Assert.True(framer.TryRead(ref reader, out var frame, out tooLong));
        Assert.False(tooLong);
        Assert.Equal("after", Encoding.ASCII.GetString(frame));
    }

    [Theory]
    [InlineData("{\"level\":\"error\",\"msg\":\"db timeout after 30s\",\"service\":\"checkout\"}", "db timeout after 30s", "checkout", LogSeverity.Error)]
    [InlineData("{\"message\":\"tab\\there \\u00e9\",\"host\":\"web01\",\"extra\":{\"a\":[1,2]},\"severity\":4}", "tab\there \u00e9", "web01", LogSeverity.Warning)]
    [InlineData("{\"log\":\"pino style\",\"level\":30}", "pino style", "", LogSeverity.Informational)]
    public void JsonLinesGiveMessageSourceAndSeverity(string line, string message, string source, LogSeverity severity)
    {
        var m = new byte[256];
        var s = new byte[64];
        Assert.Equal(LogReject.None, JsonLogLine.TryParse(Encoding.UTF8.GetBytes(line), m, s, out var ml, out var sl, out var sev));
        Assert.Equal(message, Encoding.UTF8.GetString(m, 0, ml));
        Assert.Equal(source, Encoding.UTF8.GetString(s, 0, sl));
        Assert.Equal(severity, sev);
    }

    [Theory]
    [InlineData("not json", LogReject.BadJson)]
    [InlineData("[1,2]", LogReject.BadJson)]
    [InlineData("{\"msg\":\"a\"} trailing", LogReject.BadJson)]
    [InlineData("{\"level\":\"info\"}", LogReject.NoMessage)]
    [InlineData("{\"msg\":\"unterminated", LogReject.BadJson)]
    public void BadJsonLinesAreRefusedWithAReason(string line, LogReject reason) =>
        Assert.Equal(reason, JsonLogLine.TryParse(Encoding.UTF8.GetBytes(line), new byte[64], new byte[64], out _, out _, out _));

    [Theory]
    [InlineData("2026-12-07 15:30:00,123 ERROR [main] boom", LogSeverity.Error)]
    [InlineData("[Sun Dec 04 04:47:44 2005] [error] mod_jk child workerEnv in error state 6", LogSeverity.Error)]
    [InlineData("ts=1 level=warn msg=\"slow\"", LogSeverity.Warning)]
    [InlineData("W: no newline", LogSeverity.Unknown)]
    [InlineData("the request had no error at all", LogSeverity.Unknown)]
    [InlineData("081109 203615 148 INFO dfs.DataNode$PacketResponder: PacketResponder 1 terminating", LogSeverity.Informational)]
    public void PlainLinesSayTheirSeverityInTheirFirstWords(string line, LogSeverity severity) =>
        Assert.Equal(severity, LogSeverities.Detect(line));

    [Fact]
    public void DrainGroupsLinesThatDifferInTheirVariablesAndKeepsOthersApart()
    {
        var miner = new TemplateMiner("web");
        var a = miner.Add("session opened for alice from 10.0.0.1", out var created);
        Assert.True(created);
        Assert.Equal(a, miner.Add("session opened for bob from 10.0.0.7", out created));
        Assert.False(created);
        Assert.Equal("session opened for <*> from <*>", miner.Templates[a].Text);
        var b = miner.Add("session closed for carol", out created);
        Assert.True(created);
        var c = miner.Add("connection reset by peer 10.0.0.9", out _);
        Assert.Equal(3, new[] { a, b, c }.Distinct().Count());
        Assert.Equal(2, miner.Templates[a].Lines);
        // Ids are stable: the same first line in another miner of the same source gives the same id.
        var again = new TemplateMiner("web");
        Assert.Equal(miner.Templates[a].Id, again.Templates[again.Add("session opened for alice from 10.0.0.1", out _)].Id);
        var db = new TemplateMiner("db");
        Assert.NotEqual(miner.Templates[a].Id, db.Templates[db.Add("session opened for alice from 10.0.0.1", out _)].Id);
    }

    [Fact]
    public void ARestoredTemplateTakesItsLinesAgainUnderItsOldId()
    {
        var miner = new TemplateMiner("web");
        var restored = miner.Restore("0123456789ab", "GET <*> took <*> ms");
        Assert.Equal(restored.Index, miner.Add("GET /index took 12 ms", out var created));
        Assert.False(created);
        Assert.Equal("0123456789ab", miner.Templates[restored.Index].Id);
    }

    [Fact]
    public void TheMinerStopsMakingTemplatesAtItsLimit()
    {
        var miner = new TemplateMiner(similarity: 0.9, maxTemplates: 2);
        miner.Add("alpha beta gamma", out _);
        miner.Add("one two", out _);
        Assert.Equal(0, miner.Add("alpha beta epsilon", out var created)); // closest, though under the similarity
        Assert.False(created);
        Assert.Equal(-1, miner.Add("lonely", out _));
        Assert.Equal(2, miner.Templates.Count);
    }
}

public sealed class GroupingAccuracyTests
{
    [Fact]
    public void AccuracyCountsOnlyLinesWhoseGroupIsExactlyTheirTemplatesLines()
    {
        // Truth: A A A B B C. Predicted: {0,1,2} right, {3} and {4} split B (both wrong), {5} right.
        Assert.Equal(4.0 / 6, GroupingAccuracy.Score([1, 1, 1, 2, 3, 4], ["A", "A", "A", "B", "B", "C"]), 10);
        // Merging two templates makes both wrong.
        Assert.Equal(0, GroupingAccuracy.Score([1, 1, 1, 1], ["A", "A", "B", "B"]));
        Assert.Equal(1, GroupingAccuracy.Score(["x", "y", "x"], [7, 8, 7]));
    }

    [Fact]
    public void ALogHubStructuredCsvIsReadWithItsQuotingAndDrainGroupsIt()
    {
        const string csv = """
            LineId,Date,Time,Pid,Level,Component,Content,EventId,EventTemplate
            1,081109,203615,148,INFO,dfs.DataNode$PacketResponder,PacketResponder 1 for block blk_38865049064139660 terminating,E10,PacketResponder <*> for block <*> terminating
            2,081109,203807,222,INFO,dfs.DataNode$PacketResponder,PacketResponder 0 for block blk_-6952295868487656571 terminating,E10,PacketResponder <*> for block <*> terminating
            3,081109,204005,35,INFO,dfs.FSNamesystem,"BLOCK* NameSystem.addStoredBlock: blockMap updated: 10.251.73.220:50010 is added to blk_7128370237687728475 size 67108864",E6,"BLOCK* NameSystem.addStoredBlock: blockMap updated: <*> is added to <*> size <*>"
            4,081109,204015,308,INFO,dfs.DataNode$PacketResponder,"Received block blk_8229193803249955061 of size 67108864 from /10.251.71.16",E3,Received block <*> of size <*> from <*>
            """;
        var rows = GroupingAccuracy.ReadLogHub(new StringReader(csv));
        Assert.Equal(4, rows.Count);
        Assert.Equal("BLOCK* NameSystem.addStoredBlock: blockMap updated: 10.251.73.220:50010 is added to blk_7128370237687728475 size 67108864", rows[2].Content);
        var (accuracy, templates) = GroupingAccuracy.Measure(rows, new TemplateMiner());
        Assert.Equal(1, accuracy);
        Assert.Equal(3, templates);
    }
}
