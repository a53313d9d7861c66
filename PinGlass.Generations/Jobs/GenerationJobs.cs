using Hangfire;
using PinGlass.Platform.Jobs;
using PinGlass.Generations.Persistence;
using PinGlass.Generations.Pipeline;
using PinGlass.Generations.Portraits;
using PinGlass.Replicate.Client;
using PinGlass.Replicate.Errors;

namespace PinGlass.Generations.Jobs;

/// <summary>
/// A generation's Hangfire jobs: plan → one job per batch, each a continuation of the one before → finalize. Hangfire runs a job at
/// least once; each of these is safe to run again (see <see cref="PortraitDriver"/>). Retries are few and quick: a job that keeps
/// failing leaves its work to the reconciliation job and the deadline sweeper rather than to Hangfire's ten retries over hours.
/// </summary>
[AutomaticRetry(Attempts = 5, DelaysInSeconds = [1, 5, 15, 30, 60])]
public sealed class GenerationJobs(GenerationStore store, PortraitStore portraits, GenerationRunner runner, PortraitDriver driver, ReplicateClient replicate,
    IBackgroundJobClient jobs, JobStorage storage, TimeProvider time)
{
    /// <summary>
    /// Starts a generation: queues its batches as a chain of continuations, ending in the finalizer. The chain counts as queued only
    /// once all of it is: a plan job cut off half-way (its replica killed) runs again and queues the chain again — a batch or finalizer
    /// job that runs twice changes nothing the first did not. Plan jobs of one generation take turns (the reconciliation enqueues
    /// another for a generation that stays queued), so two never both find it unplanned.
    /// </summary>
    [Queue(JobQueues.Generations)]
    public async Task PlanAsync(Guid id, CancellationToken cancellationToken)
    {
        using var connection = storage.GetConnection();
        using var turn = connection.AcquireDistributedLock($"generation-plan:{id:N}", TimeSpan.FromMinutes(1));
        if (await store.GetAsync(id, cancellationToken) is not { IsRunning: true } generation
            || await store.IsPlannedAsync(id, cancellationToken))
        {
            return;
        }

        await store.StartAsync(id, cancellationToken);

        var previous = jobs.Enqueue<GenerationJobs>(j => j.RunBatchAsync(id, 0, CancellationToken.None));
        for (var batch = 1; batch < generation.Batches; batch++)
        {
            var next = batch;
            previous = jobs.ContinueJobWith<GenerationJobs>(previous, j => j.RunBatchAsync(id, next, CancellationToken.None),
                options: JobContinuationOptions.OnAnyFinishedState);
        }

        jobs.ContinueJobWith<GenerationJobs>(previous, j => j.FinalizeAsync(id, CancellationToken.None), options: JobContinuationOptions.OnAnyFinishedState);
        await store.MarkPlannedAsync(id, cancellationToken);

        // The first batch's creates leave now rather than when a worker has picked up its job; that job then watches them (a submit
        // made twice is made once: each attempt's create is claimed).
        var first = (await portraits.PortraitsAsync(id, cancellationToken)).Where(p => p.Batch == 0).ToList();
        await runner.PassAsync(first, cancellationToken);
    }

    /// <summary>
    /// Submits one batch's portraits and stays with them until each has ended; then waits the delay between batches, or, after the
    /// last batch, ends the generation at once (the finalizer job that follows finds it ended).
    /// </summary>
    [Queue(JobQueues.Generations)]
    public async Task RunBatchAsync(Guid id, int batch, CancellationToken cancellationToken)
    {
        if (await store.GetAsync(id, cancellationToken) is not { IsRunning: true } generation)
        {
            return;
        }

        await store.SetCurrentBatchAsync(id, batch, cancellationToken);
        await runner.WatchAsync(id, p => p.Batch == batch, cancellationToken);
        if (batch == generation.Batches - 1)
        {
            await runner.FinalizeAsync(id, cancellationToken);
        }
        else if (generation.BatchDelayMs > 0)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(generation.BatchDelayMs), time, cancellationToken);
        }
    }

    [Queue(JobQueues.Completions)]
    public Task FinalizeAsync(Guid id, CancellationToken cancellationToken) => runner.FinalizeAsync(id, cancellationToken);

    /// <summary>Stops a generation on request: every prediction still running is cancelled on Replicate.</summary>
    [Queue(JobQueues.Completions)]
    public Task CancelAsync(Guid id, CancellationToken cancellationToken) => runner.FinalizeAsync(id, cancellationToken);

    /// <summary>Makes one portrait of an ended generation again (a retry on request), then ends the generation again.</summary>
    [Queue(JobQueues.Generations)]
    public async Task RetryPortraitAsync(Guid id, int index, CancellationToken cancellationToken)
    {
        await driver.AdvanceAsync(id, index, cancellationToken);
        await runner.FinalizeAsync(id, cancellationToken);
    }

    /// <summary>A completion queued before completions carried the attempt's marker (across a deploy): taken in by its id alone.</summary>
    [Queue(JobQueues.Completions)]
    [AutomaticRetry(Attempts = 8, DelaysInSeconds = [1, 2, 5, 10, 20, 30, 60, 120])]
    public Task CompleteAsync(string predictionId, CancellationToken cancellationToken) => CompleteAsync(predictionId, null, cancellationToken);

    /// <summary>
    /// Takes in a prediction a webhook announced. The webhook only says which: its state is read from Replicate. <paramref name="marker"/>
    /// is the attempt's, from the URL the webhook came to.
    /// </summary>
    [Queue(JobQueues.Completions)]
    [AutomaticRetry(Attempts = 8, DelaysInSeconds = [1, 2, 5, 10, 20, 30, 60, 120])]
    public async Task CompleteAsync(string predictionId, string? marker, CancellationToken cancellationToken)
    {
        Prediction prediction;
        try
        {
            prediction = await replicate.GetPredictionAsync(predictionId, cancellationToken);
        }
        catch (ReplicateException e) when (e.Category == ErrorCategory.NotFound)
        {
            // Not this account's prediction: nothing to take in.
            return;
        }

        // Another worker (a poll) is taking this end in: asked again shortly, so the end is taken in even if that worker is killed.
        if (!await driver.TakeInAsync(prediction, cancellationToken, marker))
        {
            throw new InvalidOperationException($"Prediction {predictionId} is being taken in by another worker; this job tries again.");
        }
    }
}
