using System.Buffers;
using System.Text;
using Horizon.Core.Metrics;
using Horizon.Core.Protocols;
using MessagePack;

namespace Horizon.Core.Tests;

public sealed class NamesAndDatagramTests
{
    [Theory]
    [InlineData("servers.web01.cpu", RejectReason.None)]
    [InlineData("caf\u00e9.temp", RejectReason.None)]
    [InlineData("tagged;env=prod", RejectReason.None)]
    [InlineData("", RejectReason.EmptyName)]
    [InlineData("with space", RejectReason.InvalidNameCharacter)]
    [InlineData("tab\there", RejectReason.InvalidNameCharacter)]
    [InlineData("del\u007f", RejectReason.InvalidNameCharacter)]
    [InlineData("c1\u0085control", RejectReason.InvalidNameCharacter)]
    public void NamesAreCheckedForEmptinessControlsAndWhitespace(string name, RejectReason expected) =>
        Assert.Equal(expected, MetricName.Validate(Encoding.UTF8.GetBytes(name)));

    [Fact]
    public void NamesAreCheckedForLengthAndUtf8()
    {
        Assert.Equal(RejectReason.None, MetricName.Validate(new byte[1024].Select(_ => (byte)'a').ToArray()));
        Assert.Equal(RejectReason.NameTooLong, MetricName.Validate(new byte[1025].Select(_ => (byte)'a').ToArray()));
        Assert.Equal(RejectReason.InvalidUtf8, MetricName.Validate([(byte)'a', 0xc3]));
        Assert.Equal(RejectReason.InvalidUtf8, MetricName.Validate([0xed, 0xa0, 0x80])); // a lone surrogate
    }

    [Fact]
    public void SkipListMatchesSubstringsAsSkylineAndGlobsOnWholeNames()
    {
        var skip = new SkipList(["carbon.", "*.debug.*", "exact?name", " "]);
        Assert.True(skip.Matches("stats.carbon.agents"u8));
        Assert.True(skip.Matches("app.debug.x"u8));
        Assert.False(skip.Matches("app.debugx"u8));
        Assert.True(skip.Matches("exact1name"u8));
        Assert.False(skip.Matches("exact12name"u8));
        Assert.False(skip.Matches("servers.web"u8));
    }

    [Fact]
    public void RegistryFindsKnownNamesWithoutAllocatingAndBoundsItsSize()
    {
        var registry = new MetricRegistry("metrics.", new SkipList(["skipme"]), maxMetrics: 3);
        Assert.Equal(RejectReason.None, registry.GetOrAdd("a.b"u8, out var first));
        Assert.Equal("metrics.a.b", Encoding.UTF8.GetString(first!.RedisKey));
        Assert.Equal(RejectReason.None, registry.GetOrAdd("a.b"u8, out var again));
        Assert.Same(first, again);
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
        {
            registry.GetOrAdd("a.b"u8, out _);
        }
        Assert.Equal(before, GC.GetAllocatedBytesForCurrentThread());
        Assert.Equal(RejectReason.None, registry.GetOrAdd("x.skipme.y"u8, out var skipped));
        Assert.True(skipped!.IsSkipped);
        Assert.Equal(RejectReason.None, registry.GetOrAdd("c"u8, out _));
        Assert.Equal(RejectReason.TooManyMetrics, registry.GetOrAdd("d"u8, out var none));
        Assert.Null(none);
    }

    [Fact]
    public void RegistrySweepForgetsNamesNotWrittenSinceTheCutoff()
    {
        var registry = new MetricRegistry();
        registry.GetOrAdd("old"u8, out var old);
        registry.GetOrAdd("new"u8, out var fresh);
        old!.LastWritten = 100;
        fresh!.LastWritten = 200;
        Assert.Equal(1, registry.Sweep(150));
        Assert.Null(registry.Find("old"u8));
        Assert.Same(fresh, registry.Find("new"u8));
        Assert.Equal(1, registry.Count);
    }

