using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace PinGlass.Generations.Progress;

/// <summary>
/// Progress events over Redis pub/sub, one channel per generation, so a client following a generation on one Api replica sees the
/// changes the Jobs replicas make. Events are published after their change commits, so two changes committed close together may arrive
/// out of version order: a follower reads the ones it missed from the database's log (<see cref="ProgressFollower"/>).
/// </summary>
public sealed partial class ProgressChannel(IConnectionMultiplexer redis, ILogger<ProgressChannel> logger)
{
    public static RedisChannel ChannelOf(Guid generationId) => RedisChannel.Literal($"pinglass:generations:{generationId:N}:progress");

    /// <summary>Publishes a change. A Redis outage must not undo the change itself: followers then catch up from the database.</summary>
    public async Task PublishAsync(GenerationProgress progress)
    {
        try
        {
            await redis.GetSubscriber().PublishAsync(ChannelOf(progress.GenerationId), JsonSerializer.Serialize(progress, GenerationProgress.Json));
        }
        catch (Exception e) when (e is RedisException or RedisTimeoutException)
        {
            LogPublishFailed(logger, progress.GenerationId, progress.Version, e.Message);
        }
    }

    /// <summary>
    /// Subscribes now: every event of the generation from this moment is kept for the caller to read. Null when Redis cannot be reached:
    /// the follower then reads the database alone.
    /// </summary>
    public async Task<ProgressSubscription?> SubscribeAsync(Guid generationId)
    {
        var events = Channel.CreateUnbounded<GenerationProgress>(new UnboundedChannelOptions { SingleReader = true });
        ChannelMessageQueue queue;
        try
        {
            queue = await redis.GetSubscriber().SubscribeAsync(ChannelOf(generationId));
        }
        catch (Exception e) when (e is RedisException or RedisTimeoutException)
        {
            LogSubscribeFailed(logger, generationId, e.Message);
            return null;
        }

        queue.OnMessage(message =>
        {
            if (JsonSerializer.Deserialize<GenerationProgress>(message.Message.ToString(), GenerationProgress.Json) is { } progress)
            {
                events.Writer.TryWrite(progress);
            }
        });
        return new ProgressSubscription(queue, events.Reader);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Progress {Version} of generation {GenerationId} was not published: {Reason}")]
    private static partial void LogPublishFailed(ILogger logger, Guid generationId, long version, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Progress of generation {GenerationId} is followed from the database alone: Redis could not be subscribed to ({Reason})")]
    private static partial void LogSubscribeFailed(ILogger logger, Guid generationId, string reason);
}

/// <summary>One follower's events; dispose it to unsubscribe.</summary>
public sealed class ProgressSubscription(ChannelMessageQueue queue, ChannelReader<GenerationProgress> events) : IAsyncDisposable
{
    public ChannelReader<GenerationProgress> Events => events;

    public async ValueTask DisposeAsync() => await queue.UnsubscribeAsync();
}
