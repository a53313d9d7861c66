using System.ComponentModel.DataAnnotations;

namespace PinGlass.Jobs.Maintenance;

public static class RecurringJobsExtensions
{
    /// <summary>The recurring jobs' schedules, validated at start-up, and their registration once the replica runs.</summary>
    public static WebApplicationBuilder AddRecurringJobs(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<RecurringJobSettings>().BindConfiguration("RecurringJobs").ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddHostedService<RecurringJobsRegistration>();
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

    /// <summary>
    /// Probes every provider (a GET of its model, nothing billed). Each minute: a failed probe makes portraits wait for the provider,
    /// so the next probe that passes should come soon.
    /// </summary>
    [Required]
    public string ProbeProviders { get; set; } = "0 * * * * *";

    /// <summary>Rolls the cost ledger up into daily totals (cost_daily).</summary>
    [Required]
    public string RollUpCosts { get; set; } = "*/10 * * * *";

    /// <summary>
    /// Deletes faces and erases generations whose time is up, and the files of generations erased while running once their
    /// predictions are cancelled (so soon after).
    /// </summary>
    [Required]
    public string Retention { get; set; } = "*/30 * * * * *";

    /// <summary>Queues client webhooks whose delivery job was lost.</summary>
    [Required]
    public string ClientWebhooks { get; set; } = "*/30 * * * * *";
}
