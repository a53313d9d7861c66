using Hangfire;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PinGlass.Generations.Clients;
using PinGlass.Generations.Jobs;
using PinGlass.Generations.Storage;
using PinGlass.Platform.Jobs;

namespace PinGlass.Generations.Privacy;

/// <summary>What an erasure did: the generations it erased, and how many of them still have files to delete (<see cref="FilesPending"/>:
/// running ones, whose files go once their predictions are cancelled, at the retention job's next round).</summary>
public sealed record Erasure(int Generations, int FilesPending);

/// <summary>
/// Forgets people's data: a generation or a whole end user on request, and on time by the retention job. Rows first (<see cref="PrivacyStore"/>),
/// so nothing is read or shown again from that moment; then the files in blob storage, once no prediction can still write one.
/// Replicate keeps a prediction's inputs and outputs for an hour after it was made, then deletes them itself.
/// </summary>
public sealed partial class GenerationErasure(PrivacyStore store, GenerationBlobs blobs, IBackgroundJobClient jobs, IOptions<RetentionOptions> options,
    IOptions<PipelineOptions> pipeline, ILogger<GenerationErasure> logger)
{
    public const string RetentionJobId = "enforce-retention";

    /// <summary>
    /// When an erased generation's files are deleted a second time, whatever state it is in: well past the take-in lease, within which
    /// a worker may still be writing an output it began to copy before the erasure.
    /// </summary>
    private TimeSpan SecondPass => TimeSpan.FromTicks(Math.Max(TimeSpan.FromMinutes(15).Ticks, 3 * pipeline.Value.TakeInLease.Ticks));

    /// <summary>Erases <paramref name="owner"/>'s generation <paramref name="id"/>, or all of theirs when it is null.</summary>
    public async Task<Erasure> EraseAsync(Owner owner, Guid? id, CancellationToken cancellationToken)
    {
        var erased = await store.EraseAsync(owner, id, cancellationToken);
        foreach (var running in erased.Where(e => e.Running))
        {
            // The cancel job stops its predictions at Replicate and ends it, as a cancel on request does.
            jobs.Enqueue<GenerationJobs>(j => j.CancelAsync(running.Id, CancellationToken.None));
        }

        // The rows are erased: files that cannot be deleted now are the retention job's to delete at its next round.
        var deleted = 0;
        foreach (var generation in erased)
        {
            foreach (var due in await store.FilesDueAsync(generation.Id, SecondPass, cancellationToken))
            {
                deleted += await TryDeleteFilesAsync(due, cancellationToken) ? 1 : 0;
            }
        }

        LogErased(logger, erased.Count, erased.Count - deleted);
        return new Erasure(erased.Count, erased.Count - deleted);
    }

    /// <summary>
    /// The retention job: deletes the faces of generations that ended <see cref="RetentionOptions.FacesAfterEnd"/> ago, erases those that
    /// ended <see cref="RetentionOptions.PortraitsFor"/> ago, and deletes every file that is due (also those of erased generations
    /// that have since stopped). Each step's trouble is logged and the next step goes on; what is left is due at the next round.
    /// </summary>
    [Queue(JobQueues.Maintenance)]
    [AutomaticRetry(Attempts = 0)]
    [DisableConcurrentExecution(60)]
    public async Task EnforceRetentionAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var faces = await TryAsync("faces", () => store.ForgetFacesDueAsync(settings.FacesAfterEnd, cancellationToken));
        var erased = await TryAsync("erasure", () => store.EraseDueAsync(settings.PortraitsFor, cancellationToken));
        var files = 0;
        foreach (var due in await store.FilesDueAsync(null, SecondPass, cancellationToken))
        {
            files += await TryDeleteFilesAsync(due, cancellationToken) ? 1 : 0;
        }

        if (faces + erased + files > 0)
        {
            LogRetention(logger, faces, erased, files);
        }
    }

    private async Task<int> TryAsync(string step, Func<Task<int>> work)
    {
        try
        {
            return await work();
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogStepFailed(logger, step, e);
            return 0;
        }
    }

    private async Task<bool> TryDeleteFilesAsync(FilesDue due, CancellationToken cancellationToken)
    {
        try
        {
            await blobs.DeleteFilesAsync(due.Id, portraits: due.Erased, cancellationToken);
            await store.MarkFilesDeletedAsync(due, SecondPass, cancellationToken);
            return true;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogFilesLeft(logger, due.Id, e);
            return false;
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Retention step {Step} failed this round; it is tried again at the next")]
    private static partial void LogStepFailed(ILogger logger, string step, Exception exception);

    [LoggerMessage(Level = LogLevel.Information, Message = "Erased {Generations} generations on request; {FilesPending} delete their files once their predictions are cancelled")]
    private static partial void LogErased(ILogger logger, int generations, int filesPending);

    [LoggerMessage(Level = LogLevel.Information, Message = "Retention: faces of {Faces} generations deleted, {Erased} generations erased, files of {Files} deleted")]
    private static partial void LogRetention(ILogger logger, int faces, int erased, int files);

    [LoggerMessage(Level = LogLevel.Error, Message = "The files of generation {GenerationId} could not be deleted this round; they are due at the next")]
    private static partial void LogFilesLeft(ILogger logger, Guid generationId, Exception exception);
}
