using Hangfire;
using Microsoft.Extensions.Logging;

namespace PinGlass.Generations.ClientWebhooks;

/// <summary>Queues the delivery of milestones once the transaction that recorded them has committed.</summary>
public sealed partial class ClientWebhookOutbox(IBackgroundJobClient jobs, ILogger<ClientWebhookOutbox> logger)
{
    /// <summary>A delivery whose queueing fails here is not lost: the sweep queues it after its grace.</summary>
    public void Enqueue(IReadOnlyList<Guid> deliveries)
    {
        foreach (var id in deliveries)
        {
            try
            {
                jobs.Enqueue<ClientWebhookJobs>(j => j.DeliverAsync(id, CancellationToken.None));
            }
            catch (Exception e)
            {
                LogNotQueued(logger, id, e);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Client webhook {DeliveryId} not queued now; the sweep will")]
    private static partial void LogNotQueued(ILogger logger, Guid deliveryId, Exception exception);
}
