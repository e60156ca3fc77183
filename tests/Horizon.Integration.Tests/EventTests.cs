using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using static Horizon.Integration.Tests.TestSupport;

namespace Horizon.Integration.Tests;

/// <summary>Events (deploys) through the HTTP API on the embedded store: Graphite's shape in,
/// listed by range and tag, deleted, bounded.</summary>
public sealed class EventTests
{
    private static readonly CancellationToken Ct = TestContext.Current.CancellationToken;

    [Fact]
    public async Task EventsArePostedInGraphitesShapeListedByRangeAndTagAndDeleted()
    {
        await using var host = await HorizonHost.StartAsync(null, new Dictionary<string, string?> { ["Events:MaxEvents"] = "3" });
        var url = $"http://{host.Endpoint("web")}/api/events";
        using var http = WritingClient();
        using var anonymous = new HttpClient();
        var now = Now;
        async Task<HttpResponseMessage> PostAsync(HttpClient client, string json)
        {
            using var body = new StringContent(json);
            return await client.PostAsync(url, body, Ct);
        }
        Assert.Equal(HttpStatusCode.Unauthorized, (await PostAsync(anonymous, """{"what":"deploy"}""")).StatusCode);
        foreach (var bad in new[] { "[]", """{"tags":"x"}""", """{"what":""}""", """{"what":"a\nb"}""", """{"what":"x","when":"soon"}""", """{"what":"x","tags":[1]}""", "not json" })
        {
            var refused = await PostAsync(http, bad);
            Assert.True(refused.StatusCode == HttpStatusCode.BadRequest, $"{bad}: {refused.StatusCode}");
        }
        // Tags as Graphite's space-separated string or a list; when defaults to now.
        var web = await (await PostAsync(http, $$"""{"what":"deploy web 1234","tags":"deploy web","when":{{now - 600}},"data":"by alice"}""")).EnsureSuccessStatusCode().Content.ReadFromJsonAsync<JsonElement>(Ct);
        Assert.StartsWith("e-", web.GetProperty("id").GetString(), StringComparison.Ordinal);
        Assert.Equal(["deploy", "web"], web.GetProperty("tags").EnumerateArray().Select(t => t.GetString()));
        await PostAsync(http, $$"""{"what":"deploy api 77","tags":["deploy","api"],"when":{{now - 300}}}""");
        var flag = await (await PostAsync(http, """{"what":"feature flag checkout-v2 on"}""")).Content.ReadFromJsonAsync<JsonElement>(Ct);
        Assert.InRange(flag.GetProperty("when").GetInt64(), now - 5, now + 60);

        async Task<List<string>> WhatAsync(string query) =>
            [.. (await anonymous.GetFromJsonAsync<JsonElement>($"{url}?{query}", Ct)).GetProperty("events").EnumerateArray().Select(e => e.GetProperty("what").GetString()!)];
        Assert.Equal(["deploy web 1234", "deploy api 77", "feature flag checkout-v2 on"], await WhatAsync($"from={now - 3600}&until={now + 60}"));
        Assert.Equal(["deploy web 1234", "deploy api 77"], await WhatAsync($"from={now - 3600}&until={now + 60}&tags=deploy"));
        Assert.Equal(["deploy api 77"], await WhatAsync($"from={now - 3600}&until={now + 60}&tags=deploy+api"));
        Assert.Equal(["deploy api 77"], await WhatAsync($"from={now - 400}&until={now - 200}"));

        // At most MaxEvents (3): a fourth drops the oldest.
        await PostAsync(http, $$"""{"what":"deploy web 1235","tags":"deploy web","when":{{now + 120}}}""");
        Assert.Equal(["deploy api 77", "feature flag checkout-v2 on", "deploy web 1235"], await WhatAsync($"from={now - 3600}&until={now + 200}"));

        var id = flag.GetProperty("id").GetString();
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.DeleteAsync($"{url}/{id}", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await http.DeleteAsync($"{url}/{id}", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await http.DeleteAsync($"{url}/{id}", Ct)).StatusCode);
        Assert.Equal(["deploy api 77", "deploy web 1235"], await WhatAsync($"from={now - 3600}&until={now + 200}"));
    }

    [Fact]
    public async Task APointUnderTheEventsPrefixIsAlsoAnEventForToolsThatOnlySpeakCarbon()
    {
        await using var host = await HorizonHost.StartAsync(null);
        var now = Now;
        await SendTcpAsync(host.Endpoint("plaintext"), $"events.deploy.web 1234 {now - 30}\neventsx.deploy 1 {now}\nevents. 5 {now}\n");
        using var anonymous = new HttpClient();
        var url = $"http://{host.Endpoint("web")}/api/events?from={now - 60}&until={now + 60}";
        JsonElement listed = default;
        await WaitUntilAsync(async () => (listed = await anonymous.GetFromJsonAsync<JsonElement>(url, Ct)).GetProperty("count").GetInt32() > 0, "the event");
        var e = Assert.Single(listed.GetProperty("events").EnumerateArray());
        Assert.Equal("deploy web 1234", e.GetProperty("what").GetString());
        Assert.Equal(["deploy", "web"], e.GetProperty("tags").EnumerateArray().Select(t => t.GetString()));
        Assert.Equal(now - 30, e.GetProperty("when").GetInt64());
        Assert.Equal("carbon: events.deploy.web", e.GetProperty("data").GetString());
        // The point is a series too, as Graphite's drawAsInfinite users expect.
        Assert.Equal([(now - 30, 1234.0)], await ReadSeriesAsync(host.Db, "events.deploy.web"));
    }
}
