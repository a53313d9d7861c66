using Azure.Storage.Blobs;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using PinGlass.Platform.Health;

namespace PinGlass.Platform.Storage;

public static class StorageExtensions
{
    /// <summary>
    /// Registers PostgreSQL (<see cref="Npgsql.NpgsqlDataSource"/>), Redis and the blob store from the AppHost's connection strings:
    /// PostgreSQL and Redis through Aspire's integrations (health checks, telemetry); all three proven by a probe that regularly
    /// writes to and reads back from each.
    /// </summary>
    public static TBuilder AddPinGlassStores<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        builder.AddNpgsqlDataSource(ResourceNames.Database);
        builder.AddRedisClient(ResourceNames.Cache);
        builder.Services.AddSingleton(new BlobServiceClient(builder.Configuration.GetRequiredConnectionString(ResourceNames.Blobs)));

        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddSingleton(ServiceInstance.From(builder));
        builder.Services.AddOptions<StoreProbeSettings>().BindConfiguration("StoreProbe").ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<StoreRoundTripProbe>();
        builder.Services.AddHostedService(services => services.GetRequiredService<StoreRoundTripProbe>());
        builder.Services.AddHealthChecks().AddCheck<StoreRoundTripHealthCheck>("store-round-trip");
        return builder;
    }

    public static string GetRequiredConnectionString(this IConfiguration configuration, string name) =>
        configuration.GetConnectionString(name) is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException(
                $"ConnectionStrings:{name} is not configured. Start PinGlass through PinGlass.AppHost, or set ConnectionStrings__{name}.");
}
