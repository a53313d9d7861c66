using Hangfire;
using Microsoft.Extensions.Options;
using PinGlass.Generations.ClientWebhooks;
using PinGlass.Generations.Jobs;
using PinGlass.Generations.Privacy;

namespace PinGlass.Jobs.Maintenance;

/// <summary>
/// Adds or updates the pipeline's recurring jobs once the replica runs (every replica does; Hangfire keeps one of each). Not at
/// start-up: each registration takes a lock in Hangfire's storage, and a lock left by a killed replica holds for minutes. Registered
/// in the background, a replica starts and serves while the registration waits and tries again; the schedules saved by the last run
/// stay in force meanwhile.
/// </summary>
public sealed partial class RecurringJobsRegistration(IRecurringJobManager recurring, IOptions<RecurringJobSettings> options,
    ILogger<RecurringJobsRegistration> logger) : BackgroundService
{
    private static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(5);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        var pending = new Dictionary<string, Action>
        {
            [MaintenanceJobs.ReconcileId] = () => recurring.AddOrUpdate<MaintenanceJobs>(MaintenanceJobs.ReconcileId,
                j => j.ReconcileAsync(CancellationToken.None), settings.Reconcile),
            [MaintenanceJobs.SweepId] = () => recurring.AddOrUpdate<MaintenanceJobs>(MaintenanceJobs.SweepId,
                j => j.SweepAsync(CancellationToken.None), settings.Sweep),
            [MaintenanceJobs.ProbeId] = () => recurring.AddOrUpdate<MaintenanceJobs>(MaintenanceJobs.ProbeId,
                j => j.ProbeProvidersAsync(CancellationToken.None), settings.ProbeProviders),
            [MaintenanceJobs.RollUpCostsId] = () => recurring.AddOrUpdate<MaintenanceJobs>(MaintenanceJobs.RollUpCostsId,
                j => j.RollUpCostsAsync(CancellationToken.None), settings.RollUpCosts),
            [GenerationErasure.RetentionJobId] = () => recurring.AddOrUpdate<GenerationErasure>(GenerationErasure.RetentionJobId,
                j => j.EnforceRetentionAsync(CancellationToken.None), settings.Retention),
            [ClientWebhookJobs.SweepId] = () => recurring.AddOrUpdate<ClientWebhookJobs>(ClientWebhookJobs.SweepId,
                j => j.SweepAsync(CancellationToken.None), settings.ClientWebhooks),
        };
        while (pending.Count > 0)
        {
            foreach (var (id, register) in pending.ToList())
            {
                try
                {
                    // AddOrUpdate blocks (up to 15 s) on its lock; off the host's start-up thread.
                    await Task.Run(register, stoppingToken);
                    pending.Remove(id);
                }
                catch (Exception e) when (!stoppingToken.IsCancellationRequested)
                {
                    LogNotYetRegistered(logger, id, e.Message);
                }
            }

            if (pending.Count > 0)
            {
                await Task.Delay(RetryDelay, stoppingToken);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Recurring job {JobId} not registered yet ({Reason}); trying again")]
    private static partial void LogNotYetRegistered(ILogger logger, string jobId, string reason);
}
