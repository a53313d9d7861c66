using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
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
        services.AddOptions<IdentityOptions>().BindConfiguration(IdentityOptions.Section).ValidateDataAnnotations().ValidateOnStart();

        services.AddMetrics();
        services.TryAddSingleton<PhotoMetrics>();
        services.TryAddSingleton<PhotoIntake>();
        services.TryAddSingleton<ReferenceSelector>();
        services.TryAddSingleton<ProviderCrop>();
        // Transient: they hold the typed client, whose handlers the factory rotates.
        services.TryAddTransient<ReferencePhotos>();
        services.TryAddTransient<IdentityGate>();

        services.AddHttpClient<FacesClient>(FacesClient.HttpClientName, (provider, http) =>
        {
            var options = provider.GetRequiredService<IOptions<FacesOptions>>().Value;
            var baseUrl = options.BaseAddress.AbsoluteUri;
            http.BaseAddress = new Uri(baseUrl.EndsWith('/') ? baseUrl : baseUrl + "/");
            http.Timeout = options.Timeout;
        });
        return builder;
    }
}
