using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Options;
using Polly;
using PinGlass.Replicate.Client;

namespace PinGlass.Replicate.Resilience;

/// <summary>
/// The Replicate HttpClient's one resilience handler: retry (the design's 3 × 1 s ×2 up to 30 s, <c>Retry-After</c> honoured)
/// around a per-attempt timeout. Creates pass through untouched: only <see cref="SafeCreate"/> may send one again.
/// Circuit breakers are not here but per model in <see cref="ModelCircuitBreakers"/>: one breaker per host would let one
/// broken model stop them all.
/// </summary>
internal static class ReplicateResilience
{
    public const string HandlerName = "replicate";

    public static IHttpClientBuilder AddReplicateResilience(this IHttpClientBuilder client)
    {
        // Experimental API, but without it the standard handler ServiceDefaults adds to every client would stack with this one.
#pragma warning disable EXTEXP0001
        client.RemoveAllResilienceHandlers();
#pragma warning restore EXTEXP0001
        client.AddResilienceHandler(HandlerName, (pipeline, context) =>
        {
            var options = context.ServiceProvider.GetRequiredService<IOptions<ReplicateOptions>>().Value;
            var metrics = context.ServiceProvider.GetRequiredService<ReplicateMetrics>();
            if (options.MaxRetries > 0)
            {
                pipeline.AddRetry(new HttpRetryStrategyOptions
                {
                    MaxRetryAttempts = options.MaxRetries,
                    Delay = options.RetryDelay,
                    MaxDelay = options.MaxRetryDelay,
                    BackoffType = DelayBackoffType.Exponential,
                    UseJitter = false,
                    ShouldRetryAfterHeader = true,
                    ShouldHandle = args => ValueTask.FromResult(
                        args.Context.GetRequestMessage() is { } request && !request.Options.TryGetValue(ReplicateClient.IsCreate, out _)
                        && HttpClientResiliencePredicates.IsTransient(args.Outcome)),
                    OnRetry = args =>
                    {
                        RetryTally.Count();
                        metrics.Retried(args.Context.GetRequestMessage()?.Method.Method ?? "?");
                        return default;
                    },
                });
            }

            pipeline.AddTimeout(new HttpTimeoutStrategyOptions
            {
                TimeoutGenerator = args => ValueTask.FromResult(options.AttemptTimeout
                    + (args.Context.GetRequestMessage()?.Options.TryGetValue(ReplicateClient.HoldTime, out var hold) == true ? hold : TimeSpan.Zero)),
            });
        });
        return client;
    }
}
