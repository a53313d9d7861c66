using System.Text.Json;
using Microsoft.Extensions.Logging;
using PinGlass.Generations.Completion;
using PinGlass.Generations.Persistence;
using PinGlass.Generations.Providers;
using PinGlass.Generations.Storage;
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
    GenerationMetrics metrics, ILogger<PredictionSettler> logger)
{
    /// <summary>How long one worker holds a prediction's take-in: the output copy's and the identity gate's timeouts, with room.</summary>
    private static readonly TimeSpan TakeInLease = TimeSpan.FromMinutes(5);

    /// <summary>The prediction's row after taking in the news; null for a prediction that is not one of PinGlass's attempts.</summary>
    public async Task<PredictionRow?> SettleAsync(Prediction prediction, CancellationToken cancellationToken)
    {
        var row = await ledger.ByIdAsync(prediction.Id, cancellationToken)
                  ?? (SafeCreate.MarkerOf(prediction) is { } marker ? await ledger.AttachByMarkerAsync(marker, prediction.Id, cancellationToken) : null);
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
            await ledger.RecordCheckedAsync(row.Marker, prediction.Status, cancellationToken);
            return row;
        }

        // A webhook and a poll can bring the same end at once: one worker copies the output and asks the identity gate, the other leaves
        // it (recording that news came, so the prediction is not polled again meanwhile). The row it returns is still open: a caller that
        // must see the end taken in (a webhook's job) tries again later.
        if (!await ledger.ClaimTakeInAsync(row.Marker, TakeInLease, cancellationToken))
        {
            await ledger.RecordCheckedAsync(row.Marker, prediction.Status, cancellationToken);
            return row;
        }

        var settled = false;
        try
        {
            var provider = chain[row.Provider];
            var cost = provider.CostOf(prediction);
            var portrait = await portraits.PortraitAsync(row.GenerationId, row.PortraitIndex, cancellationToken);
            var (category, error) = ErrorPolicy.Classify(prediction);
            StoredOutput? stored = null;
            IdentityCheck? identity = null;
            if (category is null && portrait is { Status: PortraitStatus.Running } && portrait.Attempt == row.Attempt)
            {
                try
                {
                    var output = await outputs.FetchAsync(prediction.OutputUrls[0], cancellationToken);
                    stored = new StoredOutput(GenerationBlobs.PortraitName(row.GenerationId, row.PortraitIndex, row.Attempt, output.Extension), output.ContentType);
                    await blobs.SavePortraitAsync(stored.BlobName, output.Content, output.ContentType, cancellationToken);
                    identity = await CheckIdentityAsync(row, portrait, output, cancellationToken);
                }
                catch (OutputFetchException e)
                {
                    (category, error) = (ErrorCategory.ModelError, $"The output could not be copied: {e.Message}");
                }
            }

            settled = await ledger.SettleAsync(row, StatusNames.FromReplicate(prediction.Status), prediction.Metrics?.PredictTime, cost,
                category?.Name(), error, prediction.OutputUrls.FirstOrDefault(), stored, identity, cancellationToken);
            if (settled)
            {
                metrics.PredictionSettled(provider.Model.FullName, prediction.Status, cost,
                    prediction.CompletedAt is { } completed ? (completed - prediction.CreatedAt).TotalSeconds : null);
                await availability.RecordOutcomeAsync(provider, category);
            }
        }
        finally
        {
            // Stopped half-way (an exception, a cancelled job): the next news is taken in at once rather than when the lease runs out.
            if (!settled)
            {
                await ledger.ReleaseTakeInAsync(row.Marker, CancellationToken.None);
            }
        }

        return await ledger.ByIdAsync(prediction.Id, cancellationToken);
    }

    /// <summary>
    /// The identity gate's verdict on a delivered output, against the centroid kept with the generation. Null when it cannot be checked
    /// (the faces service is down or slow, or the image does not decode): the portrait is then delivered unchecked rather than lost.
    /// </summary>
    private async Task<IdentityCheck?> CheckIdentityAsync(PredictionRow row, PortraitRow portrait, FetchedOutput output, CancellationToken cancellationToken)
    {
        if (await generations.GetAsync(row.GenerationId, cancellationToken) is not { Centroid.Length: > 0 } generation)
        {
            return null;
        }

        var target = new IdentityTarget(generation.Centroid, PortraitRequests.ReferenceCount(generation));
        var attempt = new PortraitAttempt(row.ReferenceIndex, requests.OptionsFor(generation, portrait).IdWeight, portrait.Regenerations);
        try
        {
            var verdict = await gate.CheckAsync(output.Content.ToMemory(), target, attempt, cancellationToken);
            return new IdentityCheck(Snake(verdict.Decision.ToString()), Snake(verdict.Reason.ToString()), verdict.Distance, verdict.NextReferenceIndex,
                verdict.NextIdWeight);
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested)
        {
            LogIdentityUnchecked(logger, row.GenerationId, row.PortraitIndex, e.Message);
            return null;
        }
    }

    private static string Snake(string name) => JsonNamingPolicy.SnakeCaseLower.ConvertName(name);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Generation {GenerationId} portrait {Index} delivered without an identity check: {Reason}")]
    private static partial void LogIdentityUnchecked(ILogger logger, Guid generationId, int index, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Prediction {PredictionId} is not one of PinGlass's attempts; ignored")]
    private static partial void LogUnknownPrediction(ILogger logger, string predictionId);
}
