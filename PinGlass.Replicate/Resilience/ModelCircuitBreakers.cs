using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly;
using Polly.CircuitBreaker;
using PinGlass.Replicate.Errors;

namespace PinGlass.Replicate.Resilience;

/// <summary>
/// One circuit breaker per model, judging whole predictions (create and outcome): a model that accepts creates but never boots looks
/// healthy to HTTP, so only the prediction's outcome can open its circuit. Only categories that say something about the model count
/// (see <see cref="ErrorPolicy.CountsAgainstModel"/>); a refused input or an NSFW verdict does not. These are one process's breakers:
/// the pipeline shares an opened circuit with the other replicas.
/// </summary>
public sealed class ModelCircuitBreakers(IOptions<ReplicateOptions> options, TimeProvider time, ReplicateMetrics metrics,
    ILogger<ModelCircuitBreakers> logger)
{
    /// <summary>A prediction's outcome as a breaker counts it: no category when it delivered.</summary>
    private sealed record Outcome(ErrorCategory? Category);

    private sealed record Breaker(ResiliencePipeline<Outcome> Pipeline, CircuitBreakerStateProvider State);

    private readonly ConcurrentDictionary<string, Breaker> breakers = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>True while the model's circuit is open: callers skip it without waiting.</summary>
    public bool IsOpen(string model) => Get(model).State.CircuitState is CircuitState.Open or CircuitState.Isolated;

    /// <summary>Counts a prediction's outcome (<paramref name="category"/> null when it delivered) for the model's circuit.</summary>
    public async Task RecordAsync(string model, ErrorCategory? category)
    {
        try
        {
            await Get(model).Pipeline.ExecuteAsync(_ => ValueTask.FromResult(new Outcome(category)), CancellationToken.None);
        }
        catch (BrokenCircuitException)
        {
            // Open: the outcome arrived while the circuit rejects calls; it has nothing more to count.
        }
    }

    private Breaker Get(string model) => breakers.GetOrAdd(model, name =>
    {
        var settings = options.Value.CircuitBreaker;
        var state = new CircuitBreakerStateProvider();
        var pipeline = new ResiliencePipelineBuilder<Outcome> { TimeProvider = time }
            .AddCircuitBreaker(new CircuitBreakerStrategyOptions<Outcome>
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
