using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;
using PinGlass.Generations.Quotas;

namespace PinGlass.Api.Quotas;

/// <summary>
/// How many progress event streams each client holds open on this replica, at most <see cref="QuotaOptions.EventStreamsPerClient"/>:
/// one client's followers cannot take every connection and Redis subscription the Api has. A stream holds its lease until it ends.
/// </summary>
public sealed class EventStreamLimits(IOptions<QuotaOptions> options) : IDisposable
{
    /// <summary>When to try again: a stream ends when its generation does, or when its follower goes.</summary>
    public static readonly TimeSpan RetryAfter = TimeSpan.FromSeconds(5);

    private readonly PartitionedRateLimiter<Guid> streams = PartitionedRateLimiter.Create<Guid, Guid>(client =>
        RateLimitPartition.GetConcurrencyLimiter(client, _ => new ConcurrencyLimiterOptions
        {
            PermitLimit = options.Value.EventStreamsPerClient,
            QueueLimit = 0,
        }));

    /// <summary>A stream's lease for <paramref name="clientId"/>; not acquired when the client holds its limit already.</summary>
    public RateLimitLease Open(Guid clientId) => streams.AttemptAcquire(clientId);

    public QuotaExceeded Exceeded() => new(Quota.EventStreams,
        $"This client has {options.Value.EventStreamsPerClient} progress streams open; close one, or poll GET /v1/generations/{{id}}.", RetryAfter);

    public void Dispose() => streams.Dispose();
}
