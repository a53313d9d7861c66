using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using PinGlass.Domain.Styles;
using PinGlass.Generations;
using PinGlass.Generations.Completion;
using PinGlass.Generations.Costs;
using PinGlass.Generations.Jobs;
using PinGlass.Generations.Persistence;
using PinGlass.Generations.Pipeline;
using PinGlass.Generations.Planning;
using PinGlass.Generations.Progress;
using PinGlass.Generations.Storage;
using PinGlass.Generations.Submission;
using PinGlass.Generations.Webhooks;

namespace Microsoft.Extensions.Hosting;

public static class GenerationsRegistration
{
    /// <summary>
    /// Registers the generation pipeline — planning, the store, the jobs, webhooks and progress — with <see cref="PipelineOptions"/>
    /// validated at start-up. Needs the stores, Hangfire, <c>AddReplicate()</c> and <c>AddPhotos()</c>.
    /// </summary>
    public static TBuilder AddGenerations<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        var services = builder.Services;
        var configuration = builder.Configuration;
        services.AddOptions<PipelineOptions>()
            .Bind(configuration.GetSection(PipelineOptions.Section))
            .Configure(options => options.ApplyEnvironment(configuration))
            .ValidateDataAnnotations()
            .ValidateOnStart();

        services.TryAddSingleton(StyleCatalog.Load());
        services.TryAddSingleton<GenerationMetrics>();
        services.TryAddSingleton<ProgressChannel>();
        services.TryAddSingleton<GenerationStore>();
        services.TryAddSingleton<CostLedger>();
        services.TryAddSingleton<GenerationBlobs>();
        services.TryAddSingleton<CreateRateLimiter>();
        services.TryAddSingleton<ReplicateWebhooks>();
        services.TryAddTransient<GenerationPlanner>();
        services.TryAddTransient<PortraitAttempts>();
        services.TryAddTransient<GenerationRunner>();
        services.TryAddTransient<GenerationJobs>();
        services.TryAddTransient<MaintenanceJobs>();

        // Outputs come from outside: no redirects (a redirect could leave the allow-list), no ServiceDefaults resilience (a retry of a
        // copy is the completion job's retry).
#pragma warning disable EXTEXP0001
        services.AddHttpClient<OutputFetcher>(OutputFetcher.HttpClientName, http => http.Timeout = TimeSpan.FromMinutes(1))
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { AllowAutoRedirect = false })
            .RemoveAllResilienceHandlers();
#pragma warning restore EXTEXP0001
        return builder;
    }
}
