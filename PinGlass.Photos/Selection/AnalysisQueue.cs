using System.ComponentModel.DataAnnotations;
using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;

namespace PinGlass.Photos.Selection;

/// <summary>How many uploads are analysed at once, how many may wait their turn, and how many one client may have in either. Section <c>Photos:AnalysisQueue</c>.</summary>
public sealed class AnalysisQueueOptions
{
    public const string Section = "Photos:AnalysisQueue";

    /// <summary>Uploads decoded and analysed at once: each already keeps both cores busy (decoding here, detection in the faces service).</summary>
    [Range(1, 64)]
    public int UploadsAtOnce { get; set; } = 2;

    /// <summary>Uploads held, photos in memory, until a place is free; past that an upload is refused at once rather than piling up.</summary>
    [Range(0, 1000)]
    public int UploadsWaiting { get; set; } = 8;

    /// <summary>Uploads of one client application analysed or waiting at once, so one client cannot fill the queue for all.</summary>
    [Range(1, 1000)]
    public int UploadsPerClient { get; set; } = 2;

    /// <summary>Longest wait for a place: an upload that would wait longer is refused, and sent again after Retry-After.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00")]
    public TimeSpan MaxWait { get; set; } = TimeSpan.FromSeconds(30);
}

/// <summary>
/// The bounded queue uploads pass through before their photos are decoded and analysed: a few at once, a few waiting, a few per
/// client, the rest refused (a 503 with Retry-After), so a burst of uploads meets a quick answer instead of every upload decoding at
/// once and all of them slowing to a crawl. It bounds the decoded photos and the analysis work, not the bytes of uploads still being
/// received: those are bounded by the request size limit and Kestrel's connection limits.
/// </summary>
public sealed class AnalysisQueue : IDisposable
{
    private readonly IOptions<AnalysisQueueOptions> options;
    private readonly PhotoMetrics metrics;
    private readonly ConcurrencyLimiter places;
    private readonly PartitionedRateLimiter<string> perClient;

    public AnalysisQueue(IOptions<AnalysisQueueOptions> options, PhotoMetrics metrics)
    {
        (this.options, this.metrics) = (options, metrics);
        places = new(new ConcurrencyLimiterOptions
        {
            PermitLimit = options.Value.UploadsAtOnce,
            QueueLimit = options.Value.UploadsWaiting,
            QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
        });
        perClient = PartitionedRateLimiter.Create<string, string>(client => RateLimitPartition.GetConcurrencyLimiter(client,
            _ => new ConcurrencyLimiterOptions { PermitLimit = options.Value.UploadsPerClient, QueueLimit = 0 }));
    }

    /// <summary>
    /// True, and counted as a refusal, when an upload of <paramref name="client"/> arriving now would be refused (no place free and
    /// no room to wait, or the client has its share in already), so it need not be read first.
    /// </summary>
    public bool RefusesNow(string client)
    {
        var full = places.GetStatistics() is { CurrentAvailablePermits: 0 } statistics && statistics.CurrentQueuedCount >= options.Value.UploadsWaiting
            || perClient.GetStatistics(client) is { CurrentAvailablePermits: 0 };
        if (full)
        {
            metrics.Busy();
        }

        return full;
    }

    /// <summary>
    /// A place in the queue for an upload of <paramref name="client"/>, held until disposed; null when the queue is full, the client has
    /// its share in already, or the wait passed <see cref="AnalysisQueueOptions.MaxWait"/>.
    /// </summary>
    public async ValueTask<IDisposable?> EnterAsync(string client, CancellationToken cancellationToken)
    {
        var share = perClient.AttemptAcquire(client);
        if (!share.IsAcquired)
        {
            share.Dispose();
            metrics.Busy();
            return null;
        }

        using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        wait.CancelAfter(options.Value.MaxWait);
        RateLimitLease place;
        try
        {
            place = await places.AcquireAsync(1, wait.Token);
        }
        catch (OperationCanceledException)
        {
            share.Dispose();
            if (cancellationToken.IsCancellationRequested)
            {
                throw;
            }

            metrics.Busy();
            return null;
        }

        if (place.IsAcquired)
        {
            return new Place(share, place);
        }

        place.Dispose();
        share.Dispose();
        metrics.Busy();
        return null;
    }

    public void Dispose()
    {
        places.Dispose();
        perClient.Dispose();
    }

    private sealed class Place(RateLimitLease share, RateLimitLease place) : IDisposable
    {
        public void Dispose()
        {
            place.Dispose();
            share.Dispose();
        }
    }
}
