using System.ComponentModel.DataAnnotations;
using System.Text;
using Azure.Storage.Blobs;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using PinGlass.Platform.Storage;
using StackExchange.Redis;

namespace PinGlass.Platform.Health;

/// <summary>
/// Proves, on a schedule, that this instance can write to and read back from each store it depends on, not merely connect: a row
/// in PostgreSQL, a key in Redis and a blob, each keyed by service and instance so operators (and the tests) can see which replica
/// last succeeded. It runs in every instance by itself because load balancers poll /health through one address, not each replica.
/// </summary>
public sealed partial class StoreRoundTripProbe(
    NpgsqlDataSource dataSource,
    IConnectionMultiplexer redis,
    BlobServiceClient blobs,
    ServiceInstance self,
    TimeProvider clock,
    IOptions<StoreProbeSettings> settings,
    ILogger<StoreRoundTripProbe> logger) : BackgroundService
{
    private volatile StoreRoundTripResult? last;

    /// <summary>The latest round trip, or null before the first one finished.</summary>
    public StoreRoundTripResult? Last => last;

    public static string RedisKey(string service, string instance) => $"pinglass:probes:{service}:{instance}";

    public static string BlobName(string service, string instance) => $"{service}/{instance.Replace(':', '-')}.txt";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(settings.Value.Interval, clock);
        do
        {
            var result = await RoundTripAsync(stoppingToken);
            if (result.Failures.Count > 0)
            {
                LogFailed(string.Join("; ", result.Failures));
            }

            last = result;
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    private async Task<StoreRoundTripResult> RoundTripAsync(CancellationToken cancellationToken)
    {
        var stamp = clock.GetUtcNow();
        var token = $"{self.Service}|{self.Instance}|{stamp:O}";
        var failures = new List<string>();

        await Probe("postgres", () => PostgresRoundTrip(stamp, cancellationToken));
        await Probe("redis", () => RedisRoundTrip(token));
        await Probe("blobs", () => BlobRoundTrip(token, cancellationToken));
        return new StoreRoundTripResult(stamp, failures);

        async Task Probe(string store, Func<Task<bool>> roundTrip)
        {
            try
            {
                if (!await roundTrip())
                {
                    failures.Add($"{store}: read back a different value than written");
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                failures.Add($"{store}: {ex.GetType().Name}: {ex.Message.Split('\n')[0]}");
            }
        }
    }

    private async Task<bool> PostgresRoundTrip(DateTimeOffset stamp, CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand(
            """
            INSERT INTO service_probes (service, instance, probed_at) VALUES ($1, $2, $3)
            ON CONFLICT (service, instance) DO UPDATE SET probed_at = excluded.probed_at
            RETURNING probed_at
            """);
        command.Parameters.Add(new() { Value = self.Service });
        command.Parameters.Add(new() { Value = self.Instance });
        command.Parameters.Add(new() { Value = stamp });
        var stored = (DateTime)(await command.ExecuteScalarAsync(ct))!;
        // timestamptz keeps microseconds; the clock may carry ticks.
        return Math.Abs((stored - stamp.UtcDateTime).TotalMilliseconds) < 1;
    }

    private async Task<bool> RedisRoundTrip(string token)
    {
        var db = redis.GetDatabase();
        var key = RedisKey(self.Service, self.Instance);
        await db.StringSetAsync(key, token, TimeSpan.FromHours(1));
        return await db.StringGetAsync(key) == token;
    }

    private async Task<bool> BlobRoundTrip(string token, CancellationToken ct)
    {
        var blob = blobs.GetBlobContainerClient(BlobContainers.Probes).GetBlobClient(BlobName(self.Service, self.Instance));
        await blob.UploadAsync(BinaryData.FromString(token), overwrite: true, ct);
        var content = await blob.DownloadContentAsync(ct);
        return Encoding.UTF8.GetString(content.Value.Content) == token;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Store round trip failed: {Failures}")]
    private partial void LogFailed(string failures);
}

public sealed record StoreRoundTripResult(DateTimeOffset At, IReadOnlyList<string> Failures);

/// <summary>How often each instance proves its stores, from the <c>StoreProbe</c> section.</summary>
public sealed class StoreProbeSettings
{
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00")]
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(10);
}
