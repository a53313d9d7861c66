using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;
using PinGlass.ReplicateEmulator.Apis;
using PinGlass.ReplicateEmulator.Billing;
using PinGlass.ReplicateEmulator.Faults;
using PinGlass.ReplicateEmulator.Files;
using PinGlass.ReplicateEmulator.Http;
using PinGlass.ReplicateEmulator.Images;
using PinGlass.ReplicateEmulator.Latency;
using PinGlass.ReplicateEmulator.Models;
using PinGlass.ReplicateEmulator.Predictions;
using PinGlass.ReplicateEmulator.Telemetry;
using PinGlass.ReplicateEmulator.Webhooks;

namespace PinGlass.ReplicateEmulator;

/// <summary>Builds the emulator; Program.cs, the tests and the benchmark all start it this way.</summary>
public static class EmulatorApp
{
    /// <param name="configure">Lets a host (tests, the benchmark) set configuration and URLs before the services are built.</param>
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(args);
        configure?.Invoke(builder);
        builder.AddServiceDefaults();
        builder.AddReplicateEmulator();

        var app = builder.Build();
        app.MapDefaultEndpoints();
        app.MapReplicateEmulator();
        return app;
    }

    /// <summary>
    /// Starts an emulator on a free loopback port with these settings, for tests and the benchmark that host it in-process.
    /// </summary>
    public static async Task<(WebApplication App, Uri BaseAddress)> StartOnLoopbackAsync(
        IEnumerable<KeyValuePair<string, string?>> settings, CancellationToken cancellationToken = default)
    {
        var app = Build([], builder =>
        {
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            builder.Configuration.AddInMemoryCollection(settings);
            builder.Logging.ClearProviders();
        });
        await app.StartAsync(cancellationToken);
        return (app, new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First()));
    }

    public static WebApplicationBuilder AddReplicateEmulator(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<EmulatorOptions>().BindConfiguration(EmulatorOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddProblemDetails();
        services.ConfigureHttpJsonOptions(json => ReplicateJson.Configure(json.SerializerOptions));
        services.AddSingleton(TimeProvider.System);

        // Webhooks are never retried or redirected by the HTTP stack: the dispatcher owns Replicate's retry policy,
        // and Replicate does not follow redirects. (RemoveAllResilienceHandlers undoes the ServiceDefaults handler; it is
        // marked experimental.)
#pragma warning disable EXTEXP0001
        services.AddHttpClient(WebhookDispatcher.HttpClientName, http => http.Timeout = TimeSpan.FromSeconds(30))
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { AllowAutoRedirect = false })
            .RemoveAllResilienceHandlers();
        services.AddHttpClient(InputImageLoader.HttpClientName).RemoveAllResilienceHandlers();
#pragma warning restore EXTEXP0001

        services.AddSingleton<Clock>();
        services.AddSingleton<EmulatorMetrics>();
        services.AddSingleton<ModelCatalog>();
        services.AddSingleton<LatencyModel>();
        services.AddSingleton<Ledger>();
        services.AddSingleton<FaultInjector>();
        services.AddSingleton<RateLimits>();
        services.AddSingleton<BaseUrl>();
        services.AddSingleton<ApiGate>();
        services.AddSingleton<PredictionStore>();
        services.AddSingleton<PredictionRunner>();
        services.AddSingleton<PredictionServices>();
        services.AddSingleton<FileStore>();
        services.AddSingleton<DeliveryStore>();
        services.AddSingleton<InputImageLoader>();
        services.AddSingleton<ImageRenderer>();
        services.AddSingleton<WebhookSigner>();
        services.AddSingleton<WebhookDispatcher>();
        return builder;
    }

    public static WebApplication MapReplicateEmulator(this WebApplication app)
    {
        var v1 = app.MapGroup("/v1").AddEndpointFilter<ApiGate>();
        v1.MapPredictionsApi();
        v1.MapModelsApi();
        v1.MapFilesApi(app.Services.GetRequiredService<IOptions<EmulatorOptions>>().Value.MaxFileBytes);
        v1.MapWebhooksApi();
        v1.MapFallback(ReplicateErrors.NotFound);
        app.MapPredictionWebPage();
        app.MapDelivery();
        app.MapEmulatorApi();
        return app;
    }
}
