using System.Globalization;
using System.Text;
using System.Threading.Channels;
using Horizon.Core;
using Horizon.Core.Metrics;
using Microsoft.Extensions.Logging;

namespace Horizon.Storage.Events;

/// <summary>Turns points named with <see cref="EventOptions.MetricPrefix"/> into events: the name's
/// components after the prefix are the tags and the start of <c>what</c>, the value ends it
/// (<c>events.deploy.web 1234</c>: "deploy web 1234", tags deploy and web). The writer offers them
/// as it takes them; they are stored in the background, at most 10,000 waiting (beyond: dropped
/// and logged).</summary>
public sealed partial class EventPoints : IAsyncDisposable
{
    private readonly Channel<HorizonEvent> _queue = Channel.CreateBounded<HorizonEvent>(new BoundedChannelOptions(10_000) { SingleReader = true, FullMode = BoundedChannelFullMode.DropWrite });
    private readonly EventStore _events;
    private readonly EventOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Task _loop;

    /// <summary>Starts storing what is offered.</summary>
    public EventPoints(EventStore events, EventOptions options, TimeProvider time, ILogger<EventPoints> logger)
    {
        _events = events;
        _options = options;
        _time = time;
        _logger = logger;
        _loop = Task.Run(StoreAsync);
    }

    /// <summary>The event a point of an event name makes.</summary>
    public static HorizonEvent ToEvent(string name, string prefix, long timestamp, double value)
    {
        var tags = name[prefix.Length..].Split('.', StringSplitOptions.RemoveEmptyEntries);
        return new HorizonEvent
        {
            Id = StoreKeys.NewRecordId("e-"),
            When = timestamp,
            What = string.Join(' ', tags.Append(value.ToString("R", CultureInfo.InvariantCulture))),
            Tags = tags,
            Data = $"carbon: {name}",
        };
    }

    /// <summary>Queues the event of one point (called by the writer for <see cref="MetricKey.IsEvent"/> keys).</summary>
    public void Offer(MetricKey key, long timestamp, double value)
    {
        if (!_queue.Writer.TryWrite(ToEvent(Encoding.UTF8.GetString(key.Name), _options.MetricPrefix, timestamp, value)))
        {
            Log.Dropped(_logger, Encoding.UTF8.GetString(key.Name));
        }
    }

    private async Task StoreAsync()
    {
        await foreach (var e in _queue.Reader.ReadAllAsync())
        {
            try
            {
                await _events.AddAsync(e, _time.GetUtcNow().ToUnixTimeSeconds());
            }
            catch (Exception ex) when (ex is StackExchange.Redis.RedisException or TimeoutException)
            {
                Log.NotStored(_logger, e.What, ex.Message);
            }
        }
    }

    /// <summary>Stores what is queued (for up to 5 s), then stops.</summary>
    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _loop.WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 710, Level = LogLevel.Warning, Message = "Event from the point {Name} dropped: 10,000 events are waiting to be stored")]
        public static partial void Dropped(ILogger logger, string name);

        [LoggerMessage(EventId = 711, Level = LogLevel.Warning, Message = "Event {What} from a point not stored: {Reason}")]
        public static partial void NotStored(ILogger logger, string what, string reason);
    }
}
