using System.Threading.RateLimiting;
using StackExchange.Redis;

namespace PinGlass.Api.Quotas;

/// <summary>
/// A client's request counter in Redis that lets requests through while Redis cannot be reached: the limit protects the Api from a
/// client, and Redis restarting must not turn every call into a 500, nor make each wait out Redis's timeout. Spending is bounded
/// meanwhile by the limits PostgreSQL checks.
/// </summary>
public sealed partial class FailOpenRateLimiter(RateLimiter inner, IConnectionMultiplexer redis, ILogger logger) : RateLimiter
{
    /// <summary>Requests let through uncounted are logged at most this often.</summary>
    private static readonly TimeSpan LogEvery = TimeSpan.FromMinutes(1);

    private static long lastLogged;

    public override TimeSpan? IdleDuration => inner.IdleDuration;

    /// <summary>None: the Redis limiters keep no statistics of their own.</summary>
    public override RateLimiterStatistics? GetStatistics() => null;

    protected override RateLimitLease AttemptAcquireCore(int permitCount)
    {
        if (!redis.IsConnected)
        {
            return Open(null);
        }

        try
        {
            return inner.AttemptAcquire(permitCount);
        }
        catch (Exception e) when (e is RedisException or RedisTimeoutException)
        {
            return Open(e);
        }
    }

    protected override async ValueTask<RateLimitLease> AcquireAsyncCore(int permitCount, CancellationToken cancellationToken)
    {
        if (!redis.IsConnected)
        {
            return Open(null);
        }

        try
        {
            return await inner.AcquireAsync(permitCount, cancellationToken);
        }
        catch (Exception e) when (e is RedisException or RedisTimeoutException)
        {
            return Open(e);
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }

        base.Dispose(disposing);
    }

    protected override ValueTask DisposeAsyncCore() => inner.DisposeAsync();

    private OpenLease Open(Exception? e)
    {
        var now = Environment.TickCount64;
        var last = Interlocked.Read(ref lastLogged);
        if (now - last >= LogEvery.TotalMilliseconds && Interlocked.CompareExchange(ref lastLogged, now, last) == last)
        {
            LogCounterUnavailable(logger, e);
        }

        return OpenLease.Instance;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The request counters in Redis cannot be reached: requests are let through uncounted (logged once a minute)")]
    private static partial void LogCounterUnavailable(ILogger logger, Exception? exception);

    private sealed class OpenLease : RateLimitLease
    {
        public static readonly OpenLease Instance = new();

        public override bool IsAcquired => true;

        public override IEnumerable<string> MetadataNames => [];

        public override bool TryGetMetadata(string metadataName, out object? metadata)
        {
            metadata = null;
            return false;
        }
    }
}
