using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using PinGlass.Replicate.Client;
using PinGlass.Replicate.Health;
using PinGlass.Replicate.Providers;
using PinGlass.Replicate.Resilience;

namespace Microsoft.Extensions.Hosting;

public static class ReplicateRegistration
{
    /// <summary>
    /// Registers the Replicate client, the providers and their chain, the circuit breakers and the health probe, with <see cref="PinGlass.Replicate.ReplicateOptions"/>
    /// validated at start-up. Call after <c>AddServiceDefaults()</c>, whose service discovery resolves the default base URL.
    /// </summary>
    public static TBuilder AddReplicate<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        var services = builder.Services;
        var configuration = builder.Configuration;
        services.AddOptions<PinGlass.Replicate.ReplicateOptions>()
            .Bind(configuration.GetSection(PinGlass.Replicate.ReplicateOptions.Section))
            .Configure(options => options.ApplyEnvironment(configuration))
            .ValidateDataAnnotations()
            .ValidateOnStart();

        services.TryAddSingleton(TimeProvider.System);
        services.AddMetrics();
        services.TryAddSingleton<PinGlass.Replicate.ReplicateMetrics>();
        services.TryAddSingleton<ModelCircuitBreakers>();
        services.AddSingleton<PortraitProvider, FluxPulidProvider>();
        services.AddSingleton<PortraitProvider, FluxKontextProProvider>();
        services.AddSingleton<PortraitProvider, InstantIdProvider>();
        services.AddSingleton<PortraitProvider, FluxMultiPulidProvider>();
        services.TryAddSingleton<ProviderChain>();

        // Transient: they hold the typed client, whose handlers the factory rotates.
        services.TryAddTransient<SafeCreate>();
        services.TryAddTransient<ProviderHealthProbe>();

        services.AddHttpClient<ReplicateClient>(ReplicateClient.HttpClientName, (provider, http) =>
            {
                var baseUrl = provider.GetRequiredService<IOptions<PinGlass.Replicate.ReplicateOptions>>().Value.BaseUrl.AbsoluteUri;
                http.BaseAddress = new Uri(baseUrl.EndsWith('/') ? baseUrl : baseUrl + "/");
                // The resilience handler's per-attempt timeouts govern; HttpClient's own 100 s would cut a long Prefer: wait short.
                http.Timeout = Timeout.InfiniteTimeSpan;
            })
            .AddReplicateResilience();
        return builder;
    }
}
