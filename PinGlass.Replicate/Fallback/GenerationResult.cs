using PinGlass.Replicate.Errors;

namespace PinGlass.Replicate.Fallback;

public enum AttemptOutcome
{
    Succeeded,
    Failed,

    /// <summary>Not tried: the model's circuit was open.</summary>
    SkippedCircuitOpen,

    /// <summary>Not tried: the provider's last health probe failed.</summary>
    SkippedUnhealthy,
}

public sealed record GenerationError(ErrorCategory Category, string Message);

/// <summary>One provider's part in a generation.</summary>
/// <param name="Retries">Requests sent again within the attempt (429s, 5xx, timeouts).</param>
/// <param name="Cost">What the attempt's prediction bills, in USD (failed predictions bill their running time too).</param>
public sealed record ProviderAttempt(
    string Provider,
    string Model,
    AttemptOutcome Outcome,
    long LatencyMs,
    int Retries,
    string? PredictionId = null,
    string? Url = null,
    decimal Cost = 0,
    GenerationError? Error = null,
    IReadOnlyList<string>? Adaptations = null)
{
    public ErrorCategory? Category => Error?.Category;
}

/// <summary>The outcome of one portrait, with every attempt that led to it.</summary>
/// <param name="Model">The model that delivered the portrait, or the last one tried.</param>
/// <param name="Cost">Sum of all attempts' costs.</param>
/// <param name="RetryCount">Sum of all attempts' retries.</param>
/// <param name="Adaptations">How the delivering provider adapted the options.</param>
public sealed record GenerationResult(
    string? Url,
    bool Success,
    string? Model,
    decimal Cost,
    long LatencyMs,
    int PromptIndex,
    int RetryCount,
    GenerationError? Error,
    IReadOnlyList<ProviderAttempt> Attempts,
    IReadOnlyList<string> Adaptations,
    string? PredictionId);
