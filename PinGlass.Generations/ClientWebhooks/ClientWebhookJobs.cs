using Hangfire;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PinGlass.Platform.Jobs;

namespace PinGlass.Generations.ClientWebhooks;

/// <summary>
/// Delivers client webhooks: one attempt a job, the next scheduled in Hangfire after the delay its count calls for, the delivery dead
/// after the last; and a sweep that queues deliveries whose job was lost (a process killed between a commit and its queueing, or
/// between an attempt and the next's scheduling).
/// </summary>
[AutomaticRetry(Attempts = 0)]
public sealed partial class ClientWebhookJobs(ClientWebhookStore store, ClientWebhookSender sender, IBackgroundJobClient jobs,
    IOptions<ClientWebhookOptions> options, ILogger<ClientWebhookJobs> logger)
{
    public const string SweepId = "sweep-client-webhooks";

    [Queue(JobQueues.ClientWebhooks)]
    public async Task DeliverAsync(Guid id, CancellationToken cancellationToken)
    {
        var settings = options.Value;
        // Held past the attempt's timeout: a second job for this delivery finds it held and leaves it.
        if (await store.LeaseAsync(id, settings.Timeout * 2, cancellationToken) is not { } delivery)
        {
            return;
        }

        var outcome = await sender.SendAsync(delivery, cancellationToken);
        var retryAfter = outcome.Delivered ? null : settings.NextDelay(delivery.Attempt);
        // A later attempt took the delivery after this one's lease ran out: that attempt decides what comes next.
        if (!await store.RecordAttemptAsync(id, delivery.Lease, outcome.Delivered, retryAfter, outcome.Status, outcome.Error, CancellationToken.None)
            || outcome.Delivered)
        {
            return;
        }

        if (retryAfter is { } delay)
        {
            LogRetry(logger, delivery.MessageId, delivery.Attempt, outcome.Error, delay);
            jobs.Schedule<ClientWebhookJobs>(j => j.DeliverAsync(id, CancellationToken.None), delay);
        }
        else
        {
            LogDead(logger, delivery.MessageId, delivery.Attempt, outcome.Error);
        }
    }

    /// <summary>Queues every delivery overdue by the sweep grace.</summary>
    [Queue(JobQueues.Maintenance)]
    [DisableConcurrentExecution(60)]
    public async Task SweepAsync(CancellationToken cancellationToken)
    {
        foreach (var id in await store.OverdueAsync(options.Value.SweepGrace, cancellationToken))
        {
            jobs.Enqueue<ClientWebhookJobs>(j => j.DeliverAsync(id, CancellationToken.None));
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Client webhook {MessageId} attempt {Attempt} failed ({Error}); next in {Delay}")]
    private static partial void LogRetry(ILogger logger, string messageId, int attempt, string? error, TimeSpan delay);

    [LoggerMessage(Level = LogLevel.Error, Message = "Client webhook {MessageId} is dead after {Attempts} attempts ({Error}); ops can replay it")]
    private static partial void LogDead(ILogger logger, string messageId, int attempts, string? error);
}
