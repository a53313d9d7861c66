using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using PinGlass.Generations.Styles;
using PinGlass.Generations;
using PinGlass.Generations.ClientWebhooks;
using PinGlass.Generations.Completion;
using PinGlass.Generations.Costs;
using PinGlass.Generations.Experiments;
using PinGlass.Generations.Jobs;
using PinGlass.Generations.Persistence;
using PinGlass.Generations.Pipeline;
using PinGlass.Generations.Planning;
using PinGlass.Generations.Portraits;
using PinGlass.Generations.Preferences;
using PinGlass.Generations.Privacy;
using PinGlass.Generations.Progress;
using PinGlass.Generations.Providers;
using PinGlass.Generations.Quotas;
using PinGlass.Generations.Storage;
using PinGlass.Generations.Submission;
using PinGlass.Generations.Webhooks;

namespace Microsoft.Extensions.Hosting;

public static class GenerationsRegistration
{
    /// <summary>
    /// What the Api needs of generations — planning, the stores, quotas, erasure, progress, webhooks and costs — with
    /// <see cref="PipelineOptions"/>, <see cref="QuotaOptions"/> and <see cref="RetentionOptions"/> validated at start-up. Needs the
    /// stores, Hangfire, <c>AddReplicate()</c> and <c>AddPhotos()</c>. It enqueues work, never runs it.
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

        services.AddOptions<QuotaOptions>().BindConfiguration(QuotaOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<RetentionOptions>().BindConfiguration(RetentionOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<ClientWebhookOptions>().BindConfiguration(ClientWebhookOptions.Section).ValidateDataAnnotations().ValidateOnStart()
            .PostConfigure<IHostEnvironment>((options, environment) => options.AllowPrivateTargets ??= environment.IsDevelopment());

        services.TryAddSingleton(StyleCatalog.Load());
        services.TryAddSingleton<GenerationMetrics>();
        services.TryAddSingleton<ProgressChannel>();
        services.TryAddSingleton<GenerationVersions>();
        services.TryAddSingleton<ProgressLog>();
        services.TryAddSingleton<GenerationStore>();
        services.TryAddSingleton<PortraitStore>();
        services.TryAddSingleton<PredictionLedger>();
        services.TryAddSingleton<CostLedger>();
        services.TryAddSingleton<GenerationBlobs>();
        services.TryAddSingleton<PortraitArchive>();
        services.TryAddSingleton<QuotaGuard>();
        services.TryAddSingleton<PrivacyStore>();
        services.TryAddSingleton<GenerationErasure>();
        services.TryAddSingleton<WebhookSecret>();
        services.TryAddSingleton<ClientWebhookStore>();
        services.TryAddSingleton<ClientWebhookOutbox>();
        services.TryAddSingleton<FeedbackStore>();
        services.TryAddSingleton<ExperimentStore>();
        services.TryAddSingleton<PreferencesService>();
        // Transient: they hold the typed Replicate client, whose handlers the factory rotates.
        services.TryAddTransient<ReplicateWebhooks>();
        services.TryAddTransient<GenerationPlanner>();
        return builder;
    }

    /// <summary>
    /// Everything <see cref="AddGenerations{TBuilder}"/> registers, and the pipeline that runs generations: the portrait driver and its
    /// executors, shared provider availability and create-rate limit, and the Hangfire jobs. For PinGlass.Jobs.
    /// </summary>
    public static TBuilder AddGenerationWorkers<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        builder.AddGenerations();
        var services = builder.Services;
        services.TryAddSingleton<CreateRateLimiter>();
        services.TryAddSingleton<ProviderAvailability>();
        services.TryAddSingleton<PortraitRequests>();
        services.TryAddTransient<PredictionSender>();
        services.TryAddTransient<PredictionSettler>();
        services.TryAddTransient<PortraitDriver>();
        services.TryAddTransient<ComputeGuard>();
        services.TryAddTransient<GenerationRunner>();
        services.TryAddTransient<GenerationJobs>();
        services.TryAddTransient<MaintenanceJobs>();
        services.TryAddTransient<ClientWebhookJobs>();

        services.AddOutputFetcher();
        services.AddClientWebhookSender();
        return builder;
    }

    /// <summary>
    /// The client webhook sender: it connects only where <see cref="CallbackTargets"/> allows (checked on the address it connects to),
    /// through no proxy, follows no redirect (a redirect could lead inside) and is not retried here (its retries are the jobs'). Its
    /// HttpClient is its own, not the factory's: the defaults every factory client gets include service discovery, which would send a
    /// callback to <c>https://api/…</c> to PinGlass's own Api.
    /// </summary>
    public static IServiceCollection AddClientWebhookSender(this IServiceCollection services)
    {
        services.TryAddSingleton(provider =>
        {
            var options = provider.GetRequiredService<IOptions<ClientWebhookOptions>>().Value;
            var handler = new SocketsHttpHandler
            {
                AllowAutoRedirect = false,
                UseProxy = false,
                ConnectCallback = CallbackTargets.Connect(options.AllowPrivateTargets is true),
                // Names are resolved again for new connections, so a pooled one does not outlive a DNS change by long.
                PooledConnectionLifetime = TimeSpan.FromMinutes(2),
            };
            return new ClientWebhookSender(new HttpClient(handler) { Timeout = options.Timeout }, provider.GetRequiredService<TimeProvider>());
        });
        return services;
    }

    /// <summary>The copier of Replicate's outputs; it reads <see cref="PipelineOptions"/>' allow-list and size cap.</summary>
    public static IServiceCollection AddOutputFetcher(this IServiceCollection services)
    {
        // Outputs come from outside: no redirects (a redirect could leave the allow-list), no ServiceDefaults resilience (a retry of a
        // copy is the completion job's retry).
#pragma warning disable EXTEXP0001
        services.AddHttpClient<OutputFetcher>(OutputFetcher.HttpClientName, http => http.Timeout = TimeSpan.FromMinutes(1))
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { AllowAutoRedirect = false })
            .RemoveAllResilienceHandlers();
#pragma warning restore EXTEXP0001
        return services;
    }
}
