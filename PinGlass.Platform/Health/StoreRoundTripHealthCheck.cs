using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace PinGlass.Platform.Health;

/// <summary>Healthy while this instance's latest store round trip succeeded and is recent.</summary>
public sealed class StoreRoundTripHealthCheck(StoreRoundTripProbe probe, TimeProvider clock, IOptions<StoreProbeSettings> settings) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var result = probe.Last switch
        {
            null => HealthCheckResult.Unhealthy("No store round trip has finished yet."),
            { Failures.Count: > 0 } last => HealthCheckResult.Unhealthy(string.Join("; ", last.Failures)),
            var last when clock.GetUtcNow() - last.At > 3 * settings.Value.Interval =>
                HealthCheckResult.Unhealthy($"The last store round trip was at {last.At:O}; the probe has stalled."),
            var last => HealthCheckResult.Healthy($"postgres, redis and blobs: written and read back at {last.At:O}"),
        };
        return Task.FromResult(result);
    }
}
