using System.Runtime.CompilerServices;
using System.Threading.Channels;

namespace PinGlass.Generations.Progress;

/// <summary>
/// What one follower of a generation is sent: its state now, then each newer version, until the generation ends. Redis brings changes
/// at once; after <see cref="PipelineOptions.ProgressCatchUp"/> of quiet the database is read, so a publish that failed, a worker killed
/// between commit and publish, or events lost while Redis restarted delay a follower but never stall it. Versions only grow: an event
/// overtaken by a newer one (publishes leave after commit, not in version order) is dropped.
/// </summary>
/// <param name="events">Redis's events for the generation; null when Redis could not be subscribed to (the database alone is read).</param>
/// <param name="read">Reads the generation's progress from the database; null once it is gone.</param>
public sealed class ProgressFollower(ChannelReader<GenerationProgress>? events, Func<CancellationToken, Task<GenerationProgress?>> read,
    TimeSpan catchUp, TimeProvider time)
{
    /// <param name="current">The state read when the follower arrived.</param>
    /// <param name="seen">
    /// The last version the follower has (its <c>Last-Event-ID</c>), or -1: newer versions only are sent. One newer than the generation's
    /// own is no version of it (a client's mistake, or another generation's id): the current state is sent, as to a new follower.
    /// </param>
    public async IAsyncEnumerable<GenerationProgress> FollowAsync(GenerationProgress current, long seen,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        seen = seen > current.Version ? -1 : seen;
        for (var latest = current; latest is not null; latest = await NextAsync(seen, cancellationToken))
        {
            if (latest.Version > seen)
            {
                seen = latest.Version;
                yield return latest;
            }

            if (latest.IsTerminal)
            {
                // Only the database's word reaches here at or below the version seen (stale events are dropped first): it has ended,
                // and the follower has its end.
                yield break;
            }
        }
    }

    /// <summary>
    /// The next event from Redis newer than <paramref name="seen"/>, or what the database says once Redis has brought nothing newer
    /// for the catch-up time.
    /// </summary>
    private async Task<GenerationProgress?> NextAsync(long seen, CancellationToken cancellationToken)
    {
        if (events is null)
        {
            await Task.Delay(catchUp, time, cancellationToken);
            return await read(cancellationToken);
        }

        using var quiet = new CancellationTokenSource(catchUp, time);
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(quiet.Token, cancellationToken);
        try
        {
            while (await events.WaitToReadAsync(wait.Token))
            {
                while (events.TryRead(out var progress))
                {
                    if (progress.Version > seen)
                    {
                        return progress;
                    }
                }
            }

            events = null; // the subscription ended: the database alone from now on
            await Task.Delay(catchUp, time, cancellationToken);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // quiet: the database says what Redis did not
        }

        return await read(cancellationToken);
    }
}
