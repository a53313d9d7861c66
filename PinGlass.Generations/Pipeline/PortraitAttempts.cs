using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PinGlass.Domain.Styles;
using PinGlass.Generations.Completion;
using PinGlass.Generations.Persistence;
using PinGlass.Generations.Planning;
using PinGlass.Generations.Storage;
using PinGlass.Generations.Submission;
using PinGlass.Generations.Webhooks;
using PinGlass.Photos.Identity;
using PinGlass.Replicate;
using PinGlass.Replicate.Client;
using PinGlass.Replicate.Errors;
using PinGlass.Replicate.Fallback;
using PinGlass.Replicate.Health;
using PinGlass.Replicate.Providers;
using PinGlass.Replicate.Resilience;

namespace PinGlass.Generations.Pipeline;

/// <summary>
/// The life of a portrait's attempts: submit the current attempt's prediction (once, whoever asks and however often), take in its
/// end (from a webhook, a poll or the create's own answer), copy a delivered output into blob storage, and hand a failed portrait
/// to the next provider. A delivered output passes the identity gate first: one that shows someone else (or no face) is made again
/// once, with the next reference and a higher id weight, and delivered flagged if that fails too. Every step reads the state it acts
/// on and changes it with a guarded update, so repeats are harmless.
/// </summary>
public sealed partial class PortraitAttempts(
    GenerationStore store,
    GenerationBlobs blobs,
    StyleCatalog styles,
    FallbackChain chain,
    IEnumerable<PortraitProvider> providers,
    ModelCircuitBreakers breakers,
    ProviderHealth health,
    SafeCreate safeCreate,
    ReplicateClient replicate,
    CreateRateLimiter createLimit,
    OutputFetcher outputs,
    IdentityGate gate,
    IOptions<ReplicateOptions> replicateOptions,
    IOptions<PipelineOptions> options,
    GenerationMetrics metrics,
    TimeProvider time,
    ILogger<PortraitAttempts> logger)
{
    /// <summary>How long a worker holds the right to send one create: its retries and the look for what an ambiguous one made.</summary>
    private static readonly TimeSpan CreateLease = TimeSpan.FromMinutes(5);

    private readonly Dictionary<string, PortraitProvider> byName = providers.ToDictionary(p => p.Name, StringComparer.OrdinalIgnoreCase);

    /// <summary>Makes sure the portrait's current attempt has its prediction: claims a pending portrait, picks the provider, sends the create.</summary>
    public async Task EnsureSubmittedAsync(Guid generationId, int index, CancellationToken cancellationToken)
    {
        if (await store.GetAsync(generationId, cancellationToken) is not { IsTerminal: false, CancelRequestedAt: null } generation
            || time.GetUtcNow() > generation.Deadline
            || await store.ClaimAsync(generationId, index, cancellationToken) is not { Status: PortraitStatus.Running } portrait)
        {
            return;
        }

        var attempts = await store.PredictionsAsync(generationId, index, cancellationToken);
        var current = attempts.FirstOrDefault(a => a.Attempt == portrait.Attempt);
        var inserted = false;
        if (current is null)
        {
            if (NextProvider(attempts.Where(a => a.Attempt >= portrait.ChainStart)) is not { } provider)
            {
                var last = attempts.LastOrDefault();
                await EndFailedAsync(generation, portrait.Index, portrait.Attempt, last?.ErrorCategory ?? "providers_unavailable",
                    last?.Error ?? "Every provider has been tried, or is unavailable (circuit open or health probe failing).", cancellationToken);
                return;
            }

            var reservation = WorstCase(provider);
            (var begun, inserted) = await store.BeginPredictionAsync(generationId, index, portrait.Attempt, provider.Name, provider.Model.FullName,
                ReferenceFor(generation, portrait), reservation, cancellationToken);
            if (begun is null)
            {
                // The budget cannot hold this prediction's worst case now. While others are in flight their settling may free enough
                // (they reserved their worst case, most cost less): the portrait waits, running, for the next pass. Otherwise it is over.
                if (await store.GetAsync(generationId, cancellationToken) is { Reserved: 0 } now
                    && await EndFailedAsync(now, portrait.Index, portrait.Attempt, "budget_exhausted",
                        $"The budget of ${now.Budget:0.00} cannot hold another {provider.Name} prediction (up to ${reservation:0.0000}); ${now.Spent:0.0000} is spent.",
                        cancellationToken))
                {
                    metrics.BudgetRefused(provider.Name);
                }

                return;
            }

            current = begun;
        }

        if (current.PredictionId is null && current.Status == PredictionRowStatus.Creating
            && await store.ClaimCreateAsync(current.Marker, CreateLease, cancellationToken))
        {
            await CreateAsync(generation, portrait, current, resumed: !inserted, cancellationToken);
        }
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

            await ApplyAsync(prediction, cancellationToken);
        }
        catch (ReplicateException e)
        {
            LogRefreshFailed(logger, row.PredictionId!, e.Category, e.Message);
        }
    }

    /// <summary>
    /// Takes in what Replicate says of a prediction. Unknown predictions are ignored; one that has already ended is not taken in again,
    /// but its portrait's next step is taken if the worker that settled it stopped before taking it.
    /// </summary>
    public async Task ApplyAsync(Prediction prediction, CancellationToken cancellationToken)
    {
        var row = await store.PredictionByIdAsync(prediction.Id, cancellationToken)
                  ?? (SafeCreate.MarkerOf(prediction) is { } marker ? await store.AttachByMarkerAsync(marker, prediction.Id, cancellationToken) : null);
        if (row is null)
        {
            LogUnknownPrediction(logger, prediction.Id);
            return;
        }

        if (!row.IsOpen)
        {
            await AdvancePortraitAsync(row, cancellationToken);
            return;
        }

        if (!prediction.IsTerminal)
        {
            await store.RecordCheckedAsync(row.Marker, prediction.Status, cancellationToken);
            return;
        }

        var provider = byName[row.Provider];
        var cost = provider.CostOf(prediction);
        var portrait = await store.PortraitAsync(row.GenerationId, row.PortraitIndex, cancellationToken);
        var current = portrait is { Status: PortraitStatus.Running } && portrait.Attempt == row.Attempt;
        var (category, error) = Failure(prediction);
        StoredOutput? stored = null;
        IdentityCheck? identity = null;
        if (category is null && current)
        {
            try
            {
                var output = await outputs.FetchAsync(prediction.OutputUrls[0], cancellationToken);
                stored = new StoredOutput(GenerationBlobs.PortraitName(row.GenerationId, row.PortraitIndex, row.Attempt, output.Extension), output.ContentType);
                await blobs.SavePortraitAsync(stored.BlobName, output.Content, output.ContentType, cancellationToken);
                identity = await CheckIdentityAsync(row, portrait!, output, cancellationToken);
            }
            catch (OutputFetchException e)
            {
                (category, error) = (ErrorCategory.ModelError, $"The output could not be copied: {e.Message}");
            }
        }

        if (!await store.SettlePredictionAsync(row, prediction.Status, prediction.Metrics?.PredictTime, cost, category is null ? null : Reason(category.Value),
                error, prediction.OutputUrls.FirstOrDefault(), stored, identity, cancellationToken))
        {
            return;
        }

        metrics.PredictionSettled(provider.Model.FullName, prediction.Status, cost,
            prediction.CompletedAt is { } completed ? (completed - prediction.CreatedAt).TotalSeconds : null);
        var latency = (long)((prediction.CompletedAt ?? time.GetUtcNow()) - (portrait?.StartedAt ?? row.CreatedAt)).TotalMilliseconds;
        await breakers.RecordAsync(provider.Model.FullName, new ProviderAttempt(provider.Name, provider.Model.ToString(),
            category is null ? AttemptOutcome.Succeeded : AttemptOutcome.Failed, latency, 0, prediction.Id, null, cost,
            category is null ? null : new GenerationError(category.Value, error!)));
        if (current && await store.PredictionByIdAsync(prediction.Id, cancellationToken) is { } settled)
        {
            await AdvancePortraitAsync(settled, cancellationToken);
        }
    }

    /// <summary>
    /// Takes a portrait's next step from its current attempt's settled prediction: deliver it, make it again (the identity gate
    /// refused it), or hand it to the next provider. Every step is guarded on the portrait's attempt, so taking it twice changes nothing.
    /// </summary>
    public async Task AdvancePortraitAsync(PredictionRow settled, CancellationToken cancellationToken)
    {
        if (settled.IsOpen
            || await store.PortraitAsync(settled.GenerationId, settled.PortraitIndex, cancellationToken) is not { Status: PortraitStatus.Running } portrait
            || portrait.Attempt != settled.Attempt)
        {
            return;
        }

        var latency = (long)((settled.LastCheckedAt ?? time.GetUtcNow()) - (portrait.StartedAt ?? settled.CreatedAt)).TotalMilliseconds;
        if (settled is not { Status: PredictionStatus.Succeeded, BlobName: { } blobName, ContentType: { } contentType })
        {
            var category = Enum.TryParse<ErrorCategory>(settled.ErrorCategory?.Replace("_", ""), ignoreCase: true, out var parsed) ? parsed : ErrorCategory.ModelError;
            await FailAttemptAsync(settled, category, settled.Error ?? "The prediction did not deliver.", cancellationToken);
            return;
        }

        var identity = settled.Identity;
        if (identity is { Decision: IdentityCheck.Regenerate })
        {
            if (await CanRegenerateAsync(settled.GenerationId, cancellationToken) && await store.RegenerateAsync(settled, latency, cancellationToken))
            {
                LogRegenerating(logger, settled.GenerationId, settled.PortraitIndex, identity.Reason, identity.Distance, identity.NextReferenceIndex);
                metrics.Regenerated(identity.Reason);
                await EnsureSubmittedAsync(settled.GenerationId, settled.PortraitIndex, cancellationToken);
                return;
            }

            identity = identity with { Decision = IdentityCheck.DeliverFlagged };
        }

        // Retries: the attempts of this chain before the one that delivered.
        if (await store.SucceedPortraitAsync(settled.GenerationId, settled.PortraitIndex, settled.Attempt, settled.Provider, settled.Model, blobName,
                contentType, latency, settled.Attempt - portrait.ChainStart, settled.Attempt > portrait.ChainStart, identity, cancellationToken))
        {
            metrics.PortraitEnded(PortraitStatus.Succeeded, settled.Provider);
        }
    }

    /// <summary>A regenerated portrait that will get no image of its own delivers the one the gate refused, flagged.</summary>
    public async Task<bool> DeliverRefusedAsync(Guid generationId, int index, int? attempt, CancellationToken cancellationToken)
    {
        if (!await store.DeliverRefusedAsync(generationId, index, attempt, cancellationToken))
        {
            return false;
        }

        var portrait = await store.PortraitAsync(generationId, index, cancellationToken);
        metrics.PortraitEnded(PortraitStatus.Succeeded, portrait?.Provider);
        return true;
    }

    /// <summary>Whether a refused portrait can be made again now: the generation runs, time remains, a provider is up and the budget covers it.</summary>
    private async Task<bool> CanRegenerateAsync(Guid generationId, CancellationToken cancellationToken) =>
        await store.GetAsync(generationId, cancellationToken) is { IsTerminal: false, CancelRequestedAt: null } generation
        && time.GetUtcNow() < generation.Deadline
        && NextProvider([]) is { } provider
        && Affordable(generation, provider);

    /// <summary>
    /// The identity gate's verdict on a delivered output, against the centroid kept with the generation. Null when it cannot be checked
    /// (the faces service is down or slow, or the image does not decode): the portrait is then delivered unchecked rather than lost.
    /// </summary>
    private async Task<IdentityCheck?> CheckIdentityAsync(PredictionRow row, PortraitRow portrait, FetchedOutput output, CancellationToken cancellationToken)
    {
        if (await store.GetAsync(row.GenerationId, cancellationToken) is not { Centroid.Length: > 0 } generation)
        {
            return null;
        }

        var target = new IdentityTarget(generation.Centroid, ReferenceCount(generation));
        var attempt = new PortraitAttempt(row.ReferenceIndex, OptionsFor(generation, portrait, StyleOf(portrait)).IdWeight, portrait.Regenerations);
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

    /// <summary>The current attempt failed: the next provider takes over if the error allows it, there is one, and time and budget remain.</summary>
    private async Task FailAttemptAsync(PredictionRow row, ErrorCategory category, string error, CancellationToken cancellationToken)
    {
        if (await store.GetAsync(row.GenerationId, cancellationToken) is not { IsTerminal: false, CancelRequestedAt: null } generation
            || await store.PortraitAsync(row.GenerationId, row.PortraitIndex, cancellationToken) is not { Status: PortraitStatus.Running } portrait
            || portrait.Attempt != row.Attempt)
        {
            return;
        }

        if (ErrorPolicy.DispositionOf(category) != ErrorDisposition.Final && time.GetUtcNow() < generation.Deadline)
        {
            var attempts = await store.PredictionsAsync(row.GenerationId, row.PortraitIndex, cancellationToken);
            if (NextProvider(attempts.Where(a => a.Attempt >= portrait.ChainStart)) is { } next)
            {
                // A pricier model only if what the budget has left covers it. What others reserved is not counted here: they will
                // cost less than their worst case, and the next attempt waits for room while they are in flight (EnsureSubmittedAsync).
                if (!Affordable(generation, next))
                {
                    // Counted once: a duplicated completion reaching this point too finds the portrait already ended.
                    if (await EndFailedAsync(generation, row.PortraitIndex, row.Attempt, "budget_exhausted",
                            $"{row.Provider} failed ({error}); what the budget has left cannot hold {next.Name} (up to ${WorstCase(next):0.0000}).",
                            cancellationToken))
                    {
                        metrics.BudgetRefused(next.Name);
                    }

                    return;
                }

                if (await store.AdvanceAttemptAsync(row.GenerationId, row.PortraitIndex, row.Attempt, cancellationToken))
                {
                    LogFellBack(logger, row.GenerationId, row.PortraitIndex, row.Provider, next.Name, category, error);
                    metrics.FellBack(row.Provider, next.Name);
                    await EnsureSubmittedAsync(row.GenerationId, row.PortraitIndex, cancellationToken);
                    return;
                }
            }
        }

        await EndFailedAsync(generation, row.PortraitIndex, row.Attempt, Reason(category), error, cancellationToken);
    }

    /// <summary>Ends the portrait's attempt as failed (or delivers its refused output flagged); false when another worker already ended it.</summary>
    private async Task<bool> EndFailedAsync(GenerationRow generation, int index, int attempt, string category, string error, CancellationToken cancellationToken)
    {
        if (await DeliverRefusedAsync(generation.Id, index, attempt, cancellationToken))
        {
            return true;
        }

        if (!await store.FailPortraitAsync(generation.Id, index, attempt, PortraitStatus.Failed, category, error, cancellationToken))
        {
            return false;
        }

        LogPortraitFailed(logger, generation.Id, index, category, error);
        metrics.PortraitEnded(PortraitStatus.Failed, null);
        return true;
    }

    private async Task CreateAsync(GenerationRow generation, PortraitRow portrait, PredictionRow row, bool resumed, CancellationToken cancellationToken)
    {
        var provider = byName[row.Provider];
        var request = await RequestAsync(generation, portrait, row.ReferenceIndex, cancellationToken);
        var input = provider.Map(request).Input;
        var settings = replicateOptions.Value;
        var webhook = WebhookTrace.Carry(settings.WebhookUrl);
        var create = new CreatePredictionOptions(null, settings.CancelAfterSent, webhook, webhook is null ? null : ["completed"]);
        await createLimit.WaitAsync(cancellationToken);
        var tally = RetryTally.Begin();
        Prediction prediction;
        try
        {
            prediction = await safeCreate.CreateAsync(provider.Model, input, create, cancellationToken, new CreateKey(row.Marker, row.CreatedAt, resumed));
        }
        catch (ReplicateException e)
        {
            if (await store.RecordNotCreatedAsync(row, Reason(e.Category), e.Message, tally.Retries, cancellationToken))
            {
                await breakers.RecordAsync(provider.Model.FullName, new ProviderAttempt(provider.Name, provider.Model.ToString(), AttemptOutcome.Failed, 0,
                    tally.Retries, null, null, 0, new GenerationError(e.Category, e.Message)));
                await FailAttemptAsync(row, e.Category, e.Message, cancellationToken);
            }

            return;
        }

        metrics.Retried(provider.Name, tally.Retries);
        await store.RecordCreatedAsync(row.Marker, prediction.Id, prediction.Status, tally.Retries, cancellationToken);
        LogSubmitted(logger, generation.Id, portrait.Index, row.Attempt, provider.Name, prediction.Id);
        if (prediction.IsTerminal)
        {
            await ApplyAsync(prediction, cancellationToken);
        }
        else if (await store.GetAsync(generation.Id, cancellationToken) is { } now && (now.IsTerminal || now.CancelRequestedAt is not null))
        {
            // Cancelled or ended while the create was on its way: stop it so it does not run (and bill) for nothing.
            await CancelQuietlyAsync(prediction.Id, cancellationToken);
        }
    }

    /// <summary>Cancels a prediction on Replicate (billing stops) and takes in the answer; a failure is logged, Cancel-After still ends it.</summary>
    public async Task CancelQuietlyAsync(string predictionId, CancellationToken cancellationToken)
    {
        try
        {
            await ApplyAsync(await replicate.CancelPredictionAsync(predictionId, cancellationToken), cancellationToken);
        }
        catch (ReplicateException e)
        {
            LogRefreshFailed(logger, predictionId, e.Category, e.Message);
        }
    }

    /// <summary>The first provider of the chain not yet tried in this chain whose circuit is closed and whose health probe passes.</summary>
    private PortraitProvider? NextProvider(IEnumerable<PredictionRow> tried)
    {
        var used = tried.Select(t => t.Provider).ToHashSet(StringComparer.OrdinalIgnoreCase);
        return chain.ChainFor(1).FirstOrDefault(p => !used.Contains(p.Name) && !breakers.IsOpen(p.Model.FullName) && health.IsHealthy(p.Name));
    }

    /// <summary>A prediction's worst-case cost, reserved on the budget before it is created.</summary>
    private decimal WorstCase(PortraitProvider provider) => provider.WorstCaseCost(options.Value.MaxPredictTimeOf(provider.Name));

    /// <summary>
    /// Whether what the budget has left after what is spent covers the provider's worst case: whether the prediction can ever be
    /// made. Its reservation, when it is created, also counts what others reserved; until they settle and free room, it waits.
    /// </summary>
    private bool Affordable(GenerationRow generation, PortraitProvider provider) => generation.Spent + WorstCase(provider) <= generation.Budget;

    /// <summary>
    /// References rotate: each portrait walks through them, and each batch starts one further on. A regeneration uses the one the
    /// identity gate chose.
    /// </summary>
    private static int ReferenceFor(GenerationRow generation, PortraitRow portrait) =>
        portrait.ReferenceIndex ?? (portrait.Batch + portrait.Index) % Math.Max(1, ReferenceCount(generation));

    private static int ReferenceCount(GenerationRow generation) => JsonSerializer.Deserialize<JsonElement>(generation.ReferencesJson).GetArrayLength();

    /// <summary>The style's options with the request's settings on top, and a regeneration's raised id weight.</summary>
    private static GenerationOptions OptionsFor(GenerationRow generation, PortraitRow portrait, Style style)
    {
        var settings = JsonSerializer.Deserialize<GenerationSettings>(generation.OptionsJson, GenerationSettings.Json) ?? new();
        var options = settings.For(style);
        return portrait.IdWeight is { } idWeight ? options with { IdWeight = idWeight } : options;
    }

    private async Task<GenerationRequest> RequestAsync(GenerationRow generation, PortraitRow portrait, int reference, CancellationToken cancellationToken)
    {
        var style = StyleOf(portrait);
        var face = await blobs.ReferenceDataUrlAsync(generation.Id, reference, cancellationToken);
        return new GenerationRequest(style.Prompt, [face], OptionsFor(generation, portrait, style), portrait.Index, style.NegativePrompt);
    }

    private Style StyleOf(PortraitRow portrait) =>
        styles.Find(portrait.StyleId) ?? throw new InvalidOperationException($"Style {portrait.StyleId} is not in the catalog.");

    /// <summary>The error category and message of a prediction that ended without a usable output; nulls when it delivered.</summary>
    private static (ErrorCategory? Category, string? Error) Failure(Prediction prediction) => prediction.Status switch
    {
        PredictionStatus.Succeeded when prediction.OutputUrls.Count > 0 => (null, null),
        PredictionStatus.Succeeded => (ErrorCategory.ModelError, "The prediction succeeded without an output."),
        PredictionStatus.Failed => (ErrorPolicy.FromPredictionError(prediction.Error), prediction.Error ?? "The prediction failed."),
        PredictionStatus.Aborted => (ErrorCategory.Timeout, "The prediction never started before its deadline."),
        _ => (ErrorCategory.ModelError, $"The prediction ended {prediction.Status}."),
    };

    /// <summary>An error category as the API and the database name it: snake_case.</summary>
    public static string Reason(ErrorCategory category) => Snake(category.ToString());

    private static string Snake(string name) => JsonNamingPolicy.SnakeCaseLower.ConvertName(name);

    [LoggerMessage(Level = LogLevel.Information, Message = "Generation {GenerationId} portrait {Index} attempt {Attempt}: {Provider} prediction {PredictionId}")]
    private static partial void LogSubmitted(ILogger logger, Guid generationId, int index, int attempt, string provider, string predictionId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Generation {GenerationId} portrait {Index}: {From} failed ({Category}: {Error}); {To} takes over")]
    private static partial void LogFellBack(ILogger logger, Guid generationId, int index, string from, string to, ErrorCategory category, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Generation {GenerationId} portrait {Index} failed: {Category}: {Error}")]
    private static partial void LogPortraitFailed(ILogger logger, Guid generationId, int index, string category, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Generation {GenerationId} portrait {Index}: identity gate refused it ({Reason}, distance {Distance}); made again with reference {Reference}")]
    private static partial void LogRegenerating(ILogger logger, Guid generationId, int index, string reason, double? distance, int? reference);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Generation {GenerationId} portrait {Index} delivered without an identity check: {Reason}")]
    private static partial void LogIdentityUnchecked(ILogger logger, Guid generationId, int index, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Prediction {PredictionId} is not one of PinGlass's attempts; ignored")]
    private static partial void LogUnknownPrediction(ILogger logger, string predictionId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not reach prediction {PredictionId} ({Category}): {Reason}")]
    private static partial void LogRefreshFailed(ILogger logger, string predictionId, ErrorCategory category, string reason);
}
