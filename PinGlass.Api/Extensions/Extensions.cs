using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using PinGlass.Api.Clients;
using PinGlass.Api.Outages;
using PinGlass.Api.Quotas;
using PinGlass.Generations.Clients;
using PinGlass.Photos.Faces;
using PinGlass.Platform.Jobs;
using PinGlass.Platform.Storage;

namespace PinGlass.Api.Extensions;

public static class Extensions
{
    /// <summary>
    /// The Api: the stores, Hangfire as a client (it enqueues work, PinGlass.Jobs runs it), the Replicate client (webhook secret),
    /// reference photos, what it needs of generations, client applications' API keys and their requests-per-minute limit. The style catalog is loaded and checked here
    /// at start-up: a broken catalog stops the Api rather than failing generations later.
    /// </summary>
    public static WebApplicationBuilder AddApplicationServices(this WebApplicationBuilder builder)
    {
        builder.AddPinGlassStores();
        builder.AddPinGlassHangfire();
        builder.AddReplicate();
        builder.AddPhotos();
        // A person waits for the Api's photo analyses: the faces service serves them ahead of the Jobs' identity checks.
        builder.Services.PostConfigure<FacesOptions>(faces => faces.Interactive = true);
        builder.AddGenerations();
        builder.Services.AddSingleton<ClientStore>();
        builder.Services.AddAuthentication(ApiKeyAuthenticationHandler.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null);
        // Every endpoint needs a client's key unless it says otherwise (the webhook receiver, health, the API reference): a new
        // endpoint is never open by accident.
        builder.Services.AddAuthorizationBuilder().SetFallbackPolicy(new AuthorizationPolicyBuilder().RequireAuthenticatedUser().Build());
        builder.Services.AddRequestRateLimits();
        builder.Services.AddSingleton<EventStreamLimits>();
        builder.Services.AddOptions<ClientsOptions>().BindConfiguration("Clients").ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddHostedService<DemoClient>();
        builder.Services.AddProblemDetails();
        builder.Services.AddExceptionHandler<StoreOutages>();
        // A request Kestrel refused while it was read (a body over the endpoint's limit, a malformed one) is the caller's error, answered
        // with its status (413, 400) as a problem, not the Api's 500.
        builder.Services.Configure<ExceptionHandlerOptions>(handler => handler.StatusCodeSelector =
            exception => exception is BadHttpRequestException refused ? refused.StatusCode : StatusCodes.Status500InternalServerError);
        builder.Services.AddOpenApi(options => options.AddApiKeyScheme());
        return builder;
    }
}
