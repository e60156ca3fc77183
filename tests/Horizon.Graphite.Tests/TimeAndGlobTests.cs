using Horizon.Graphite;

namespace Horizon.Graphite.Tests;

public class TimeAndGlobTests
{
    // 2026-12-07 12:34:56 UTC
    private const long Now = 1796646896;

    [Theory]
    [InlineData("now", Now)]
    [InlineData("-6h", Now - (6 * 3600))]
    [InlineData("-10min", Now - 600)]
    [InlineData("-10m", Now - 600)]
    [InlineData("now-1d", Now - 86400)]
    [InlineData("-2w", Now - (14 * 86400))]
    [InlineData("-1mon", Now - (30 * 86400))]
    [InlineData("+30s", Now + 30)]
    [InlineData("1796600000", 1796600000)]
    [InlineData("20261207", 1796601600)]
    [InlineData("12:30_20261207", 1796646600)]
    [InlineData("12/07/26", 1796601600)]
    [InlineData("today", 1796601600)]
    [InlineData("midnight", 1796601600)]
    [InlineData("yesterday", 1796601600 - 86400)]
    public void GraphitesTimeFormatsAreRead(string text, long expected) => Assert.Equal(expected, GraphiteTime.Parse(text, Now));

    [Theory]
    [InlineData("")]
    [InlineData("-6x")]
    [InlineData("soon")]
    [InlineData("-h")]
    [InlineData("13/45/26")]
    public void WhatIsNoTimeIsNull(string text) => Assert.Null(GraphiteTime.Parse(text, Now));

    [Theory]
    [InlineData("app.*.requests", "app.web1.requests", true)]
    [InlineData("app.*.requests", "app.web1.db.requests", false)]
    [InlineData("app.*", "app.web1", true)]
    [InlineData("app.web?.requests", "app.web7.requests", true)]
    [InlineData("app.web[0-4].requests", "app.web3.requests", true)]
    [InlineData("app.web[0-4].requests", "app.web7.requests", false)]
    [InlineData("app.{web1,db2}.requests", "app.db2.requests", true)]
    [InlineData("app.{web1,db2}.requests", "app.web2.requests", false)]
    [InlineData("app.web*.{req*,err*}", "app.web10.errors", true)]
    [InlineData("app.web1.requests", "app.web1.requests", true)]
    [InlineData("app.web1.requests", "app.web1Xrequests", false)]
    [InlineData("stats_counts.a+b", "stats_counts.a+b", true)]
    public void GlobsMatchWithinANode(string pattern, string name, bool matches) => Assert.Equal(matches, new GraphiteGlob(pattern).IsMatch(name));

    [Fact]
    public void AGlobKnowsItsLiteralPrefixAndDepth()
    {
        var glob = new GraphiteGlob("app.web*.{a,b}");
        Assert.Equal("app.web", glob.Prefix);
        Assert.Equal(3, glob.Depth);
        Assert.False(glob.IsLiteral);
        Assert.True(new GraphiteGlob("a.b").IsLiteral);
        Assert.Throws<ArgumentException>(() => new GraphiteGlob("a.[bc"));
        Assert.Throws<ArgumentException>(() => new GraphiteGlob("a.{b,c"));
    }
}
