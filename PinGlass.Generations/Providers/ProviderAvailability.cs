using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PinGlass.Generations.Portraits;
using PinGlass.Replicate;
using PinGlass.Replicate.Errors;
using PinGlass.Replicate.Health;
using PinGlass.Replicate.Providers;
using PinGlass.Replicate.Resilience;
using StackExchange.Redis;

namespace PinGlass.Generations.Providers;

/// <summary>
/// Whether each provider may be used now, the same on every Jobs replica: a circuit opened by any replica's breaker, and a failed
/// health probe (run on one replica), are kept in Redis until they expire or a probe passes. Each replica's own breakers count too,
/// so a replica that cannot reach Redis still skips what it has seen fail.
/// </summary>
public sealed partial class ProviderAvailability(IConnectionMultiplexer redis, ModelCircuitBreakers breakers, ProviderChain chain,
    IOptions<ReplicateOptions> replicateOptions, IOptions<PipelineOptions> options, ILogger<ProviderAvailability> logger)
{
    /// <summary>How long a failed probe counts when no later probe clears it: three of the one-minute probe intervals.</summary>
    public static readonly TimeSpan ProbeValidity = TimeSpan.FromMinutes(3);

    private static RedisKey CircuitKey(string model) => $"pinglass:providers:circuit:{model}";

    private static RedisKey DownKey(string provider) => $"pinglass:providers:down:{provider}";

    /// <summary>
    /// The portrait's chain for <paramref name="faces"/> reference faces (its generation's experiment arm may name the
    /// <paramref name="primary"/> provider and <paramref name="multiReference"/>; null for the configured ones), each provider with
    /// its worst case and availability.
    /// </summary>
    public async Task<IReadOnlyList<ProviderOption>> ChainAsync(int faces, string? primary, bool? multiReference, CancellationToken cancellationToken)
    {
        var providers = chain.For(faces, primary, multiReference);
        var shared = await SharedUnavailableAsync(providers);
        return [.. providers.Select(p => new ProviderOption(p.Name, WorstCase(p),
            !shared.Contains(p.Name) && !breakers.IsOpen(p.Model.FullName)))];
    }

    /// <summary>A prediction's worst-case cost, reserved on the budget before it is created.</summary>
    public decimal WorstCase(PortraitProvider provider) => provider.WorstCaseCost(options.Value.MaxPredictTimeOf(provider.Name));

    /// <summary>Counts a prediction's outcome for its model's circuit; when that opens it, every replica skips the model for the break.</summary>
    public async Task RecordOutcomeAsync(PortraitProvider provider, ErrorCategory? category)
    {
        var model = provider.Model.FullName;
        await breakers.RecordAsync(model, category);
        if (breakers.IsOpen(model))
        {
            // Set again on every opening (a failed half-open trial too), so the other replicas keep skipping it for the new break.
            await TryAsync(db => db.StringSetAsync(CircuitKey(model), provider.Name, replicateOptions.Value.CircuitBreaker.BreakDuration));
        }
    }

    /// <summary>
    /// Keeps a probe's verdict for every replica: a probe that failed for a passing reason (5xx, timeout, broken connection) makes the
    /// provider wait until a later one passes (or it expires). One refused for the account or a gone model does not: portraits then
    /// meet that error on their own creates and end at once (or fall back) rather than wait for their deadline.
    /// </summary>
    public Task RecordProbeAsync(ProviderHealthReport report) =>
        TryAsync(db => !report.Healthy && report.Category is { } category && ErrorPolicy.IsRetryable(category)
            ? db.StringSetAsync(DownKey(report.Provider), report.Error ?? "probe failed", ProbeValidity)
            : db.KeyDeleteAsync(DownKey(report.Provider)));

    private async Task<HashSet<string>> SharedUnavailableAsync(IReadOnlyList<PortraitProvider> providers)
    {
        var unavailable = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        RedisKey[] keys = [.. providers.Select(p => CircuitKey(p.Model.FullName)), .. providers.Select(p => DownKey(p.Name))];
        await TryAsync(async db =>
        {
            var values = await db.StringGetAsync(keys);
            for (var i = 0; i < providers.Count; i++)
            {
                if (values[i].HasValue || values[providers.Count + i].HasValue)
                {
                    unavailable.Add(providers[i].Name);
                }
            }
        });
        return unavailable;
    }

    private async Task TryAsync(Func<IDatabase, Task> action)
    {
        try
        {
            await action(redis.GetDatabase());
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            LogRedisUnavailable(logger, e.Message);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Provider availability is not shared right now (Redis: {Reason}); this replica's own breakers decide")]
    private static partial void LogRedisUnavailable(ILogger logger, string reason);
}
