using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;

namespace PinGlass.ReplicateEmulator.Http;

/// <summary>Endpoint metadata naming the rate-limit bucket an endpoint draws from (default: every other endpoint's).</summary>
public sealed record RateLimitBucket(string Name)
{
    public static readonly RateLimitBucket Create = new("create");
}

/// <summary>
/// Replicate's published limits as token buckets (replicate.com/docs/topics/predictions/rate-limits): creating predictions 600/min,
/// all other endpoints together 3000/min (both configurable). A recorded answer of <c>GET /predictions/{id}</c> showed a larger
/// remainder, but no document promises it, so a client is held to the published figure. Limits are wall-clock.
/// </summary>
public sealed class RateLimits : IDisposable
{
    private readonly Dictionary<string, (TokenBucketRateLimiter Limiter, int ResetSeconds)> buckets;

    public RateLimits(IOptions<EmulatorOptions> options) => buckets = new()
    {
        [RateLimitBucket.Create.Name] = Bucket(options.Value.CreateRateLimitPerMinute),
        [""] = Bucket(options.Value.RateLimitPerMinute),
    };

    /// <summary>Takes a token; sets <c>ratelimit-remaining</c>/<c>ratelimit-reset</c>; returns how long to wait when throttled.</summary>
    public TimeSpan? Acquire(RateLimitBucket? bucket, HttpResponse response)
    {
        var (limiter, resetSeconds) = buckets[bucket?.Name ?? ""];
        using var lease = limiter.AttemptAcquire();
        response.Headers["ratelimit-remaining"] = (limiter.GetStatistics()?.CurrentAvailablePermits ?? 0).ToString(CultureInfo.InvariantCulture);
        response.Headers["ratelimit-reset"] = resetSeconds.ToString(CultureInfo.InvariantCulture);
        if (lease.IsAcquired)
        {
            return null;
        }

        return lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter) ? retryAfter : TimeSpan.FromSeconds(resetSeconds);
    }

    private static (TokenBucketRateLimiter, int) Bucket(int perMinute)
    {
        // Refill at least every 100 ms when the limit is high, one token at a time when it is low.
        var tokensPerPeriod = Math.Max(1, (int)Math.Ceiling(perMinute / 600.0));
        var period = TimeSpan.FromMinutes(1) * tokensPerPeriod / perMinute;
        var limiter = new TokenBucketRateLimiter(new TokenBucketRateLimiterOptions
        {
            TokenLimit = perMinute,
            TokensPerPeriod = tokensPerPeriod,
            ReplenishmentPeriod = period,
            QueueLimit = 0,
            AutoReplenishment = true,
        });
        return (limiter, Math.Max(1, (int)Math.Ceiling(period.TotalSeconds)));
    }

    public void Dispose()
    {
        foreach (var (limiter, _) in buckets.Values)
        {
            limiter.Dispose();
        }
    }
}
