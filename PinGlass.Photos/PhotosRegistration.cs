using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Options;
using PinGlass.Photos;
using PinGlass.Photos.Faces;
using PinGlass.Photos.Identity;
using PinGlass.Photos.Intake;
using PinGlass.Photos.Selection;

namespace Microsoft.Extensions.Hosting;

public static class PhotosRegistration
{
    /// <summary>
    /// Registers reference-photo intake, the faces client, scoring and selection, the provider crop and the identity gate, with
    /// their options (sections under <c>Photos</c>) validated at start-up. Call after <c>AddServiceDefaults()</c>, whose service
    /// discovery resolves the default <c>http://faces</c>.
    /// </summary>
    public static TBuilder AddPhotos<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        var services = builder.Services;
        services.AddOptions<IntakeOptions>().BindConfiguration(IntakeOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<FacesOptions>().BindConfiguration(FacesOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<SelectionOptions>().BindConfiguration(SelectionOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<AnalysisQueueOptions>().BindConfiguration(AnalysisQueueOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<IdentityOptions>().BindConfiguration(IdentityOptions.Section).ValidateDataAnnotations().ValidateOnStart();

        services.AddMetrics();
        services.TryAddSingleton<PhotoMetrics>();
        services.TryAddSingleton<PhotoIntake>();
        services.TryAddSingleton<ReferenceSelector>();
        services.TryAddSingleton<ProviderCrop>();
        services.TryAddSingleton<AnalysisQueue>();
        // Transient: they hold the typed client, whose handlers the factory rotates.
        services.TryAddTransient<ReferencePhotos>();
        services.TryAddTransient<IdentityGate>();

        // One resilience handler, timed by Photos:Faces:Timeout: ServiceDefaults' standard handler (10 s an attempt) would cut off an
        // analysis queued behind an upload's other photos, then send it again and queue it once more. RemoveAllResilienceHandlers
        // is experimental; without it the two handlers would stack.
#pragma warning disable EXTEXP0001
        services.AddHttpClient<FacesClient>(FacesClient.HttpClientName, (provider, http) =>
            {
                var baseUrl = provider.GetRequiredService<IOptions<FacesOptions>>().Value.BaseAddress.AbsoluteUri;
                http.BaseAddress = new Uri(baseUrl.EndsWith('/') ? baseUrl : baseUrl + "/");
            })
            .RemoveAllResilienceHandlers()
            .AddStandardResilienceHandler()
            .Configure((resilience, provider) =>
            {
                var timeout = provider.GetRequiredService<IOptions<FacesOptions>>().Value.Timeout;
                resilience.AttemptTimeout.Timeout = timeout;
                resilience.TotalRequestTimeout.Timeout = 3 * timeout;
                resilience.CircuitBreaker.SamplingDuration = 2 * timeout;
            });
#pragma warning restore EXTEXP0001
        return builder;
    }
}
