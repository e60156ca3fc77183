using Horizon.Analyzer;

namespace Horizon.Integration.Tests;

/// <summary>The analyzer's local copy on its own: memory-mapped arena, in-memory tails merged
/// past the threshold, growth across size classes, and a restart from the saved index.</summary>
public sealed class LocalSeriesCacheTests
{
    [Fact]
    public void AppendsReplacesAndRemovalsAlwaysReadBackExactlyAndSurviveARestart()
    {
        var directory = Path.Combine(Path.GetTempPath(), "horizon-cache-" + Guid.NewGuid().ToString("N"));
        try
        {
            var random = new Random(11);
            var expected = new Dictionary<string, List<byte>>();
            using (var cache = LocalSeriesCache.Open(directory))
            {
                for (var step = 0; step < 20_000; step++)
                {
                    var key = $"metrics.k{random.Next(40)}";
                    var chunk = new byte[random.Next(1, 300)];
                    random.NextBytes(chunk);
                    switch (random.Next(20))
                    {
                        case 0:
                            cache.Remove(key);
                            expected.Remove(key);
                            break;
                        case 1:
                            cache.Replace(key, chunk);
                            expected[key] = [.. chunk];
                            break;
                        default:
                            var entry = cache.Find(key) ?? cache.Replace(key, []);
                            cache.Append(entry, chunk);
                            if (!expected.TryGetValue(key, out var list))
                            {
                                expected[key] = list = [];
                            }
                            list.AddRange(chunk);
                            break;
                    }
                }
                Assert.Equal(expected.Keys.Order(), cache.Keys.Order());
                var last = new byte[32];
                foreach (var (key, bytes) in expected)
                {
                    var entry = cache.Find(key)!;
                    Assert.Equal(bytes, cache.ToArray(entry));
                    var n = cache.CopyLast(entry, last);
                    Assert.Equal(bytes.TakeLast(32), last[..n]);
                }
                Assert.Equal(expected.Values.Sum(b => (long)b.Count), cache.Bytes);
                Assert.Contains(cache.Entries, e => e.TailLength > 0);
                Assert.Contains(cache.Entries, e => e.BaseLength > LocalSeriesCache.MergeThreshold);
                cache.SaveIndex();
            }
            using (var reopened = LocalSeriesCache.Open(directory))
            {
                Assert.Equal(expected.Keys.Order(), reopened.Keys.Order());
                foreach (var (key, bytes) in expected)
                {
                    Assert.Equal(bytes, reopened.ToArray(reopened.Find(key)!));
                }
                // Opening consumed the index: a crash from here on means a cold start.
                Assert.False(File.Exists(Path.Combine(directory, "index.bin")));
            }
            using var cold = LocalSeriesCache.Open(directory);
            Assert.Equal(0, cold.Count);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
