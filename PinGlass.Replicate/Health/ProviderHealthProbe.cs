using Microsoft.Extensions.Logging;
using PinGlass.Replicate.Client;
using PinGlass.Replicate.Errors;
using PinGlass.Replicate.Providers;

namespace PinGlass.Replicate.Health;

/// <param name="Category">Why a failed probe failed; null when it passed.</param>
public sealed record ProviderHealthReport(string Provider, string Model, bool Healthy, long LatencyMs, DateTimeOffset CheckedAt, string? Error,
    ErrorCategory? Category = null);

/// <summary>
/// The recurring health job's probe: a cheap GET on each provider's model (no prediction, nothing billed). The pipeline keeps the
/// reports where every replica reads them.
/// </summary>
public sealed class ProviderHealthProbe(ProviderChain chain, ReplicateClient client, TimeProvider time, ILogger<ProviderHealthProbe> logger)
{
    /// <summary>Probes every provider in use (the multi-reference one only when switched on).</summary>
    public async Task<IReadOnlyList<ProviderHealthReport>> ProbeAllAsync(CancellationToken cancellationToken = default) =>
        await Task.WhenAll(chain.InUse.Select(p => ProbeAsync(p, cancellationToken)));

    public async Task<ProviderHealthReport> ProbeAsync(PortraitProvider provider, CancellationToken cancellationToken = default)
    {
        var started = time.GetTimestamp();
        string? error = null;
        ErrorCategory? category = null;
        try
        {
            await client.GetModelAsync(provider.Model, cancellationToken);
        }
        catch (ReplicateException e) when (e.Category == ErrorCategory.RateLimit)
        {
            // Throttled: the API is up and the model is there; the account is asked to slow down, which the pipeline does anyway.
        }
        catch (ReplicateException e)
        {
            (error, category) = (e.Message, e.Category);
            logger.ProbeFailed(provider.Name, provider.Model.FullName, e.Message);
        }

        return new ProviderHealthReport(provider.Name, provider.Model.FullName, error is null, (long)time.GetElapsedTime(started).TotalMilliseconds,
            time.GetUtcNow(), error, category);
    }
}
