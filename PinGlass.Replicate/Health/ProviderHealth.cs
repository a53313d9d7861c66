using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PinGlass.Replicate.Client;
using PinGlass.Replicate.Errors;
using PinGlass.Replicate.Providers;

namespace PinGlass.Replicate.Health;

/// <summary>The last probe result of each provider; a provider never probed counts as healthy.</summary>
public sealed class ProviderHealth
{
    private readonly ConcurrentDictionary<string, ProviderHealthReport> latest = new(StringComparer.OrdinalIgnoreCase);

    public bool IsHealthy(string provider) => !latest.TryGetValue(provider, out var report) || report.Healthy;

    internal void Record(ProviderHealthReport report) => latest[report.Provider] = report;
}

public sealed record ProviderHealthReport(string Provider, string Model, bool Healthy, long LatencyMs, DateTimeOffset CheckedAt, string? Error);

/// <summary>
/// The recurring health job's probe: a cheap GET on each provider's model (no prediction, nothing billed). A failing provider is
/// skipped by the fallback chain until a later probe succeeds.
/// </summary>
public sealed class ProviderHealthProbe(IEnumerable<PortraitProvider> providers, ReplicateClient client, ProviderHealth health,
    IOptions<ReplicateOptions> options, TimeProvider time, ILogger<ProviderHealthProbe> logger)
{
    /// <summary>Probes every provider in use (the multi-reference one only when switched on).</summary>
    public async Task<IReadOnlyList<ProviderHealthReport>> ProbeAllAsync(CancellationToken cancellationToken = default)
    {
        var inUse = providers.Where(p => options.Value.EnableMultiReference || p.Name != ProviderNames.FluxMultiPulid);
        return await Task.WhenAll(inUse.Select(p => ProbeAsync(p, cancellationToken)));
    }

    public async Task<ProviderHealthReport> ProbeAsync(PortraitProvider provider, CancellationToken cancellationToken = default)
    {
        var started = time.GetTimestamp();
        string? error = null;
        try
        {
            await client.GetModelAsync(provider.Model, cancellationToken);
        }
        catch (ReplicateException e)
        {
            error = e.Message;
            logger.ProbeFailed(provider.Name, provider.Model.FullName, e.Message);
        }

        var report = new ProviderHealthReport(provider.Name, provider.Model.FullName, error is null, (long)time.GetElapsedTime(started).TotalMilliseconds,
            time.GetUtcNow(), error);
        health.Record(report);
        return report;
    }
}
