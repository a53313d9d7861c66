using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;
using RedisRateLimiting;
using StackExchange.Redis;

namespace PinGlass.Generations.Submission;

/// <summary>
/// Replicate's create-prediction limit as one token bucket in Redis, so every Jobs replica draws from the same account-wide budget
/// instead of each assuming it has the whole limit. A create waits for a token rather than meeting a 429.
/// </summary>
public sealed class CreateRateLimiter : IAsyncDisposable
{
    private readonly RedisTokenBucketRateLimiter<string> limiter;
    private readonly TimeSpan period;
    private readonly TimeProvider time;
    private readonly GenerationMetrics metrics;

    public CreateRateLimiter(IConnectionMultiplexer redis, IOptions<PipelineOptions> options, TimeProvider time, GenerationMetrics metrics)
    {
        var limit = options.Value.CreateRateLimit;
        // Refill every 100 ms at high limits, one token at a time at low ones (as Replicate's bucket does).
        var tokensPerPeriod = Math.Max(1, (int)Math.Ceiling(limit.PerMinute / 600.0));
        period = TimeSpan.FromMinutes(1) * tokensPerPeriod / limit.PerMinute;
        limiter = new RedisTokenBucketRateLimiter<string>("pinglass:replicate:creates", new RedisTokenBucketRateLimiterOptions
        {
            ConnectionMultiplexerFactory = () => redis,
            TokenLimit = limit.Burst,
            TokensPerPeriod = tokensPerPeriod,
            ReplenishmentPeriod = period,
        });
        (this.time, this.metrics) = (time, metrics);
    }

    /// <summary>Waits until a create may be sent.</summary>
    public async Task WaitAsync(CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        while (true)
        {
            using var lease = await limiter.AcquireAsync(1, cancellationToken);
            if (lease.IsAcquired)
            {
                metrics.CreateThrottled(time.GetElapsedTime(started).TotalMilliseconds);
                return;
            }

            var wait = lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter) && retryAfter > TimeSpan.Zero ? retryAfter : period;
            await Task.Delay(wait, time, cancellationToken);
        }
    }

    public ValueTask DisposeAsync() => limiter.DisposeAsync();
}
