using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace Microsoft.Extensions.Hosting;

// Adds common Aspire services: service discovery, resilience, health checks, and OpenTelemetry.
// This project should be referenced by each service project in the solution.
public static class Extensions
{
    private const string HealthEndpointPath = "/health";
    private const string AlivenessEndpointPath = "/alive";
    private const string ScrapeEndpointPath = "/metrics";

    /// <summary>
    /// Whether the service also serves its metrics at /metrics in the Prometheus text format, for a collector that scrapes (and for
    /// tests that read one replica's figures). Off by default: the figures include what generations cost.
    /// </summary>
    private const string ScrapeEndpointSetting = "Telemetry:ScrapeEndpoint";

    public static TBuilder AddServiceDefaults<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        builder.ConfigureOpenTelemetry();

        builder.AddDefaultHealthChecks();

        builder.Services.AddServiceDiscovery();

        builder.Services.ConfigureHttpClientDefaults(http =>
        {
            // Turn on resilience by default
            http.AddStandardResilienceHandler();

            // Turn on service discovery by default
            http.AddServiceDiscovery();
        });

        return builder;
    }

    public static TBuilder ConfigureOpenTelemetry<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        builder.Logging.AddOpenTelemetry(logging =>
        {
            logging.IncludeFormattedMessage = true;
            logging.IncludeScopes = true;
        });

        builder.Services.AddOpenTelemetry()
            .WithMetrics(metrics =>
            {
                metrics.AddAspNetCoreInstrumentation()
                    .AddHttpClientInstrumentation()
                    .AddRuntimeInstrumentation()
                    .AddMeter(PinGlass.ServiceDefaults.PinGlassTelemetry.Name)
                    // Resilience events (retries, circuit breakers, timeouts) from Microsoft.Extensions.Http.Resilience.
                    .AddMeter("Polly");
                if (builder.Configuration.GetValue<bool>(ScrapeEndpointSetting))
                {
                    metrics.AddPrometheusExporter();
                }
            })
            .WithTracing(tracing =>
            {
                tracing.SetSampler(new ParentBasedSampler(new PinGlass.ServiceDefaults.BackgroundRootsSampler()))
                    .AddSource(builder.Environment.ApplicationName)
                    .AddSource(PinGlass.ServiceDefaults.PinGlassTelemetry.Name)
                    .AddAspNetCoreInstrumentation(aspnet =>
                        // Exclude health check and scrape requests from tracing
                        aspnet.Filter = context =>
                            !context.Request.Path.StartsWithSegments(HealthEndpointPath)
                            && !context.Request.Path.StartsWithSegments(AlivenessEndpointPath)
                            && !context.Request.Path.StartsWithSegments(ScrapeEndpointPath)
                    )
                    .AddHttpClientInstrumentation();
            });

        builder.AddOpenTelemetryExporters();

        return builder;
    }

    private static TBuilder AddOpenTelemetryExporters<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        var useOtlpExporter = !string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]);

        if (useOtlpExporter)
        {
            builder.Services.AddOpenTelemetry().UseOtlpExporter();
        }

        return builder;
    }

    public static TBuilder AddDefaultHealthChecks<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        builder.Services.AddHealthChecks()
            // Add a default liveness check to ensure app is responsive
            .AddCheck("self", () => HealthCheckResult.Healthy(), ["live"]);

        return builder;
    }

    /// <param name="isOperator">
    /// Whether a request comes from an operator, who is shown each check and its description; everyone else gets the overall status
    /// alone (the status code is what orchestrators and load balancers read). Null: nobody is shown the checks.
    /// </param>
    public static WebApplication MapDefaultEndpoints(this WebApplication app, Func<HttpContext, bool>? isOperator = null)
    {
        // Health endpoints are mapped in every environment: the orchestrator, load balancers and the tests poll them.
        // Open where a service requires authentication by default (the Api's API keys): the orchestrator holds no key. Which stores
        // a service uses and which of them fail is for operators only.

        // All health checks must pass for app to be considered ready to accept traffic after starting
        app.MapHealthChecks(HealthEndpointPath, new HealthCheckOptions
        {
            ResponseWriter = (context, report) => HealthReportWriter.WriteAsync(context, report, isOperator?.Invoke(context) ?? false),
        }).AllowAnonymous();

        // Only health checks tagged with the "live" tag must pass for app to be considered alive
        app.MapHealthChecks(AlivenessEndpointPath, new HealthCheckOptions
        {
            Predicate = r => r.Tags.Contains("live")
        }).AllowAnonymous();

        if (app.Configuration.GetValue<bool>(ScrapeEndpointSetting))
        {
            app.MapPrometheusScrapingEndpoint(ScrapeEndpointPath).AllowAnonymous();
        }

        return app;
    }
}
