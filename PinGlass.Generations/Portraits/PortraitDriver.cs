using Microsoft.Extensions.Logging;
using PinGlass.Generations.Persistence;
using PinGlass.Generations.Providers;
using PinGlass.Replicate.Client;
using PinGlass.Replicate.Errors;
using PinGlass.Replicate.Providers;
using static PinGlass.Generations.Portraits.PortraitDecision;

namespace PinGlass.Generations.Portraits;

/// <summary>
/// Carries a portrait through its states: reads its situation, asks <see cref="PortraitStateMachine"/> for the next step, carries it
/// out with one guarded change, and asks again, until the portrait waits (on Replicate, on the budget) or has ended. Every step is
/// guarded on the state it leaves, so workers that drive the same portrait at once, or a step taken twice, change nothing twice.
/// </summary>
public sealed partial class PortraitDriver(GenerationStore generations, PortraitStore portraits, PredictionLedger ledger, ProviderChain chain,
    ProviderAvailability availability,
    PredictionSender sender, PredictionSettler settler, ReplicateClient replicate, GenerationMetrics metrics, TimeProvider time,
    ILogger<PortraitDriver> logger)
{
    /// <summary>More steps than any portrait's path takes at once (start, submit, send, fall back… twice over): a bound, not a budget.</summary>
    private const int MaxSteps = 16;

    /// <summary>Takes the portrait's next steps until it waits or has ended.</summary>
    public async Task AdvanceAsync(Guid id, int index, CancellationToken cancellationToken)
    {
        string? recorded = null; // the marker of an attempt this call recorded: its create has not been sent by anyone else
        for (var step = 0; ; step++)
        {
            if (step == MaxSteps)
            {
                // A bound, not a budget: each step but a submission the budget refused changed something; the next pass goes on.
                LogStepsExhausted(logger, id, index, MaxSteps);
                return;
            }

            if (await SituationAsync(id, index, cancellationToken) is not { } situation)
            {
                return;
            }

            var (generation, portrait, current) = (situation.Generation, situation.Portrait, situation.Current);
            switch (PortraitStateMachine.Decide(situation))
            {
                case Start when await portraits.ClaimAsync(id, index, cancellationToken):
                    continue;
                case Submit submit:
                    var (row, inserted) = await ledger.BeginAsync(id, index, portrait.Attempt, submit.Provider,
                        chain[submit.Provider].Model.FullName, submit.ReferenceIndex, submit.Reservation, cancellationToken);
                    recorded = inserted ? row!.Marker : recorded;
                    continue; // recorded, found recorded, or refused by the budget: the next decision says which
                case Send:
                    var sent = await sender.SendAsync(generation, portrait, current!, resumed: current!.Marker != recorded, cancellationToken);
                    if (sent is SendResult.NotCreated)
                    {
                        continue;
                    }

                    if (sent is SendResult.Created { Prediction: var prediction } && await TookInCreatedAsync(id, prediction, cancellationToken))
                    {
                        continue;
                    }

                    return;
                case Deliver deliver:
                    await DeliverAsync(situation, current!, deliver.Identity, cancellationToken);
                    return;
                case Regenerate when await portraits.RegenerateAsync(current!, LatencyOf(portrait, current!), cancellationToken):
                    LogRegenerating(logger, id, index, current!.Identity!.Reason, current.Identity.Distance, current.Identity.NextReferenceIndex);
                    metrics.Regenerated(current.Identity.Reason);
                    continue;
                case FallBack fallBack when await portraits.AdvanceAttemptAsync(id, index, portrait.Attempt, cancellationToken):
                    LogFellBack(logger, id, index, fallBack.From, fallBack.To, fallBack.Category, fallBack.Error);
                    metrics.FellBack(fallBack.From, fallBack.To);
                    continue;
                case Retry retry when await portraits.AdvanceAttemptAsync(id, index, portrait.Attempt, cancellationToken):
                    LogRetrying(logger, id, index, retry.Provider, retry.Category, retry.Error);
                    metrics.Retried(retry.Provider, 1);
                    continue;
                case Fail fail:
                    await FailAsync(id, portrait, portrait.Attempt, fail, cancellationToken);
                    await StopGenerationIfAsync(id, fail.Reason, fail.Message, cancellationToken);
                    return;
                case DeliverRefused refused:
                    await DeliverRefusedAsync(id, portrait, portrait.Attempt, refused, cancellationToken);
                    await StopGenerationIfAsync(id, refused.Reason, current?.Error ?? refused.Reason, cancellationToken);
                    return;
                default: // Wait, or a guarded step another worker took first: that worker goes on from here
                    return;
            }
        }
    }

    /// <summary>
    /// Takes in what Replicate says of a prediction, then its portrait's next steps. False when the prediction has ended but another
    /// worker is taking its end in (it may yet be killed doing so). A take-in put off for passing trouble is true: the watching batch
    /// job or the reconciliation takes it in again once its back-off has passed.
    /// </summary>
    public async Task<bool> TakeInAsync(Prediction prediction, CancellationToken cancellationToken, string? marker = null)
    {
        if (await settler.SettleAsync(prediction, cancellationToken, marker) is not { } row)
        {
            return true;
        }

        await AdvanceAsync(row.GenerationId, row.PortraitIndex, cancellationToken);
        return !(prediction.IsTerminal && row.IsOpen) || row.TakeInTries > 0;
    }

    /// <summary>Asks Replicate how a prediction stands and takes in its end (a lost webhook, or polling without one).</summary>
    public async Task RefreshAsync(PredictionRow row, CancellationToken cancellationToken)
    {
        try
        {
            var prediction = await replicate.GetPredictionAsync(row.PredictionId!, cancellationToken);
            if (prediction.IsTerminal)
            {
                metrics.Reconciled(prediction.Status);
            }

            await TakeInAsync(prediction, cancellationToken);
        }
        catch (ReplicateException e)
        {
            LogRefreshFailed(logger, row.PredictionId!, e.Category, e.Message);
        }
    }

    /// <summary>Cancels a prediction on Replicate (billing stops) and takes in the answer; a failure is logged, Cancel-After still ends it.</summary>
    public async Task CancelQuietlyAsync(string predictionId, CancellationToken cancellationToken)
    {
        try
        {
            await TakeInAsync(await replicate.CancelPredictionAsync(predictionId, cancellationToken), cancellationToken);
        }
        catch (ReplicateException e)
        {
            LogRefreshFailed(logger, predictionId, e.Category, e.Message);
        }
    }

    /// <summary>
    /// An attempt of a stopped generation whose sender lost hold of its create: what it made is found (never sent again), cancelled and
    /// taken in, so it neither runs on for nothing nor goes unbilled in the ledger; one that made nothing releases its reservation.
    /// </summary>
    public async Task ResolveLapsedAsync(PredictionRow row, CancellationToken cancellationToken)
    {
        if (await generations.GetAsync(row.GenerationId, cancellationToken) is not { } generation
            || await portraits.PortraitAsync(row.GenerationId, row.PortraitIndex, cancellationToken) is not { } portrait
            || await sender.FindLapsedAsync(generation, portrait, row, cancellationToken) is not { } made)
        {
            return;
        }

        if (made.IsTerminal)
        {
            await settler.SettleAsync(made, cancellationToken);
        }
        else
        {
            await CancelQuietlyAsync(made.Id, cancellationToken);
        }
    }

    /// <summary>
    /// The finalizer ends a portrait still open when its generation is cancelled, stopped or past its deadline, whatever its attempt.
    /// Unless cancelled, a refused output is delivered flagged even when the regeneration that kept it committed after the portrait was read.
    /// </summary>
    public async Task StopAsync(PortraitRow portrait, GenerationRow generation, CancellationToken cancellationToken)
    {
        var decision = PortraitStateMachine.DecideStop(portrait, generation);
        if (decision is DeliverRefused or Fail { Reason: not PortraitStateMachine.Cancelled }
            && await DeliverRefusedAsync(portrait.GenerationId, portrait, null, new DeliverRefused(PortraitStateMachine.Deadline), cancellationToken))
        {
            return;
        }

        if (decision is Fail fail)
        {
            await portraits.FailAsync(portrait.GenerationId, portrait.Index, null,
                fail.Reason == PortraitStateMachine.Cancelled ? PortraitStatus.Cancelled : PortraitStatus.Failed, fail.Reason, fail.Message, cancellationToken);
        }
    }

    /// <summary>A portrait ended because Replicate refused the account: its generation stops, every other create would be refused too.</summary>
    private async Task StopGenerationIfAsync(Guid id, string reason, string message, CancellationToken cancellationToken)
    {
        if (PortraitStateMachine.StopsGeneration(reason) && await generations.StopAsync(id, reason, message, cancellationToken))
        {
            LogGenerationStopped(logger, id, reason, message);
        }
    }

    private async Task<PortraitSituation?> SituationAsync(Guid id, int index, CancellationToken cancellationToken)
    {
        if (await generations.GetAsync(id, cancellationToken) is not { } generation
            || await portraits.PortraitAsync(id, index, cancellationToken) is not { } portrait)
        {
            return null;
        }

        var references = PortraitRequests.ReferenceCount(generation);
        return new PortraitSituation(generation, portrait, await ledger.PredictionsAsync(id, index, cancellationToken),
            await availability.ChainAsync(references, generation.PrimaryModel, generation.MultiReference, cancellationToken), references, time.GetUtcNow());
    }

    /// <summary>
    /// The create's answer. One that has already ended is settled now (true: the portrait goes on). One still running is cancelled if
    /// its generation ended or was cancelled while the create was on its way, so it does not run (and bill) for nothing.
    /// </summary>
    private async Task<bool> TookInCreatedAsync(Guid id, Prediction prediction, CancellationToken cancellationToken)
    {
        if (prediction.IsTerminal)
        {
            await settler.SettleAsync(prediction, cancellationToken);
            return true;
        }

        if (await generations.GetAsync(id, cancellationToken) is { IsRunning: false })
        {
            await CancelQuietlyAsync(prediction.Id, cancellationToken);
        }

        return false;
    }

    private async Task DeliverAsync(PortraitSituation situation, PredictionRow delivered, IdentityCheck? identity, CancellationToken cancellationToken)
    {
        // Retries: the attempts of this chain before the one that delivered.
        var chainStart = situation.Portrait.ChainStart;
        if (await portraits.SucceedAsync(delivered, LatencyOf(situation.Portrait, delivered), delivered.Attempt - chainStart, delivered.Attempt > chainStart,
                identity, cancellationToken))
        {
            metrics.PortraitEnded(PortraitStatus.Succeeded.Name(), delivered.Provider);
        }
    }

    private async Task FailAsync(Guid id, PortraitRow portrait, int? attempt, Fail fail, CancellationToken cancellationToken)
    {
        // Counted once: a duplicated completion reaching this point too finds the portrait already ended.
        if (await portraits.FailAsync(id, portrait.Index, attempt, PortraitStatus.Failed, fail.Reason, fail.Message, cancellationToken))
        {
            LogPortraitFailed(logger, id, portrait.Index, fail.Reason, fail.Message);
            metrics.PortraitEnded(PortraitStatus.Failed.Name(), null);
            CountBudgetRefusal(fail.BudgetRefused);
        }
    }

    private async Task<bool> DeliverRefusedAsync(Guid id, PortraitRow portrait, int? attempt, DeliverRefused refused, CancellationToken cancellationToken)
    {
        if (!await portraits.DeliverRefusedAsync(id, portrait.Index, attempt, cancellationToken))
        {
            return false;
        }

        metrics.PortraitEnded(PortraitStatus.Succeeded.Name(), portrait.Provider);
        CountBudgetRefusal(refused.BudgetRefused);
        return true;
    }

    private void CountBudgetRefusal(string? provider)
    {
        if (provider is not null)
        {
            metrics.BudgetRefused(provider);
        }
    }

    private long LatencyOf(PortraitRow portrait, PredictionRow settled) =>
        (long)((settled.LastCheckedAt ?? time.GetUtcNow()) - (portrait.StartedAt ?? settled.CreatedAt)).TotalMilliseconds;

    [LoggerMessage(Level = LogLevel.Warning, Message = "Generation {GenerationId} portrait {Index}: {From} failed ({Category}: {Error}); {To} takes over")]
    private static partial void LogFellBack(ILogger logger, Guid generationId, int index, string from, string to, ErrorCategory category, string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "Generation {GenerationId} portrait {Index}: {Provider} failed for now ({Category}: {Error}); asked again after a back-off")]
    private static partial void LogRetrying(ILogger logger, Guid generationId, int index, string provider, ErrorCategory category, string error);

    [LoggerMessage(Level = LogLevel.Error, Message = "Generation {GenerationId} stops: Replicate refused the account ({Category}: {Error})")]
    private static partial void LogGenerationStopped(ILogger logger, Guid generationId, string category, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Generation {GenerationId} portrait {Index} failed: {Category}: {Error}")]
    private static partial void LogPortraitFailed(ILogger logger, Guid generationId, int index, string category, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Generation {GenerationId} portrait {Index}: identity gate refused it ({Reason}, distance {Distance}); made again with reference {Reference}")]
    private static partial void LogRegenerating(ILogger logger, Guid generationId, int index, string reason, double? distance, int? reference);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Generation {GenerationId} portrait {Index} took {Steps} steps in one go; the next pass goes on")]
    private static partial void LogStepsExhausted(ILogger logger, Guid generationId, int index, int steps);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not reach prediction {PredictionId} ({Category}): {Reason}")]
    private static partial void LogRefreshFailed(ILogger logger, string predictionId, ErrorCategory category, string reason);
}
