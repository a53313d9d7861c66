using System.ComponentModel.DataAnnotations;
using Hangfire;
using Microsoft.Extensions.Options;
using PinGlass.Generations.Jobs;

namespace PinGlass.Jobs.Maintenance;

public static class RecurringJobsExtensions
{
    /// <summary>Schedules the pipeline's recurring jobs (added or updated by every replica; Hangfire keeps one of each).</summary>
    public static WebApplication MapRecurringJobs(this WebApplication app)
    {
        var settings = app.Services.GetRequiredService<IOptions<RecurringJobSettings>>().Value;
        var recurring = app.Services.GetRequiredService<IRecurringJobManager>();
        recurring.AddOrUpdate<MaintenanceJobs>(MaintenanceJobs.ReconcileId, j => j.ReconcileAsync(CancellationToken.None), settings.Reconcile);
        recurring.AddOrUpdate<MaintenanceJobs>(MaintenanceJobs.SweepId, j => j.SweepAsync(CancellationToken.None), settings.Sweep);
        recurring.AddOrUpdate<MaintenanceJobs>(MaintenanceJobs.ProbeId, j => j.ProbeProvidersAsync(CancellationToken.None), settings.ProbeProviders);
        recurring.AddOrUpdate<MaintenanceJobs>(MaintenanceJobs.RollUpCostsId, j => j.RollUpCostsAsync(CancellationToken.None), settings.RollUpCosts);
        return app;
    }

    public static WebApplicationBuilder AddRecurringJobSettings(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<RecurringJobSettings>().BindConfiguration("RecurringJobs").ValidateDataAnnotations().ValidateOnStart();
        return builder;
    }
}

/// <summary>Cron schedules (UTC; six fields include seconds), section <c>RecurringJobs</c>.</summary>
public sealed class RecurringJobSettings
{
    /// <summary>Asks Replicate about predictions whose webhook is overdue.</summary>
    [Required]
    public string Reconcile { get; set; } = "*/30 * * * * *";

    /// <summary>Finalizes generations past their deadline or finished but not finalized.</summary>
    [Required]
    public string Sweep { get; set; } = "*/30 * * * * *";

    [Required]
    public string ProbeProviders { get; set; } = "*/5 * * * *";

    /// <summary>Rolls the cost ledger up into daily totals (cost_daily).</summary>
    [Required]
    public string RollUpCosts { get; set; } = "*/10 * * * *";
}
