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
/// creates the prediction through <see cref="SafeCreate"/> (which finds what an ambiguous create made, by the attempt's marker).
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
        var input = provider.Map(await requests.RequestAsync(generation, portrait, provider, row.ReferenceIndex, cancellationToken)).Input;
        var settings = replicateOptions.Value;
        var webhook = WebhookTrace.Carry(settings.WebhookUrl);
        var create = new CreatePredictionOptions(null, settings.CancelAfterSent, webhook, webhook is null ? null : ["completed"]);
        await createLimit.WaitAsync(cancellationToken);
        var tally = RetryTally.Begin();
        Prediction prediction;
        // The rate-limit wait and the create's retries have no bound of their own: the lease is renewed before each send, and a worker
        // that waited past it and lost it to another sends nothing more.
        var key = new CreateKey(row.Marker, row.CreatedAt, resumed, async token =>
        {
            if (await ledger.RenewCreateAsync(row.Marker, held, lease, token) is not { } renewed)
            {
                return false;
            }

            held = renewed;
            return true;
        });
        try
        {
            prediction = await safeCreate.CreateAsync(provider.Model, input, create, cancellationToken, key);
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
            await ledger.RenewCreateAsync(row.Marker, held, PortraitStateMachine.MaxBackoff, CancellationToken.None);
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
        await ledger.RecordCreatedAsync(row.Marker, prediction.Id, prediction.Status, tally.Retries, cancellationToken);
        LogSubmitted(logger, generation.Id, portrait.Index, row.Attempt, provider.Name, prediction.Id);
        return new SendResult.Created(prediction);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Generation {GenerationId} portrait {Index} attempt {Attempt}: another worker took the create over while this one waited")]
    private static partial void LogTakenOver(ILogger logger, Guid generationId, int index, int attempt);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Generation {GenerationId} portrait {Index} attempt {Attempt}: the create's answer was lost and the search for it failed ({Error}); resumed on the next pass")]
    private static partial void LogOutcomeUnknown(ILogger logger, Guid generationId, int index, int attempt, string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "Generation {GenerationId} portrait {Index} attempt {Attempt}: {Provider} prediction {PredictionId}")]
    private static partial void LogSubmitted(ILogger logger, Guid generationId, int index, int attempt, string provider, string predictionId);
}
