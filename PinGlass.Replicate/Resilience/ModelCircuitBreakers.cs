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

    /// <summary>
    /// A model's breaker, and when its last opening ends: Polly moves an open circuit to half-open only when the pipeline runs, and
    /// a model nobody sends to (because it is open) would never run it.
    /// </summary>
    private sealed class Breaker(CircuitBreakerStateProvider state)
    {
        private long openUntilTicks;

        public ResiliencePipeline<Outcome> Pipeline { get; set; } = ResiliencePipeline<Outcome>.Empty;

        public CircuitBreakerStateProvider State => state;

        public DateTimeOffset OpenUntil
        {
            get => new(Interlocked.Read(ref openUntilTicks), TimeSpan.Zero);
            set => Interlocked.Exchange(ref openUntilTicks, value.UtcTicks);
        }
    }

    private readonly ConcurrentDictionary<string, Breaker> breakers = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>True while the model's circuit is open and its break has not passed: callers skip it for now.</summary>
    public bool IsOpen(string model)
    {
        var breaker = Get(model);
        return breaker.State.CircuitState switch
        {
            CircuitState.Isolated => true,
            CircuitState.Open => time.GetUtcNow() < breaker.OpenUntil,
            _ => false,
        };
    }

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
        var breaker = new Breaker(new CircuitBreakerStateProvider());
        breaker.Pipeline = new ResiliencePipelineBuilder<Outcome> { TimeProvider = time }
            .AddCircuitBreaker(new CircuitBreakerStrategyOptions<Outcome>
            {
                FailureRatio = settings.FailureRatio,
                MinimumThroughput = settings.MinimumThroughput,
                SamplingDuration = settings.SamplingDuration,
                BreakDuration = settings.BreakDuration,
                StateProvider = breaker.State,
                ShouldHandle = args => ValueTask.FromResult(
                    args.Outcome.Result is { Category: { } category } && ErrorPolicy.CountsAgainstModel(category)),
                OnOpened = args =>
                {
                    breaker.OpenUntil = time.GetUtcNow() + args.BreakDuration;
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
        return breaker;
    });
}
