using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly;
using Polly.CircuitBreaker;
using PinGlass.Replicate.Errors;
using PinGlass.Replicate.Fallback;

namespace PinGlass.Replicate.Resilience;

/// <summary>
/// One circuit breaker per model, judging whole provider attempts (create, wait, outcome): a model that accepts creates but never
/// boots looks healthy to HTTP, so only the attempt's outcome can open its circuit. Only categories that say something about the
/// model count (see <see cref="ErrorPolicy.CountsAgainstModel"/>); a refused input or an NSFW verdict does not.
/// </summary>
public sealed class ModelCircuitBreakers(IOptions<ReplicateOptions> options, TimeProvider time, ReplicateMetrics metrics,
    ILogger<ModelCircuitBreakers> logger)
{
    private sealed record Breaker(ResiliencePipeline<ProviderAttempt> Pipeline, CircuitBreakerStateProvider State);

    private readonly ConcurrentDictionary<string, Breaker> breakers = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>True while the model's circuit is open: callers skip it without waiting.</summary>
    public bool IsOpen(string model) => Get(model).State.CircuitState is CircuitState.Open or CircuitState.Isolated;

    /// <summary>Runs an attempt through the model's breaker; null when the circuit rejected it (open, or half-open with a trial running).</summary>
    public async Task<ProviderAttempt?> ExecuteAsync(string model, Func<CancellationToken, ValueTask<ProviderAttempt>> attempt,
        CancellationToken cancellationToken)
    {
        try
        {
            return await Get(model).Pipeline.ExecuteAsync(attempt, cancellationToken);
        }
        catch (BrokenCircuitException)
        {
            return null;
        }
    }

    /// <summary>Counts an attempt whose outcome arrived later (by webhook or poll) for the model's circuit.</summary>
    public async Task RecordAsync(string model, ProviderAttempt attempt) =>
        await ExecuteAsync(model, _ => ValueTask.FromResult(attempt), CancellationToken.None);

    private Breaker Get(string model) => breakers.GetOrAdd(model, name =>
    {
        var settings = options.Value.CircuitBreaker;
        var state = new CircuitBreakerStateProvider();
        var pipeline = new ResiliencePipelineBuilder<ProviderAttempt> { TimeProvider = time }
            .AddCircuitBreaker(new CircuitBreakerStrategyOptions<ProviderAttempt>
            {
                FailureRatio = settings.FailureRatio,
                MinimumThroughput = settings.MinimumThroughput,
                SamplingDuration = settings.SamplingDuration,
                BreakDuration = settings.BreakDuration,
                StateProvider = state,
                ShouldHandle = args => ValueTask.FromResult(
                    args.Outcome.Result is { Category: { } category } && ErrorPolicy.CountsAgainstModel(category)),
                OnOpened = args =>
                {
                    logger.CircuitOpened(name, args.BreakDuration);
                    metrics.CircuitOpened(name);
                    return default;
                },
                OnClosed = _ =>
                {
                    logger.CircuitClosed(name);
                    return default;
                },
            })
            .Build();
        return new Breaker(pipeline, state);
    });
}
