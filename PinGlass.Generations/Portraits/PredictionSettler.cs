using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PinGlass.Generations.Completion;
using PinGlass.Generations.Persistence;
using PinGlass.Generations.Providers;
using PinGlass.Generations.Storage;
using PinGlass.Photos.Faces;
using PinGlass.Photos.Identity;
using PinGlass.Replicate.Client;
using PinGlass.Replicate.Errors;
using PinGlass.Replicate.Providers;
using PinGlass.Replicate.Resilience;

namespace PinGlass.Generations.Portraits;

/// <summary>
/// Takes in what Replicate says of a prediction (a webhook, a poll, or the create's own answer). A prediction that ended is settled
/// once, with its cost; if it is its portrait's current attempt, its output is first copied into blob storage and checked by the
/// identity gate. What the portrait does next is the state machine's to decide.
/// </summary>
public sealed partial class PredictionSettler(PredictionLedger ledger, PortraitStore portraits, GenerationStore generations, GenerationBlobs blobs,
    PortraitRequests requests, ProviderChain chain, ProviderAvailability availability, OutputFetcher outputs, IdentityGate gate,
    IOptions<PipelineOptions> options, GenerationMetrics metrics, TimeProvider time, ILogger<PredictionSettler> logger)
{
    /// <summary>
    /// Whether a canceled prediction counts for its model's circuit: not when PinGlass cancelled it itself — at its compute limit, or
    /// because its generation was cancelled, stopped, erased, past its deadline or ended — for that says nothing of the model. (Counted,
    /// one person cancelling a generation of four running portraits opened flux-pulid's circuit for everyone's portraits, which all
    /// fell back to kontext-pro for the break.) A cancel PinGlass did not ask for (someone else's) does count.
    /// </summary>
    public static bool SaysSomethingOfTheModel(PredictionRow row, GenerationRow? generation, DateTimeOffset now) =>
        row.OverranAt is null && generation is { CancelRequestedAt: null, StopCategory: null, ErasedAt: null, IsTerminal: false }
        && now < generation.Deadline;

    /// <summary>The prediction's row after taking in the news; null for a prediction that is not one of PinGlass's attempts.</summary>
    /// <param name="marker">
    /// The attempt's marker from the URL its webhook came to, for a prediction whose create's answer was lost (its id not recorded yet).
    /// The URL is not signed: the prediction is attached only if it is of the attempt's model and has the input the attempt recorded.
    /// </param>
    public async Task<PredictionRow?> SettleAsync(Prediction prediction, CancellationToken cancellationToken, string? marker = null)
    {
        var row = await ledger.ByIdAsync(prediction.Id, cancellationToken)
                  ?? (marker is not null ? await AttachAsync(marker, prediction, cancellationToken) : null);
        if (row is null)
        {
            LogUnknownPrediction(logger, prediction.Id);
            return null;
        }

        if (!row.IsOpen)
        {
            return row;
        }

        if (!prediction.IsTerminal)
        {
            await ledger.RecordCheckedAsync(row.Marker, prediction.Status, prediction.StartedAt, cancellationToken);
            return row;
        }

        // A webhook and a poll can bring the same end at once: one worker copies the output and asks the identity gate, the other leaves
        // it (recording that news came, so the prediction is not polled again meanwhile). The row it returns is still open: a caller that
        // must see the end taken in (a webhook's job) tries again later.
        if (!await ledger.ClaimTakeInAsync(row.Marker, options.Value.TakeInLease, cancellationToken))
        {
            await ledger.RecordCheckedAsync(row.Marker, prediction.Status, prediction.StartedAt, cancellationToken);
            return row;
        }

        var (settled, deferred) = (false, false);
        try
        {
            var provider = chain[row.Provider];
            var cost = provider.CostOf(prediction);
            var portrait = await portraits.PortraitAsync(row.GenerationId, row.PortraitIndex, cancellationToken);
            // An output PinGlass copied before Replicate deleted it (an hour after the prediction, when the news says no output) is kept.
            var (category, error) = prediction.Status == PredictionStatus.Succeeded && row.BlobName is not null ? (null, null)
                : ComputeLimit.Classify(row, prediction);
            var delivered = new Delivered(null, null);
            if (category is null && portrait is { Status: PortraitStatus.Running } && portrait.Attempt == row.Attempt)
            {
                var generation = (await generations.GetAsync(row.GenerationId, cancellationToken))!;
                var retryAfter = PortraitStateMachine.TakeInRetry(generation, row.TakeInTries, options.Value.TakeInTries,
                    options.Value.WebhookGrace, time.GetUtcNow());
                try
                {
                    delivered = await CopyAndCheckAsync(prediction, row, generation, portrait, canWait: retryAfter is not null, cancellationToken);
                }
                catch (PassingTrouble trouble)
                {
                    // The portrait's deadline allows: taken in again after a back-off, from PinGlass's copy once there is one (Replicate
                    // deletes its own an hour after the prediction).
                    LogTakeInDeferred(logger, row.GenerationId, row.PortraitIndex, prediction.Id, trouble.Message, retryAfter!.Value);
                    deferred = await ledger.DeferTakeInAsync(row.Marker, retryAfter!.Value, trouble.Kept, cancellationToken);
                    return await ledger.ByIdAsync(prediction.Id, cancellationToken);
                }
                catch (OutputFetchException e)
                {
                    (category, error) = (ErrorCategory.ModelError, $"The output could not be copied: {e.Message}");
                }
            }

            settled = await ledger.SettleAsync(row, StatusNames.FromReplicate(prediction.Status), prediction.Metrics?.PredictTime, cost,
                category?.Name(), error, prediction.OutputUrls.FirstOrDefault(), delivered.Stored, delivered.Identity, cancellationToken);
            if (settled)
            {
                metrics.PredictionSettled(provider.Model.FullName, prediction.Status, cost,
                    prediction.CompletedAt is { } completed ? (completed - prediction.CreatedAt).TotalSeconds : null);
                if (prediction.Status != PredictionStatus.Canceled
                    || SaysSomethingOfTheModel(row, await generations.GetAsync(row.GenerationId, cancellationToken), time.GetUtcNow()))
                {
                    await availability.RecordOutcomeAsync(provider, category);
                }
            }
        }
        finally
        {
            // Stopped half-way (an exception, a cancelled job): the next news is taken in at once rather than when the lease runs out.
            if (!settled && !deferred)
            {
                await ledger.ReleaseTakeInAsync(row.Marker, CancellationToken.None);
            }
        }

        return await ledger.ByIdAsync(prediction.Id, cancellationToken);
    }

    /// <summary>What a delivered output became: where it was stored, and the identity gate's verdict.</summary>
    private sealed record Delivered(StoredOutput? Stored, IdentityCheck? Identity);

    /// <summary>
    /// Trouble copying or checking an output that may pass, met while the portrait can wait for it to pass; <paramref name="kept"/>: the
    /// copy already stored, which the next try checks rather than fetching the output again.
    /// </summary>
    private sealed class PassingTrouble(string message, StoredOutput? kept = null) : Exception(message)
    {
        public StoredOutput? Kept { get; } = kept;
    }

    /// <summary>
    /// Copies the output into blob storage (once: a try after passing trouble reads the copy an earlier one kept) and asks the identity
    /// gate about it. Passing trouble (the output host, the faces service) is <see cref="PassingTrouble"/> while <paramref name="canWait"/>;
    /// after that the output is given up (a fetch) or delivered marked unchecked (the gate).
    /// </summary>
    private async Task<PredictionRow?> AttachAsync(string marker, Prediction prediction, CancellationToken cancellationToken) =>
        await ledger.ByMarkerAsync(marker, cancellationToken) is { PredictionId: null, InputFingerprint: { } sent } attempt
        && string.Equals(attempt.Model, prediction.Model, StringComparison.OrdinalIgnoreCase) && InputFingerprint.Matches(prediction.Input, sent)
            ? await ledger.AttachByMarkerAsync(marker, prediction.Id, cancellationToken)
            : null;

    private async Task<Delivered> CopyAndCheckAsync(Prediction prediction, PredictionRow row, GenerationRow generation, PortraitRow portrait,
        bool canWait, CancellationToken cancellationToken)
    {
        var (stored, content) = await KeptCopyAsync(row, cancellationToken) ?? await CopyAsync(prediction, row, canWait, cancellationToken);
        try
        {
            return new Delivered(stored, await CheckIdentityAsync(row, generation, portrait, content, canWait, cancellationToken));
        }
        catch (PassingTrouble trouble)
        {
            throw new PassingTrouble(trouble.Message, stored);
        }
    }

    /// <summary>The copy an earlier try of this take-in stored; null when there is none (or it is gone).</summary>
    private async Task<(StoredOutput, BinaryData)?> KeptCopyAsync(PredictionRow row, CancellationToken cancellationToken)
    {
        if (row is not { BlobName: { } name, ContentType: { } type } || await blobs.OpenPortraitAsync(name, cancellationToken) is not { } blob)
        {
            return null;
        }

        using (blob)
        {
            return (new StoredOutput(name, type), await BinaryData.FromStreamAsync(blob.Content, cancellationToken));
        }
    }

    private async Task<(StoredOutput, BinaryData)> CopyAsync(Prediction prediction, PredictionRow row, bool canWait, CancellationToken cancellationToken)
    {
        FetchedOutput output;
        try
        {
            output = await outputs.FetchAsync(prediction.OutputUrls[0], cancellationToken);
        }
        catch (OutputFetchException e) when (e.Passing && canWait)
        {
            throw new PassingTrouble(e.Message);
        }

        var stored = new StoredOutput(GenerationBlobs.PortraitName(row.GenerationId, row.PortraitIndex, row.Attempt, output.Extension), output.ContentType);
        await blobs.SavePortraitAsync(stored.BlobName, output.Content, output.ContentType, cancellationToken);

        // Checked after writing: a take-in that began before its generation was erased must not leave a copy behind the deletion of
        // its files (which may have run meanwhile); one erased after this check finds the copy when its files are deleted.
        if ((await generations.GetAsync(row.GenerationId, cancellationToken))?.ErasedAt is not null)
        {
            await blobs.DeletePortraitAsync(stored.BlobName, CancellationToken.None);
            throw new OutputFetchException("The generation was erased while its output was being copied.");
        }

        return (stored, output.Content);
    }

    /// <summary>
    /// The identity gate's verdict on a delivered output, against the centroid kept with the generation. When the faces service is down
    /// or slow the check waits (<see cref="PassingTrouble"/>) while it can; after that, or for an image the gate cannot read, the
    /// portrait is delivered marked unchecked rather than lost. A generation without a centroid has nothing to check against.
    /// </summary>
    private async Task<IdentityCheck?> CheckIdentityAsync(PredictionRow row, GenerationRow generation, PortraitRow portrait, BinaryData output,
        bool canWait, CancellationToken cancellationToken)
    {
        if (generation.Centroid.Length == 0)
        {
            return null;
        }

        var target = new IdentityTarget(generation.Centroid, PortraitRequests.ReferenceCount(generation));
        var attempt = new PortraitAttempt(row.ReferenceIndex, requests.OptionsFor(generation, portrait).IdWeight, portrait.Regenerations);
        try
        {
            var verdict = await gate.CheckAsync(output.ToMemory(), target, attempt, cancellationToken);
            return new IdentityCheck(Snake(verdict.Decision.ToString()), Snake(verdict.Reason.ToString()), verdict.Distance, verdict.NextReferenceIndex,
                verdict.NextIdWeight);
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested)
        {
            if (canWait && FacesClient.IsUnavailable(e))
            {
                throw new PassingTrouble($"The identity gate could not be asked: {e.Message}");
            }

            LogIdentityUnchecked(logger, row.GenerationId, row.PortraitIndex, e.Message);
            return IdentityCheck.Unchecked(UncheckedReason(e));
        }
    }

    /// <summary>Why a portrait goes out without a verdict, from what stopped the gate.</summary>
    internal static string UncheckedReason(Exception e) => e switch
    {
        FaceModelChangedException => IdentityCheck.FaceModelChanged,
        _ when FacesClient.IsUnavailable(e) => IdentityCheck.FacesUnavailable,
        _ => IdentityCheck.Unreadable,
    };

    private static string Snake(string name) => JsonNamingPolicy.SnakeCaseLower.ConvertName(name);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Generation {GenerationId} portrait {Index} delivered without an identity check: {Reason}")]
    private static partial void LogIdentityUnchecked(ILogger logger, Guid generationId, int index, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Generation {GenerationId} portrait {Index}: prediction {PredictionId} is taken in again in {RetryAfter}: {Reason}")]
    private static partial void LogTakeInDeferred(ILogger logger, Guid generationId, int index, string predictionId, string reason, TimeSpan retryAfter);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Prediction {PredictionId} is not one of PinGlass's attempts; ignored")]
    private static partial void LogUnknownPrediction(ILogger logger, string predictionId);
}
