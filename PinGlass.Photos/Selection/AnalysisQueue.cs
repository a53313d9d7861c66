using System.ComponentModel.DataAnnotations;
using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;

namespace PinGlass.Photos.Selection;

/// <summary>How many uploads are analysed at once and how many may wait their turn. Section <c>Photos:AnalysisQueue</c>.</summary>
public sealed class AnalysisQueueOptions
{
    public const string Section = "Photos:AnalysisQueue";

    /// <summary>Uploads decoded and analysed at once: each already keeps both cores busy (decoding here, detection in the faces service).</summary>
    [Range(1, 64)]
    public int UploadsAtOnce { get; set; } = 2;

    /// <summary>Uploads held, photos in memory, until a place is free; past that an upload is refused at once rather than piling up.</summary>
    [Range(0, 1000)]
    public int UploadsWaiting { get; set; } = 8;

    /// <summary>Longest wait for a place: an upload that would wait longer is refused, and sent again after Retry-After.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00")]
    public TimeSpan MaxWait { get; set; } = TimeSpan.FromSeconds(30);
}

/// <summary>
/// The bounded queue uploads pass through before their photos are decoded and analysed: a few at once, a few waiting, the rest
/// refused straight away (a 503 with Retry-After), so a burst of uploads meets a quick answer, not a slow death of memory and CPU.
/// </summary>
public sealed class AnalysisQueue(IOptions<AnalysisQueueOptions> options, PhotoMetrics metrics) : IDisposable
{
    private readonly ConcurrencyLimiter limiter = new(new ConcurrencyLimiterOptions
    {
        PermitLimit = options.Value.UploadsAtOnce,
        QueueLimit = options.Value.UploadsWaiting,
        QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
    });

    /// <summary>
    /// True, and counted as a refusal, when no place is free and there is no room to wait: an upload arriving now would be refused,
    /// so it need not be read first.
    /// </summary>
    public bool RefusesNow()
    {
        var full = limiter.GetStatistics() is { CurrentAvailablePermits: 0 } statistics && statistics.CurrentQueuedCount >= options.Value.UploadsWaiting;
        if (full)
        {
            metrics.Busy();
        }

        return full;
    }

    /// <summary>A place in the queue, held until disposed; null when the queue is full or the wait passed <see cref="AnalysisQueueOptions.MaxWait"/>.</summary>
    public async ValueTask<IDisposable?> EnterAsync(CancellationToken cancellationToken)
    {
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        wait.CancelAfter(options.Value.MaxWait);
        RateLimitLease lease;
        try
        {
            lease = await limiter.AcquireAsync(1, wait.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            metrics.Busy();
            return null;
        }

        if (lease.IsAcquired)
        {
            return lease;
        }

        lease.Dispose();
        metrics.Busy();
        return null;
    }

    public void Dispose() => limiter.Dispose();
}
