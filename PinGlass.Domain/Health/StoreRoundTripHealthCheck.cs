using System.Text;
using Azure.Storage.Blobs;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Npgsql;
using PinGlass.Domain.Storage;
using StackExchange.Redis;

namespace PinGlass.Domain.Health;

/// <summary>
/// Proves this instance can write to and read back from each store it depends on, not merely connect: a row in PostgreSQL, a key in
/// Redis and a blob, each keyed by service and instance so operators (and the tests) can see which replica last succeeded.
/// </summary>
public sealed class StoreRoundTripHealthCheck(
    NpgsqlDataSource dataSource,
    IConnectionMultiplexer redis,
    BlobServiceClient blobs,
    ServiceInstance self,
    TimeProvider clock) : IHealthCheck
{
    public static string RedisKey(string service, string instance) => $"pinglass:probes:{service}:{instance}";

    public static string BlobName(string service, string instance) => $"{service}/{instance.Replace(':', '-')}.txt";

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var stamp = clock.GetUtcNow();
        var token = $"{self.Service}|{self.Instance}|{stamp:O}";
        var failures = new List<string>();

        await Probe("postgres", () => PostgresRoundTrip(stamp, cancellationToken));
        await Probe("redis", () => RedisRoundTrip(token));
        await Probe("blobs", () => BlobRoundTrip(token, cancellationToken));

        return failures.Count == 0
            ? HealthCheckResult.Healthy("postgres, redis and blobs: write and read back succeeded")
            : HealthCheckResult.Unhealthy(string.Join("; ", failures));

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
        // timestamptz keeps microseconds; the probe's clock may carry ticks.
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
}
