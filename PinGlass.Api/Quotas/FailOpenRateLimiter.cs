using System.Threading.RateLimiting;
using StackExchange.Redis;

namespace PinGlass.Api.Quotas;

/// <summary>
/// A client's request counter in Redis that lets requests through while Redis cannot be reached: the limit protects the Api from a
/// client, and Redis restarting must not turn every call into a 500. Spending is bounded meanwhile by the limits PostgreSQL checks.
/// </summary>
public sealed partial class FailOpenRateLimiter(RateLimiter inner, ILogger logger) : RateLimiter
{
    public override TimeSpan? IdleDuration => inner.IdleDuration;

    public override RateLimiterStatistics? GetStatistics() => inner.GetStatistics();

    protected override RateLimitLease AttemptAcquireCore(int permitCount)
    {
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

    private OpenLease Open(Exception e)
    {
        LogCounterUnavailable(logger, e);
        return OpenLease.Instance;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The request counter in Redis cannot be reached: the request is let through uncounted")]
    private static partial void LogCounterUnavailable(ILogger logger, Exception exception);

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
