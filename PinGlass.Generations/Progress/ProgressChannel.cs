using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace PinGlass.Generations.Progress;

/// <summary>
/// Progress events over Redis pub/sub, one channel per generation, so a client following a generation on one Api replica sees the
/// changes the Jobs replicas make. Events are published while the change's row lock is held, so they arrive in version order.
/// </summary>
public sealed partial class ProgressChannel(IConnectionMultiplexer redis, ILogger<ProgressChannel> logger)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static RedisChannel ChannelOf(Guid generationId) => RedisChannel.Literal($"pinglass:generations:{generationId:N}:progress");

    /// <summary>Publishes a change. A Redis outage must not undo the change itself: followers then catch up from the database.</summary>
    public async Task PublishAsync(GenerationProgress progress)
    {
        try
        {
            await redis.GetSubscriber().PublishAsync(ChannelOf(progress.GenerationId), JsonSerializer.Serialize(progress, Json));
        }
        catch (RedisException e)
        {
            LogPublishFailed(logger, progress.GenerationId, progress.Version, e.Message);
        }
    }

    /// <summary>Subscribes now: every event of the generation from this moment is kept for the caller to read.</summary>
    public async Task<ProgressSubscription> SubscribeAsync(Guid generationId)
    {
        var events = Channel.CreateUnbounded<GenerationProgress>(new UnboundedChannelOptions { SingleReader = true });
        var queue = await redis.GetSubscriber().SubscribeAsync(ChannelOf(generationId));
        queue.OnMessage(message =>
        {
            if (JsonSerializer.Deserialize<GenerationProgress>(message.Message.ToString(), Json) is { } progress)
            {
                events.Writer.TryWrite(progress);
            }
        });
        return new ProgressSubscription(queue, events.Reader);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Progress {Version} of generation {GenerationId} was not published: {Reason}")]
    private static partial void LogPublishFailed(ILogger logger, Guid generationId, long version, string reason);
}

/// <summary>One follower's events; dispose it to unsubscribe.</summary>
public sealed class ProgressSubscription(ChannelMessageQueue queue, ChannelReader<GenerationProgress> events) : IAsyncDisposable
{
    public IAsyncEnumerable<GenerationProgress> ReadAllAsync(CancellationToken cancellationToken) => events.ReadAllAsync(cancellationToken);

    public async ValueTask DisposeAsync() => await queue.UnsubscribeAsync();
}
