using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PinGlass.Generations.Persistence;
using PinGlass.Generations.Portraits;
using PinGlass.Generations.Providers;
using PinGlass.Replicate;

namespace PinGlass.Generations.Pipeline;

/// <summary>
/// Drives portraits to an end and ends generations: submits what has not been submitted, asks Replicate about predictions whose
/// webhook is overdue (or polls them when PinGlass has no webhook URL), and finalizes. Used by the batch jobs, the finalizer and
/// the reconciliation job alike.
/// </summary>
public sealed partial class GenerationRunner(GenerationStore store, PortraitStore portraits, PredictionLedger ledger, PortraitDriver driver,
    ComputeGuard compute, ProviderAvailability availability, IOptions<PipelineOptions> options,
    IOptions<ReplicateOptions> replicateOptions, GenerationMetrics metrics, TimeProvider time, ILogger<GenerationRunner> logger)
{
    /// <summary>Creates sent at once by one job; the shared rate limit still governs how fast they leave.</summary>
    private const int SubmitConcurrency = 8;

    /// <summary>
    /// Works on the portraits <paramref name="inScope"/> selects until each has ended, or the generation ended, was cancelled or passed
    /// its deadline.
    /// </summary>
    public async Task WatchAsync(Guid id, Func<PortraitRow, bool> inScope, CancellationToken cancellationToken)
    {
        while (await store.GetAsync(id, cancellationToken) is { IsRunning: true } generation && time.GetUtcNow() <= generation.Deadline)
        {
            var scope = (await portraits.PortraitsAsync(id, cancellationToken)).Where(inScope).ToList();
            if (scope.All(p => p.IsTerminal))
            {
                return;
            }

            await PassAsync(scope, cancellationToken);
            await Task.Delay(options.Value.WatchInterval, time, cancellationToken);
        }
    }

    /// <summary>
    /// One look at each unfinished portrait. Running predictions first, all at once: their compute is watched (a stop due before the next
    /// look starts now, not after the rest of the pass), and one whose news is overdue is asked about. Then, unless the state machine
    /// says it waits (read here once for the whole generation, so a pass over waiting portraits costs a few queries, not a few each),
    /// each other portrait takes its next steps.
    /// </summary>
    public async Task PassAsync(IReadOnlyList<PortraitRow> scope, CancellationToken cancellationToken)
    {
        var open = scope.Where(p => !p.IsTerminal).ToList();
        if (open.Count == 0 || await store.GetAsync(open[0].GenerationId, cancellationToken) is not { } generation)
        {
            return;
        }

        var predictions = await ledger.PredictionsAsync(generation.Id, cancellationToken);
        var references = PortraitRequests.ReferenceCount(generation);
        var chain = await availability.ChainAsync(references, generation.PrimaryModel, generation.MultiReference, cancellationToken);
        var situations = open.Select(portrait => new PortraitSituation(generation, portrait,
            [.. predictions.Where(p => p.PortraitIndex == portrait.Index)], chain, references, time.GetUtcNow())).ToList();
        static bool Running(PortraitSituation s) => s.Portrait.Status == PortraitStatus.Running && s.Current is { IsOpen: true, PredictionId: not null };
        var running = situations.Where(Running).Select(s => s.Current!).ToList();
        var stopping = new ConcurrentBag<Task>();
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = SubmitConcurrency, CancellationToken = cancellationToken };
        try
        {
            await Parallel.ForEachAsync(running, parallel, (current, token) => OneAtATimeAsync(current.GenerationId, current.PortraitIndex, async () =>
            {
                var watched = await compute.WatchAsync(current, token);
                if (watched.StopAt is { } stopAt)
                {
                    stopping.Add(compute.CancelAtAsync(current, stopAt, cancellationToken));
                }
                else if (!watched.Looked && IsDue(current, time.GetUtcNow()))
                {
                    await driver.RefreshAsync(current, token);
                }
            }));

            await Parallel.ForEachAsync(situations.Where(s => !Running(s)), parallel, (situation, token) =>
                OneAtATimeAsync(situation.Portrait.GenerationId, situation.Portrait.Index, async () =>
                {
                    if (PortraitStateMachine.Decide(situation with { Now = time.GetUtcNow() }) is not PortraitDecision.Wait)
                    {
                        // Not yet submitted, not yet sent, past its back-off, or settled while the worker that settled it stopped before the next step.
                        await driver.AdvanceAsync(situation.Portrait.GenerationId, situation.Portrait.Index, token);
                    }
                }));
        }
        finally
        {
            // Stops already under way are seen through, whatever became of the rest of the pass (they log their own trouble).
            await Task.WhenAll(stopping);
        }
    }

    /// <summary>One portrait's trouble is logged and the pass goes on with the others; the next pass looks at it again.</summary>
    private async ValueTask OneAtATimeAsync(Guid id, int index, Func<Task> work)
    {
        try
        {
            await work();
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogPortraitSkipped(logger, id, index, e);
        }
    }

    /// <summary>
    /// Takes in predictions still open after their generation ended (a worker taking one in was killed after the finalizer passed), and
    /// looks for what creates made whose sender lost hold of them after it passed (or while it did), so what they cost reaches the ledger
    /// and the generation's cost row, and no reservation stays held.
    /// </summary>
    public async Task TakeInLeftoversAsync(CancellationToken cancellationToken)
    {
        await ResolveLapsedAsync(await ledger.LapsedCreatesAsync(null, cancellationToken), cancellationToken);

        foreach (var prediction in await ledger.OpenAfterEndAsync(cancellationToken))
        {
            await driver.RefreshAsync(prediction, cancellationToken);
            await store.RefreshCostsAsync(prediction.GenerationId, cancellationToken);
        }
    }

    /// <summary>
    /// With a webhook URL a prediction is asked about once its webhook is overdue; without one it is polled, often at first and then
    /// less often (a quarter of its age, between the watch interval and the webhook grace).
    /// </summary>
    private bool IsDue(PredictionRow prediction, DateTimeOffset now)
    {
        var settings = options.Value;
        var lastNews = prediction.LastCheckedAt ?? prediction.SubmittedAt ?? prediction.CreatedAt;

        if (replicateOptions.Value.WebhookUrl is not null)
        {
            return now - lastNews >= settings.WebhookGrace;
        }

        var age = now - (prediction.SubmittedAt ?? prediction.CreatedAt);
        var interval = TimeSpan.FromTicks(Math.Clamp(age.Ticks / 4, settings.WatchInterval.Ticks, settings.WebhookGrace.Ticks));
        return now - lastNews >= interval;
    }

    /// <summary>
    /// Ends the generation: waits for portraits still running while time remains, then stops what is left (cancelled on Replicate so
    /// billing stops), and records the outcome once.
    /// </summary>
    public async Task FinalizeAsync(Guid id, CancellationToken cancellationToken)
    {
        await WatchAsync(id, _ => true, cancellationToken);
        if (await store.GetAsync(id, cancellationToken) is not { } generation)
        {
            return;
        }

        if (generation.IsTerminal)
        {
            await store.RefreshCostsAsync(id, cancellationToken);
            return;
        }

        var cancelled = generation.CancelRequestedAt is not null;
        await StopAsync(generation, cancellationToken);
        generation = (await store.GetAsync(id, cancellationToken))!;
        var status = cancelled ? GenerationStatus.Cancelled
            : generation.Successful == generation.Total ? GenerationStatus.Completed
            : generation.Successful == 0 ? GenerationStatus.Failed
            : GenerationStatus.CompletedWithFailures;
        var error = status switch
        {
            GenerationStatus.Cancelled => "Cancelled on request.",
            not GenerationStatus.Completed when generation.StopCategory is not null =>
                $"Replicate refused the account ({generation.StopCategory}): {generation.StopError}",
            GenerationStatus.Failed => "No portrait could be made; each portrait says why.",
            _ => null,
        };
        if (await store.FinishAsync(id, status, error, cancellationToken))
        {
            LogFinished(logger, id, status.Name(), generation.Successful, generation.Total, generation.Spent);
            metrics.GenerationEnded(status.Name(), time.GetUtcNow() - generation.CreatedAt);
        }
    }

    /// <summary>Portraits not ended fail (deadline, stop) or are cancelled, and their predictions are cancelled on Replicate.</summary>
    private async Task StopAsync(GenerationRow generation, CancellationToken cancellationToken)
    {
        var id = generation.Id;

        // Outputs whose take-in was put off for passing trouble are paid for: taken in as they stand now (delivered marked unchecked, or
        // given up) rather than thrown away with their portrait.
        foreach (var deferred in (await ledger.PredictionsAsync(id, cancellationToken)).Where(p => p is { IsOpen: true, PredictionId: not null, TakeInTries: > 0 }))
        {
            await ledger.ReleaseTakeInAsync(deferred.Marker, cancellationToken);
            await driver.RefreshAsync(deferred, cancellationToken);
        }

        foreach (var portrait in (await portraits.PortraitsAsync(id, cancellationToken)).Where(p => !p.IsTerminal))
        {
            await driver.StopAsync(portrait, generation, cancellationToken);
        }

        // What runs on Replicate is cancelled first: billing stops. Recorded but never sent (the generation stopped between the two):
        // nothing to cancel, a reservation to release. Claimed by a sender that lost hold of it: looked for (one still held is its
        // sender's to finish, and cancel).
        foreach (var prediction in (await ledger.PredictionsAsync(id, cancellationToken)).Where(p => p is { IsOpen: true, PredictionId: not null }))
        {
            await driver.CancelQuietlyAsync(prediction.PredictionId!, cancellationToken);
        }

        await ledger.AbandonUnsentAsync(id, PortraitStateMachine.StopReason(generation), "The generation stopped before this prediction was sent.",
            cancellationToken);
        await ResolveLapsedAsync(await ledger.LapsedCreatesAsync(id, cancellationToken), cancellationToken);
    }

    /// <summary>Each lapsed create on its own: one that cannot be looked for now is logged and looked for at the next round.</summary>
    private async Task ResolveLapsedAsync(IEnumerable<PredictionRow> lapsed, CancellationToken cancellationToken)
    {
        foreach (var row in lapsed)
        {
            try
            {
                await driver.ResolveLapsedAsync(row, cancellationToken);
                await store.RefreshCostsAsync(row.GenerationId, cancellationToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogLapsedSkipped(logger, row.GenerationId, row.PortraitIndex, row.Attempt, e);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Generation {GenerationId} portrait {Index} could not be looked after in this pass; the others were")]
    private static partial void LogPortraitSkipped(ILogger logger, Guid generationId, int index, Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "Generation {GenerationId} portrait {Index} attempt {Attempt}: its lost create could not be looked for this round")]
    private static partial void LogLapsedSkipped(ILogger logger, Guid generationId, int index, int attempt, Exception exception);

    [LoggerMessage(Level = LogLevel.Information, Message = "Generation {GenerationId} ended {Status}: {Successful} of {Total} portraits, ${Spent}")]
    private static partial void LogFinished(ILogger logger, Guid generationId, string status, int successful, int total, decimal spent);
}
