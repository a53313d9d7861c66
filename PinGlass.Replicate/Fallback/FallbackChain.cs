using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PinGlass.Replicate.Errors;
using PinGlass.Replicate.Health;
using PinGlass.Replicate.Providers;
using PinGlass.Replicate.Resilience;

namespace PinGlass.Replicate.Fallback;

/// <summary>
/// Turns "make this portrait" into provider attempts: the primary (<c>REPLICATE_PRIMARY_MODEL</c>), then, if
/// <c>REPLICATE_ENABLE_FALLBACK</c>, the others in the design's order; the multi-reference provider first when it is switched on and
/// the request has several faces. A provider whose circuit is open or whose health probe failed is skipped at once.
/// </summary>
public sealed class FallbackChain(IEnumerable<PortraitProvider> providers, ProviderRunner runner, ModelCircuitBreakers breakers,
    ProviderHealth health, IOptions<ReplicateOptions> options, ReplicateMetrics metrics, TimeProvider time, ILogger<FallbackChain> logger)
{
    private readonly Dictionary<string, PortraitProvider> byName = providers.ToDictionary(p => p.Name, StringComparer.OrdinalIgnoreCase);

    /// <summary>The providers a request goes to, in order.</summary>
    public IReadOnlyList<PortraitProvider> ChainFor(GenerationRequest request) => ChainFor(request.FaceImages.Count);

    /// <summary>The providers a request with <paramref name="faces"/> reference faces goes to, in order.</summary>
    public IReadOnlyList<PortraitProvider> ChainFor(int faces)
    {
        var settings = options.Value;
        var chain = new List<PortraitProvider>();
        if (settings.EnableMultiReference && faces > 1)
        {
            chain.Add(byName[ProviderNames.FluxMultiPulid]);
        }

        chain.Add(byName[settings.PrimaryModel]);
        if (settings.EnableFallback)
        {
            chain.AddRange(ProviderNames.Single.Where(n => !n.Equals(settings.PrimaryModel, StringComparison.OrdinalIgnoreCase)).Select(n => byName[n]));
        }

        return chain;
    }

    /// <summary>Makes one portrait. Invalid requests fail with <see cref="ErrorCategory.Validation"/> before any call.</summary>
    public async Task<GenerationResult> GenerateAsync(GenerationRequest request, CancellationToken cancellationToken = default)
    {
        var started = time.GetTimestamp();
        if (request.Validate() is { Count: > 0 } invalid)
        {
            return Result(request, started, [], new(ErrorCategory.Validation, string.Join(" ", invalid)));
        }

        var attempts = new List<ProviderAttempt>();
        var chain = ChainFor(request);
        foreach (var provider in chain)
        {
            var model = provider.Model.FullName;
            var attempt = breakers.IsOpen(model) ? Skipped(provider, AttemptOutcome.SkippedCircuitOpen)
                : !health.IsHealthy(provider.Name) ? Skipped(provider, AttemptOutcome.SkippedUnhealthy)
                : await breakers.ExecuteAsync(model, async token => await runner.RunAsync(provider, request, token), cancellationToken)
                  ?? Skipped(provider, AttemptOutcome.SkippedCircuitOpen);
            attempts.Add(attempt);
            metrics.Attempted(provider.Name, attempt.Outcome.ToString(), attempt.Category, attempt.LatencyMs);
            if (attempt.Outcome == AttemptOutcome.Succeeded)
            {
                return Result(request, started, attempts, null);
            }

            if (attempt.Error is { } error)
            {
                logger.ProviderFailed(provider.Name, error.Category, attempt.Retries, attempt.LatencyMs, error.Message);
                if (ErrorPolicy.DispositionOf(error.Category) == ErrorDisposition.Final)
                {
                    break;
                }
            }

            if (provider != chain[^1])
            {
                metrics.FellBack(provider.Name);
            }
        }

        var last = attempts.LastOrDefault(a => a.Error is not null)?.Error
                   ?? new GenerationError(ErrorCategory.ModelOverloaded, "Every provider was skipped: circuits open or health probes failing.");
        return Result(request, started, attempts, last);
    }

    private ProviderAttempt Skipped(PortraitProvider provider, AttemptOutcome outcome)
    {
        logger.ProviderSkipped(provider.Name, outcome.ToString());
        return new(provider.Name, provider.Model.ToString(), outcome, 0, 0);
    }

    private GenerationResult Result(GenerationRequest request, long started, List<ProviderAttempt> attempts, GenerationError? error)
    {
        var delivered = error is null ? attempts[^1] : null;
        return new GenerationResult(delivered?.Url, error is null, (delivered ?? attempts.LastOrDefault())?.Model, attempts.Sum(a => a.Cost),
            (long)time.GetElapsedTime(started).TotalMilliseconds, request.PromptIndex, attempts.Sum(a => a.Retries), error, attempts,
            delivered?.Adaptations ?? [], delivered?.PredictionId);
    }
}
