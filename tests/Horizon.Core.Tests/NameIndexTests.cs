using System.Text;
using Horizon.Core.Series;

namespace Horizon.Core.Tests;

/// <summary>The name index's layout: which sets a name goes to in each mode, and the hash slot
/// that picks its part (values from redis-server 7.0's CLUSTER KEYSLOT; the integration test
/// compares every name it writes with a real cluster's).</summary>
public sealed class NameIndexTests
{
    [Theory]
    [InlineData("foo", 12182)]
    [InlineData("metrics.web.api", 12021)]
    [InlineData("{user1000}.following", 3443)]
    [InlineData("{user1000}.followers", 3443)]
    [InlineData("{}x", 10595)] // an empty tag: the whole key
    [InlineData("a{}b{c}", 7353)] // the first { and the next }: empty, so the whole key
    [InlineData("{c}", 7365)]
    [InlineData("x{", 3596)] // no closing brace
    [InlineData("名前", 8425)]
    [InlineData("", 0)]
    public void HashSlotIsRedisClustersKeySlot(string key, int slot) =>
        Assert.Equal(slot, NameIndex.HashSlot(Encoding.UTF8.GetBytes(key)));

    [Fact]
    public void EachModeWritesAndReadsItsSets()
    {
        var key = "metrics.web.api";
        var part = StoreKeys.NamePart(12021 % NameIndex.Parts);
        Assert.Equal("horizon.names.{53}", part);

        var skyline = new NameIndex(StoreKeys.DefaultNamespace, NameIndexMode.Skyline);
        Assert.Equal(["metrics.unique_metrics"], skyline.SetsOf(key));
        Assert.Equal(["metrics.unique_metrics"], skyline.ReadSets);

        var split = new NameIndex(StoreKeys.DefaultNamespace, NameIndexMode.Split);
        Assert.Equal([part], split.SetsOf(key));
        Assert.Equal(NameIndex.Parts, split.ReadSets.Count);
        Assert.Equal(NameIndex.Parts, split.ReadSets.Distinct().Count());

        var both = new NameIndex(StoreKeys.DefaultNamespace, NameIndexMode.Both);
        Assert.Equal([part, "metrics.unique_metrics"], both.SetsOf(key));
        Assert.Equal(split.ReadSets, both.ReadSets); // the split sets are read; Skyline's is kept for others
        Assert.True(both.IsIndexKey("metrics.unique_metrics"));
        Assert.True(both.IsIndexKey(part));
        Assert.False(both.IsIndexKey(key));

        // Another namespace has its own sets.
        var prod = new NameIndex("prod.", NameIndexMode.Split);
        Assert.All(prod.ReadSets, set => Assert.StartsWith("horizon.names.prod.{", set, StringComparison.Ordinal));
        Assert.Empty(prod.ReadSets.Intersect(split.ReadSets));
    }

    [Fact]
    public void KeysAreGroupedOneCommandPerSet()
    {
        var both = new NameIndex(StoreKeys.DefaultNamespace, NameIndexMode.Both);
        byte[][] keys = [.. Enumerable.Range(0, 500).Select(i => Encoding.UTF8.GetBytes($"metrics.m{i}"))];
        var groups = both.Group(keys);
        Assert.Equal(groups.Count, groups.Select(g => g.Set).Distinct().Count());
        Assert.Equal(keys.Length, groups.Single(g => g.Set == "metrics.unique_metrics").Keys.Count);
        Assert.Equal(keys.Length, groups.Where(g => g.Set != "metrics.unique_metrics").Sum(g => g.Keys.Count));
        Assert.All(groups.Where(g => g.Set != "metrics.unique_metrics"), g => Assert.All(g.Keys, k => Assert.Equal(g.Set, both.PartOf(k))));
        // 500 names reach nearly every one of the 64 parts.
        Assert.InRange(groups.Count - 1, 56, 64);
    }
}
