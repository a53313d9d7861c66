using PinGlass.Platform.Jobs;
using PinGlass.Platform.Storage;
using PinGlass.Jobs.Dashboard;
using PinGlass.Jobs.Maintenance;
using PinGlass.Jobs.Workers;

namespace PinGlass.Jobs.Extensions;

public static class Extensions
{
    /// <summary>The Jobs service: the stores, Hangfire's servers, the generation pipeline and its recurring jobs, the dashboard's access.</summary>
    public static WebApplicationBuilder AddApplicationServices(this WebApplicationBuilder builder)
    {
        builder.AddPinGlassStores();
        builder.AddPinGlassHangfire();
        builder.AddReplicate();
        builder.AddPhotos();
        builder.AddGenerationWorkers();
        builder.AddHangfireWorkers();
        builder.AddRecurringJobs();
        builder.AddOperatorDashboardAccess();
        return builder;
    }
}
