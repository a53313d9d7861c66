using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PinGlass.Generations.Persistence;
using PinGlass.Generations.Providers;
using PinGlass.Generations.Submission;
using PinGlass.Generations.Webhooks;
using PinGlass.Replicate;
using PinGlass.Replicate.Client;
using PinGlass.Replicate.Errors;
using PinGlass.Replicate.Providers;
using PinGlass.Replicate.Resilience;

namespace PinGlass.Generations.Portraits;

/// <summary>How sending an attempt's create ended.</summary>
public abstract record SendResult
{
    private SendResult()
    {
    }

    /// <summary>Another worker holds the right to send it.</summary>
    public sealed record Busy : SendResult;

    /// <summary>Replicate refused it for good: recorded as not created, nothing billed, its reservation released.</summary>
    public sealed record NotCreated : SendResult;

    public sealed record Created(Prediction Prediction) : SendResult;
}

/// <summary>
/// Carries out <see cref="PortraitDecision.Send"/>: takes the attempt's create lease, waits for the shared create-rate limit, and
/// creates the prediction through <see cref="SafeCreate"/> (which finds what an ambiguous create made, by the attempt's input).
/// </summary>
public sealed partial class PredictionSender(PredictionLedger ledger, PortraitRequests requests, ProviderChain chain, ProviderAvailability availability,
    SafeCreate safeCreate, CreateRateLimiter createLimit, IOptions<ReplicateOptions> replicateOptions, IOptions<PipelineOptions> options,
    GenerationMetrics metrics, ILogger<PredictionSender> logger)
{
    /// <param name="resumed">The attempt was recorded by another call, which may have sent its create already.</param>
    public async Task<SendResult> SendAsync(GenerationRow generation, PortraitRow portrait, PredictionRow row, bool resumed,
        CancellationToken cancellationToken)
    {
        var lease = options.Value.CreateLease;
        if (await ledger.ClaimCreateAsync(row.Marker, lease, cancellationToken) is not { } held)
        {
            return new SendResult.Busy();
        }

        var provider = chain[row.Provider];
        var input = InputOf(provider, await requests.RequestAsync(generation, portrait, provider, row.ReferenceIndex, cancellationToken), row);
        if (!await ledger.RecordInputAsync(row.Marker, held, InputFingerprint.Of(input), cancellationToken))
        {
            return new SendResult.Busy();
        }

        await createLimit.WaitAsync(cancellationToken);
        var tally = RetryTally.Begin();
        Prediction prediction;
        // The rate-limit wait and the create's retries have no bound of their own: the lease is renewed before each send, and a worker
        // that waited past it and lost it to another sends nothing more.
        var hold = new CreateHold(ledger, row.Marker, held, lease);
        try
        {
            prediction = await safeCreate.CreateAsync(provider.Model, input, CreateOptions(provider.Name), cancellationToken, hold.KeyFor(row, resumed));
        }
        catch (CreateTakenOverException)
        {
            LogTakenOver(logger, generation.Id, portrait.Index, row.Attempt);
            return new SendResult.Busy();
        }
        catch (CreateOutcomeUnknownException e)
        {
            // Not "not created": a prediction may exist. The lease is kept for a back-off (Replicate is failing every call now), after
            // which a pass resumes the create, search first.
            LogOutcomeUnknown(logger, generation.Id, portrait.Index, row.Attempt, e.InnerException?.Message ?? e.Message);
            await hold.KeepAsync(PortraitStateMachine.MaxBackoff);
            return new SendResult.Busy();
        }
        catch (ReplicateException e)
        {
            if (await ledger.RecordNotCreatedAsync(row, e.Category.Name(), e.Message, tally.Retries, cancellationToken))
            {
                await availability.RecordOutcomeAsync(provider, e.Category);
            }

            return new SendResult.NotCreated();
        }

        metrics.Retried(provider.Name, tally.Retries);
        try
        {
            await ledger.RecordCreatedAsync(row.Marker, prediction.Id, prediction.Status, prediction.StartedAt, tally.Retries, cancellationToken);
        }
        catch (Npgsql.PostgresException e) when (e.SqlState == Npgsql.PostgresErrorCodes.UniqueViolation)
        {
            // Another attempt of the same input adopted that prediction a moment before: it is theirs. This create is resumed later,
            // search first, and finds nothing of its own or what it made.
            LogOutcomeUnknown(logger, generation.Id, portrait.Index, row.Attempt, $"prediction {prediction.Id} is another attempt's");
            await hold.KeepAsync(PortraitStateMachine.MaxBackoff);
            return new SendResult.Busy();
        }

        LogSubmitted(logger, generation.Id, portrait.Index, row.Attempt, provider.Name, prediction.Id);
        return new SendResult.Created(prediction);
    }

    /// <summary>
    /// An attempt of a stopped generation whose create a sender claimed and lost hold of (<see cref="PredictionLedger.LapsedCreatesAsync"/>):
    /// the create is taken over and only searched for, never sent. What it made is recorded and returned, for the caller to cancel and
    /// take in; when it made nothing the attempt ends not created and its reservation is released. Null too while another worker holds
    /// the create, or when the search failed (the lease is kept for a back-off, and the reconciliation looks again).
    /// </summary>
    public async Task<Prediction?> FindLapsedAsync(GenerationRow generation, PortraitRow portrait, PredictionRow row, CancellationToken cancellationToken)
    {
        var lease = options.Value.CreateLease;
        if (await ledger.ClaimCreateAsync(row.Marker, lease, cancellationToken) is not { } held)
        {
            return null;
        }

        var provider = chain[row.Provider];
        var hold = new CreateHold(ledger, row.Marker, held, lease);
        Prediction? made = null;
        try
        {
            // Found by the input it recorded before its first send (the references it was made from may be gone by now); none recorded,
            // nothing was sent.
            if (row.InputFingerprint is { } fingerprint)
            {
                made = await safeCreate.FindMadeAsync(provider.Model, fingerprint, hold.KeyFor(row, resumed: true), cancellationToken);
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogLapsedUnresolved(logger, generation.Id, portrait.Index, row.Attempt, e.Message);
            await hold.KeepAsync(PortraitStateMachine.MaxBackoff);
            return null;
        }

        if (made is null)
        {
            await ledger.RecordNotCreatedAsync(row, PortraitStateMachine.StopReason(generation),
                "The generation stopped; this create's sender was gone and it had made no prediction.", 0, cancellationToken);
            return null;
        }

        await ledger.RecordCreatedAsync(row.Marker, made.Id, made.Status, made.StartedAt, 0, cancellationToken);
        LogLapsedFound(logger, generation.Id, portrait.Index, row.Attempt, made.Id);
        return made;
    }

    /// <summary>
    /// The attempt's input. Without a seed of the person's own, the attempt's seed comes from its marker: random, the same when a crashed
    /// create is resumed, and it makes the input the attempt's own among the account's predictions (how a lost create is found).
    /// </summary>
    private static JsonObject InputOf(PortraitProvider provider, PortraitRequest request, PredictionRow row) =>
        provider.Map(request with { Options = request.Options with { Seed = request.Options.Seed ?? InputFingerprint.SeedFor(row.Marker) } }).Input;

    private CreatePredictionOptions CreateOptions(string provider)
    {
        var settings = replicateOptions.Value;
        var webhook = WebhookTrace.Carry(settings.WebhookUrl);
        return new CreatePredictionOptions(null, settings.CancelAfterFor(provider), webhook, webhook is null ? null : ["completed"]);
    }

    /// <summary>One worker's hold on an attempt's create: renewed before each search and send, kept for a back-off when it gives up for now.</summary>
    private sealed class CreateHold(PredictionLedger ledger, string marker, DateTimeOffset held, TimeSpan lease)
    {
        /// <summary>
        /// The create as <see cref="SafeCreate"/> needs it: a prediction another attempt holds is not this one's (one a webhook has
        /// already attached to this attempt is), and other attempts of the same input that still wait decide who adopts first.
        /// </summary>
        public CreateKey KeyFor(PredictionRow row, bool resumed) => new(row.Marker, row.CreatedAt, resumed, RenewAsync,
            async (predictionId, cancellationToken) => await ledger.ByIdAsync(predictionId, cancellationToken) is { } holder && holder.Marker != row.Marker,
            cancellationToken => ledger.InputContestAsync(row.Marker, cancellationToken), row.InputFingerprint);

        public Task KeepAsync(TimeSpan backOff) => ledger.RenewCreateAsync(marker, held, backOff, CancellationToken.None);

        private async Task<bool> RenewAsync(CancellationToken cancellationToken)
        {
            if (await ledger.RenewCreateAsync(marker, held, lease, cancellationToken) is not { } renewed)
            {
                return false;
            }

            held = renewed;
            return true;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Generation {GenerationId} portrait {Index} attempt {Attempt}: another worker took the create over while this one waited")]
    private static partial void LogTakenOver(ILogger logger, Guid generationId, int index, int attempt);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Generation {GenerationId} portrait {Index} attempt {Attempt}: the create's answer was lost and the search for it failed ({Error}); resumed on the next pass")]
    private static partial void LogOutcomeUnknown(ILogger logger, Guid generationId, int index, int attempt, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Generation {GenerationId} portrait {Index} attempt {Attempt}: the create its lost sender may have made could not be looked for ({Error}); looked for again later")]
    private static partial void LogLapsedUnresolved(ILogger logger, Guid generationId, int index, int attempt, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Generation {GenerationId} portrait {Index} attempt {Attempt}: its lost sender had made prediction {PredictionId}; it is cancelled and its cost recorded")]
    private static partial void LogLapsedFound(ILogger logger, Guid generationId, int index, int attempt, string predictionId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Generation {GenerationId} portrait {Index} attempt {Attempt}: {Provider} prediction {PredictionId}")]
    private static partial void LogSubmitted(ILogger logger, Guid generationId, int index, int attempt, string provider, string predictionId);
}
