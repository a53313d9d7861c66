using Hangfire;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PinGlass.Platform.Jobs;
using PinGlass.Generations.Costs;
using PinGlass.Generations.Persistence;
using PinGlass.Generations.Pipeline;
using PinGlass.Generations.Providers;
using PinGlass.Replicate.Health;

namespace PinGlass.Generations.Jobs;

/// <summary>The recurring jobs that keep the pipeline honest whatever happened to webhooks, workers and batch jobs.</summary>
[AutomaticRetry(Attempts = 0)]
[DisableConcurrentExecution(60)]
public sealed partial class MaintenanceJobs(GenerationStore store, PortraitStore portraits, PredictionLedger ledger, GenerationRunner runner,
    ProviderHealthProbe probe, ProviderAvailability availability, CostLedger costs, GenerationMetrics metrics, IBackgroundJobClient jobs,
    IOptions<PipelineOptions> options, TimeProvider time, ILogger<MaintenanceJobs> logger)
{
    public const string ReconcileId = "reconcile-predictions";
    public const string SweepId = "sweep-deadlines";
    public const string ProbeId = "probe-providers";
    public const string RollUpCostsId = "roll-up-costs";

    /// <summary>
    /// Asks Replicate about every prediction whose webhook is overdue (a lost webhook), submits attempts whose create never went out and
    /// starts portraits whose batch has begun — for generations whose batch job is gone, too — and plans again a generation still
    /// queued after <see cref="PipelineOptions.PlanGrace"/> (its plan job was never enqueued: the Api stopped between the two).
    /// </summary>
    [Queue(JobQueues.Maintenance)]
    public async Task ReconcileAsync(CancellationToken cancellationToken)
    {
        metrics.PredictionsInFlight(await ledger.InFlightCountAsync(cancellationToken));
        foreach (var id in await store.UnfinishedAsync(cancellationToken))
        {
            await OneAtATimeAsync(id, async () =>
            {
                if (await store.GetAsync(id, cancellationToken) is not { } generation)
                {
                    return;
                }

                if (generation.Status == GenerationStatus.Queued)
                {
                    if (time.GetUtcNow() - generation.CreatedAt > options.Value.PlanGrace && !await store.IsPlannedAsync(id, cancellationToken))
                    {
                        LogPlannedAgain(logger, id);
                        jobs.Enqueue<GenerationJobs>(j => j.PlanAsync(id, CancellationToken.None));
                    }

                    return;
                }

                var open = (await portraits.PortraitsAsync(id, cancellationToken))
                    .Where(p => p.Status == PortraitStatus.Running || (p.Status == PortraitStatus.Pending && p.Batch <= generation.CurrentBatch))
                    .ToList();
                await runner.PassAsync(open, cancellationToken);
            });
        }

        await runner.TakeInLeftoversAsync(cancellationToken);
    }

    /// <summary>
    /// Finalizes every generation past its deadline, asked to stop (cancelled, or stopped by Replicate refusing the account), or whose
    /// portraits have all ended, that nobody finalized.
    /// </summary>
    [Queue(JobQueues.Maintenance)]
    public async Task SweepAsync(CancellationToken cancellationToken)
    {
        foreach (var id in await store.UnfinishedAsync(cancellationToken))
        {
            if (await store.GetAsync(id, cancellationToken) is not { } generation)
            {
                continue;
            }

            var ended = generation.Completed == generation.Total;
            if (ended || !generation.IsRunning || time.GetUtcNow() > generation.Deadline)
            {
                await OneAtATimeAsync(id, () => runner.FinalizeAsync(id, cancellationToken));
            }
        }
    }

    /// <summary>One generation's trouble is logged and the loop goes on with the next: it does not hold the others up.</summary>
    private async Task OneAtATimeAsync(Guid id, Func<Task> work)
    {
        try
        {
            await work();
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogGenerationSkipped(logger, id, e);
        }
    }

    /// <summary>Rolls the cost ledger up into daily totals for yesterday and today (UTC): a prediction ending at midnight is counted in time.</summary>
    [Queue(JobQueues.Maintenance)]
    public Task RollUpCostsAsync(CancellationToken cancellationToken) =>
        costs.RollUpAsync(DateOnly.FromDateTime(time.GetUtcNow().UtcDateTime).AddDays(-1), cancellationToken);

    /// <summary>A cheap GET on each provider's model; a failing provider is skipped, by every replica, until it answers again.</summary>
    [Queue(JobQueues.Maintenance)]
    public async Task ProbeProvidersAsync(CancellationToken cancellationToken)
    {
        foreach (var report in await probe.ProbeAllAsync(cancellationToken))
        {
            await availability.RecordProbeAsync(report);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Generation {GenerationId} was still queued, never planned: its plan job is enqueued again")]
    private static partial void LogPlannedAgain(ILogger logger, Guid generationId);

    [LoggerMessage(Level = LogLevel.Error, Message = "Generation {GenerationId} could not be looked after this round; the others were")]
    private static partial void LogGenerationSkipped(ILogger logger, Guid generationId, Exception exception);
}
