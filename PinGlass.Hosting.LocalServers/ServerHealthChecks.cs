using Azure.Storage.Blobs;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Npgsql;
using StackExchange.Redis;

namespace PinGlass.Hosting.LocalServers;

/// <summary>Health checks that tell the dashboard and <c>WaitFor</c> when a server answers a real request.</summary>
public static class ServerHealthChecks
{
    public static Task Postgres(string connectionString, CancellationToken cancellationToken) =>
        SelectOne(connectionString, cancellationToken);

    public static async Task Redis(string connectionString, CancellationToken cancellationToken)
    {
        await using var redis = await ConnectionMultiplexer.ConnectAsync(connectionString);
        await redis.GetDatabase().PingAsync();
    }

    public static Task Blobs(string connectionString, CancellationToken cancellationToken) =>
        new BlobServiceClient(connectionString).GetPropertiesAsync(cancellationToken);

    /// <summary>Marks the resource healthy only while <paramref name="probe"/> succeeds against its connection string.</summary>
    public static IResourceBuilder<T> WithServerHealthCheck<T>(
        this IResourceBuilder<T> server, Func<string, CancellationToken, Task> probe)
        where T : IResourceWithConnectionString
    {
        var key = $"{server.Resource.Name}_check";
        server.ApplicationBuilder.Services.AddHealthChecks()
            .Add(new HealthCheckRegistration(key, _ => new ProbeHealthCheck(server.Resource, probe), failureStatus: null, tags: null));
        return server.WithHealthCheck(key);
    }

    private static async Task SelectOne(string connectionString, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand("SELECT 1", connection);
        await command.ExecuteScalarAsync(cancellationToken);
    }

    private sealed class ProbeHealthCheck(IResourceWithConnectionString server, Func<string, CancellationToken, Task> probe) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            try
            {
                var connectionString = await server.GetConnectionStringAsync(cancellationToken)
                    ?? throw new InvalidOperationException($"{server.Name} has no connection string yet.");
                await probe(connectionString, cancellationToken);
                return HealthCheckResult.Healthy();
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                return HealthCheckResult.Unhealthy($"{server.Name} does not answer.", ex);
            }
        }
    }
}
