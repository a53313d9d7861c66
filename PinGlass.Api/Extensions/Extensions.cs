using PinGlass.Photos.Faces;
using PinGlass.Platform.Jobs;
using PinGlass.Platform.Storage;

namespace PinGlass.Api.Extensions;

public static class Extensions
{
    /// <summary>
    /// The Api: the stores, Hangfire as a client (it enqueues work, PinGlass.Jobs runs it), the Replicate client (webhook secret),
    /// reference photos, and what it needs of generations. The style catalog is loaded and checked here at start-up: a broken
    /// catalog stops the Api rather than failing generations later.
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
        builder.Services.AddProblemDetails();
        builder.Services.AddOpenApi();
        return builder;
    }
}
