using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using PinGlass.Platform;
using PinGlass.Generations;
using PinGlass.Generations.Providers;
using PinGlass.Replicate.Errors;
using PinGlass.Replicate.Health;
using PinGlass.Replicate.Providers;
using StackExchange.Redis;

namespace PinGlass.AppHost.Tests;

/// <summary>
/// Two Jobs replicas (each its own process's breakers, one Redis): what one replica learns of a provider — a circuit its breaker
/// opened, a probe that failed — the other acts on at once.
/// </summary>
public sealed class ProviderAvailabilityTests(PinGlassApp pinglass)
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    /// <summary>A replica's services, on a Redis database of its own so the running AppHost's replicas are not told anything.</summary>
    private async Task<IHost> ReplicaAsync(string model)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Replicate:ApiToken"] = "r8_not_used",
            ["Replicate:BaseUrl"] = "http://127.0.0.1:9/",
            ["Replicate:Models:flux-pulid:Model"] = model,
            ["Replicate:CircuitBreaker:MinimumThroughput"] = "2",
            ["Replicate:CircuitBreaker:BreakDuration"] = "00:01:00",
        });
        builder.AddServiceDefaults();
        builder.AddReplicate();
        var redis = await ConnectionMultiplexer.ConnectAsync($"{await pinglass.App.GetConnectionStringAsync(ResourceNames.Cache, Token)},defaultDatabase=9");
        builder.Services.AddSingleton<IConnectionMultiplexer>(redis);
        builder.Services.AddOptions<PipelineOptions>();
        builder.Services.AddSingleton<ProviderAvailability>();
        return builder.Build();
    }

    private static async Task<Dictionary<string, bool>> AvailableAsync(IHost replica) =>
        (await replica.Services.GetRequiredService<ProviderAvailability>().ChainAsync(1, null, null, Token)).ToDictionary(p => p.Name, p => p.Available);

    [Fact]
    public async Task A_circuit_one_replica_opens_and_a_probe_one_replica_failed_hold_for_both()
    {
        var model = $"pinglass-tests/flux-pulid-{Guid.NewGuid():N}";
        using var first = await ReplicaAsync(model);
        using var second = await ReplicaAsync(model);
        var availability = first.Services.GetRequiredService<ProviderAvailability>();
        var pulid = first.Services.GetRequiredService<ProviderChain>()[ProviderNames.FluxPulid];
        Assert.All((await AvailableAsync(second)).Values, Assert.True);

        await availability.RecordOutcomeAsync(pulid, ErrorCategory.Timeout);
        await availability.RecordOutcomeAsync(pulid, ErrorCategory.ModelError);

        Assert.False((await AvailableAsync(second))[ProviderNames.FluxPulid]);
        Assert.True((await AvailableAsync(second))[ProviderNames.FluxKontextPro]);

        var down = new ProviderHealthReport(ProviderNames.InstantId, "grandlineai/instant-id-photorealistic", false, 5, DateTimeOffset.UtcNow, "503",
            ErrorCategory.ModelOverloaded);
        await availability.RecordProbeAsync(down);
        Assert.False((await AvailableAsync(second))[ProviderNames.InstantId]);

        // A probe refused for good (a gone model, the account) is not waited for: the creates meet that error and end or fall back.
        await availability.RecordProbeAsync(down with { Error = "404", Category = ErrorCategory.NotFound });
        Assert.True((await AvailableAsync(second))[ProviderNames.InstantId]);
        await availability.RecordProbeAsync(down);

        await availability.RecordProbeAsync(down with { Healthy = true, Error = null });
        Assert.True((await AvailableAsync(second))[ProviderNames.InstantId]);
    }
}
