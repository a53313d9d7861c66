using System.Runtime.CompilerServices;
using System.Threading.Channels;

namespace PinGlass.Generations.Progress;

/// <summary>
/// What one follower of a generation is sent: its state now (or, reconnecting, every change it missed), then every change in version
/// order, each once, until the generation ends. (Changes no longer in the log, a day after the end or after an erasure, are seen as
/// the state now.) Redis brings changes at once; the database's log of changes fills in what Redis did not
/// bring in order: a change overtaken by a newer one (publishes leave after their commits, not in version order), a publish that failed,
/// a worker killed between commit and publish, events lost while Redis restarted. A gap in the versions is read at once, a quiet spell
/// after <see cref="PipelineOptions.ProgressCatchUp"/>, so a follower is delayed but never stalled and never misses a portrait's change.
/// </summary>
/// <param name="events">Redis's events for the generation; null when Redis could not be subscribed to (the database alone is read).</param>
/// <param name="changesSince">
/// The generation's changes newer than a version, oldest first, ending with its state now (which is that version or older when nothing
/// is newer); null once the generation is gone.
/// </param>
public sealed class ProgressFollower(ChannelReader<GenerationProgress>? events,
    Func<long, CancellationToken, Task<IReadOnlyList<GenerationProgress>?>> changesSince, TimeSpan catchUp, TimeProvider time)
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
        var changes = seen < 0 ? [current] : await changesSince(seen, cancellationToken) ?? [current];
        while (changes is not null)
        {
            foreach (var change in changes.Where(c => c.Version > seen))
            {
                seen = change.Version;
                yield return change;
            }

            // The last change says where the generation is now: an end inside the batch may have been undone after it (a portrait
            // retried on request reopens the generation). An end at or below the version seen is the database's state now: the
            // follower has its end already.
            if (changes[^1].IsTerminal)
            {
                yield break;
            }

            changes = await NextAsync(seen, cancellationToken);
        }
    }

    /// <summary>
    /// The next change: Redis's event right after <paramref name="seen"/>, or the database's changes since it when Redis brings a later
    /// one first (the change between was committed before it, and is in the log) or nothing newer for the catch-up time.
    /// </summary>
    private async Task<IReadOnlyList<GenerationProgress>?> NextAsync(long seen, CancellationToken cancellationToken)
    {
        if (events is null)
        {
            await Task.Delay(catchUp, time, cancellationToken);
            return await changesSince(seen, cancellationToken);
        }

        using var quiet = new CancellationTokenSource(catchUp, time);
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(quiet.Token, cancellationToken);
        try
        {
            while (await events.WaitToReadAsync(wait.Token))
            {
                while (events.TryRead(out var progress))
                {
                    if (progress.Version == seen + 1)
                    {
                        return [progress];
                    }

                    if (progress.Version > seen)
                    {
                        return await changesSince(seen, cancellationToken);
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

        return await changesSince(seen, cancellationToken);
    }
}
