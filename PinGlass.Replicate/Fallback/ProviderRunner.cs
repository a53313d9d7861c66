using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PinGlass.Replicate.Client;
using PinGlass.Replicate.Errors;
using PinGlass.Replicate.Providers;
using PinGlass.Replicate.Resilience;

namespace PinGlass.Replicate.Fallback;

/// <summary>
/// One attempt on one provider: create the prediction safely, wait for it (<c>Prefer: wait</c>, then polling) until it ends or the
/// generation timeout passes, and cancel it when it does. <c>Cancel-After</c> carries the same deadline to Replicate, so a
/// prediction this process loses track of still stops billing.
/// </summary>
public sealed class ProviderRunner(ReplicateClient client, SafeCreate safeCreate, IOptions<ReplicateOptions> options, TimeProvider time,
    ILogger<ProviderRunner> logger)
{
    public async Task<ProviderAttempt> RunAsync(PortraitProvider provider, GenerationRequest request, CancellationToken cancellationToken)
    {
        var settings = options.Value;
        var tally = RetryTally.Begin();
        var started = time.GetTimestamp();
        var mapped = provider.Map(request);
        var model = provider.Model;
        using var deadline = new CancellationTokenSource(settings.GenerationTimeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(deadline.Token, cancellationToken);
        Prediction? prediction = null;

        ProviderAttempt Attempt(AttemptOutcome outcome, GenerationError? error = null) => new(provider.Name, model.ToString(), outcome,
            (long)time.GetElapsedTime(started).TotalMilliseconds, tally.Retries, prediction?.Id,
            outcome == AttemptOutcome.Succeeded ? prediction!.OutputUrls[0] : null, prediction is null ? 0 : provider.CostOf(prediction), error,
            mapped.Adaptations);

        try
        {
            var wait = settings.SyncWaitSeconds > 0 ? TimeSpan.FromSeconds(Math.Min(settings.SyncWaitSeconds, settings.GenerationTimeout.TotalSeconds)) : (TimeSpan?)null;
            var create = new CreatePredictionOptions(wait, settings.CancelAfterSent, settings.WebhookUrl,
                settings.WebhookUrl is null ? null : ["completed"]);
            prediction = await safeCreate.CreateAsync(model, mapped.Input, create, linked.Token);
            while (!prediction.IsTerminal)
            {
                await Task.Delay(settings.PollInterval, time, linked.Token);
                prediction = await PollAsync(prediction, linked.Token);
            }
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            if (prediction is not null)
            {
                logger.DeadlineMissed(prediction.Id, provider.Name);
                prediction = await CancelAsync(prediction, cancellationToken);
            }

            return Attempt(AttemptOutcome.Failed, new(ErrorCategory.Timeout,
                $"{provider.Name} did not finish within {settings.GenerationTimeout.TotalSeconds:0.#} s."));
        }
        catch (ReplicateException e)
        {
            return Attempt(AttemptOutcome.Failed, new(e.Category, e.Message));
        }

        return prediction.Status switch
        {
            PredictionStatus.Succeeded when prediction.OutputUrls.Count > 0 => Attempt(AttemptOutcome.Succeeded),
            PredictionStatus.Succeeded => Attempt(AttemptOutcome.Failed, new(ErrorCategory.ModelError, "The prediction succeeded without an output.")),
            PredictionStatus.Failed => Attempt(AttemptOutcome.Failed, new(ErrorPolicy.FromPredictionError(prediction.Error), prediction.Error ?? "The prediction failed.")),
            // Replicate's own Cancel-After deadline (aborted before it started, canceled while running) or someone else's cancel.
            PredictionStatus.Aborted => Attempt(AttemptOutcome.Failed, new(ErrorCategory.Timeout, "The prediction never started before its deadline.")),
            _ => Attempt(AttemptOutcome.Failed, new(ErrorCategory.ModelError, $"The prediction ended {prediction.Status}.")),
        };
    }

    /// <summary>
    /// One poll. A poll whose retries ran out is not a reason to give up a running, billed prediction: polling is harmless to repeat,
    /// so it goes on until the deadline.
    /// </summary>
    private async Task<Prediction> PollAsync(Prediction prediction, CancellationToken cancellationToken)
    {
        try
        {
            return await client.GetPredictionAsync(prediction.Id, cancellationToken);
        }
        catch (ReplicateException e) when (ErrorPolicy.IsRetryable(e.Category))
        {
            return prediction;
        }
    }

    /// <summary>Cancels a prediction that is no longer wanted; if the cancel fails, Cancel-After still ends it.</summary>
    private async Task<Prediction> CancelAsync(Prediction prediction, CancellationToken cancellationToken)
    {
        try
        {
            return await client.CancelPredictionAsync(prediction.Id, cancellationToken);
        }
        catch (ReplicateException)
        {
            return prediction;
        }
    }
}
