namespace Horizon.Integration.Tests;

/// <summary>One redis-server per test class that uses it.</summary>
public sealed class RedisFixture : IAsyncLifetime
{
    /// <summary>The server.</summary>
    public RedisServer Server { get; private set; } = null!;

    /// <inheritdoc />
    public async ValueTask InitializeAsync() => Server = await RedisServer.StartAsync();

    /// <inheritdoc />
    public ValueTask DisposeAsync() => Server?.DisposeAsync() ?? ValueTask.CompletedTask;
}

/// <summary>How a test class gets its store: a real redis-server (shared by the class, emptied
/// before each host) or the embedded Garnet (one per host, in a temporary directory).</summary>
public interface IStoreUnderTest
{
    /// <summary>Starts a Horizon host on this store.</summary>
    Task<HorizonHost> StartHostAsync(IDictionary<string, string?>? settings = null);
}

/// <summary>Hosts on a real redis-server.</summary>
public sealed class RedisStoreUnderTest(RedisFixture fixture) : IStoreUnderTest
{
    /// <inheritdoc />
    public async Task<HorizonHost> StartHostAsync(IDictionary<string, string?>? settings = null)
    {
        await using (var mux = await fixture.Server.ConnectAsync())
        {
            await mux.GetServers()[0].FlushAllDatabasesAsync();
        }
        return await HorizonHost.StartAsync(fixture.Server.ConnectionString, settings);
    }
}

/// <summary>Hosts on the embedded Garnet.</summary>
public sealed class GarnetStoreUnderTest : IStoreUnderTest
{
    /// <inheritdoc />
    public Task<HorizonHost> StartHostAsync(IDictionary<string, string?>? settings = null) => HorizonHost.StartAsync(null, settings);
}