    [Fact]
    public void RegistryCountsNamesAddedConcurrentlyOnceEach()
    {
        // Four listeners meeting the same 20k new names at once: each name gets one key, and the
        // count (kept apart from the table) is exact, so the bound holds.
        var registry = new MetricRegistry(maxMetrics: 20_000);
        var keys = new MetricKey?[4][];
        Parallel.For(0, 4, t =>
        {
            keys[t] = new MetricKey?[20_000];
            for (var i = 0; i < 20_000; i++)
            {
                var n = (i + (t * 5_000)) % 20_000;
                registry.GetOrAdd(Encoding.UTF8.GetBytes($"m.{n}"), out keys[t][n]);
            }
        });
        Assert.Equal(20_000, registry.Count);
        for (var n = 0; n < 20_000; n++)
        {
            Assert.NotNull(keys[0][n]);
            Assert.All(keys, k => Assert.Same(keys[0][n], k[n]));
        }
        Assert.Equal(RejectReason.TooManyMetrics, registry.GetOrAdd("one.more"u8, out _));
    }

    private static byte[] Datagram(Action<MessagePackWriter> body)
    {
        var buffer = new ArrayBufferWriter<byte>();
        var w = new MessagePackWriter(buffer);
        body(w);
        return buffer.WrittenSpan.ToArray();
    }

    [Fact]
    public void MsgpackDatagramsAsSkylineSendsThemAreParsed()
    {
        var cases = new[]
        {
            Datagram(w => { w.WriteArrayHeader(2); w.Write("a.b"); w.WriteArrayHeader(2); w.Write(1700000000); w.Write(1.5); w.Flush(); }),
            Datagram(w => { w.WriteArrayHeader(2); w.Write(Encoding.UTF8.GetBytes("a.b")); w.WriteArrayHeader(2); w.Write(1700000000.0); w.Write(1.5f); w.Flush(); }),
            MessagePackSerializer.Serialize(new object[] { "a.b", new object[] { 1700000000L, 1.5 } }, cancellationToken: TestContext.Current.CancellationToken),
        };
        foreach (var datagram in cases)
        {
            Assert.Equal(RejectReason.None, MsgpackDatagramParser.Parse(datagram, out var name, out var ts, out var value));
            Assert.Equal("a.b", Encoding.UTF8.GetString(name));
            Assert.Equal(1700000000, ts);
            Assert.Equal(1.5, value);
        }
    }

    [Fact]
    public void MalformedMsgpackDatagramsAreRejected()
    {
        var good = MessagePackSerializer.Serialize(new object[] { "a.b", new object[] { 1700000000L, 2 } }, cancellationToken: TestContext.Current.CancellationToken);
        for (var cut = 0; cut < good.Length; cut++)
        {
            Assert.Equal(RejectReason.MalformedDatagram, MsgpackDatagramParser.Parse(good.AsSpan(0, cut), out _, out _, out _));
        }
        Assert.Equal(RejectReason.MalformedDatagram, MsgpackDatagramParser.Parse([.. good, 0x01], out _, out _, out _));
        var nilValue = MessagePackSerializer.Serialize(new object?[] { "a.b", new object?[] { 1700000000L, null } }, cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal(RejectReason.MalformedDatagram, MsgpackDatagramParser.Parse(nilValue, out _, out _, out _));
        var badName = MessagePackSerializer.Serialize(new object[] { "a b", new object[] { 1700000000L, 2 } }, cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal(RejectReason.InvalidNameCharacter, MsgpackDatagramParser.Parse(badName, out _, out _, out _));
        var nan = MessagePackSerializer.Serialize(new object[] { "a.b", new object[] { 1700000000L, double.NaN } }, cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal(RejectReason.NonFiniteValue, MsgpackDatagramParser.Parse(nan, out _, out _, out _));
    }
}
