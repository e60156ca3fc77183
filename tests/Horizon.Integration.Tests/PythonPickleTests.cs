using System.Text.Json;

namespace Horizon.Integration.Tests;

public sealed class PythonPickleTests
{
    [Theory]
    [InlineData("py3_protocol2")]
    [InlineData("py3_relay_batch500")]
    public void TestPickleWriterWritesWhatPythonWrites(string fixture)
    {
        var dir = Path.Combine(AppContext.BaseDirectory, "Fixtures", "pickle");
        using var doc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(dir, fixture + ".json")));
        var points = doc.RootElement.EnumerateArray().Select(e => (e[0].GetString()!, e[1].GetDouble(), e[2].GetDouble()));
        Assert.Equal(File.ReadAllBytes(Path.Combine(dir, fixture + ".pickle")), PythonPickle.DumpsProtocol2(points));
    }
}
