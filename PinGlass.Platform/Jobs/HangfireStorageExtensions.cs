using System.ComponentModel.DataAnnotations;
using Hangfire;
using Hangfire.PostgreSql;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Npgsql;

namespace PinGlass.Platform.Jobs;

public static class HangfireStorageExtensions
{
    /// <summary>The PostgreSQL schema Hangfire keeps its tables in, apart from PinGlass's own.</summary>
    public const string Schema = "hangfire";

    /// <summary>
    /// Configures Hangfire on PostgreSQL storage over the shared <see cref="NpgsqlDataSource"/>, with traces carried from whoever
    /// queues a job into the job (<see cref="JobTracingFilter"/>). Registers the client side only (enqueueing); PinGlass.Jobs adds
    /// the server. The schema is installed by the migrations step, never by a service at start-up,
    /// so replicas do not race to create it.
    /// </summary>
    public static TBuilder AddPinGlassHangfire<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        builder.Services.AddOptions<HangfireStorageSettings>().BindConfiguration("Hangfire").ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddHangfire((services, config) => config
            .SetDataCompatibilityLevel(CompatibilityLevel.Version_180)
            .UseSimpleAssemblyNameTypeSerializer()
            .UseRecommendedSerializerSettings()
            .UseFilter(new JobTracingFilter())
            .UsePostgreSqlStorage(
                bootstrap => bootstrap.UseConnectionFactory(new DataSourceConnectionFactory(services.GetRequiredService<NpgsqlDataSource>())),
                StorageOptions(services.GetRequiredService<IOptions<HangfireStorageSettings>>().Value)));
        return builder;
    }

    public static PostgreSqlStorageOptions StorageOptions(HangfireStorageSettings settings) => new()
    {
        SchemaName = Schema,
        PrepareSchemaIfNecessary = false,
        QueuePollInterval = settings.QueuePollInterval,
        // A worker that dies mid-job gives the job back after this long; the sliding timeout keeps long jobs from being re-run
        // while their worker is still alive.
        UseSlidingInvisibilityTimeout = true,
        InvisibilityTimeout = settings.InvisibilityTimeout,
        DistributedLockTimeout = settings.DistributedLockTimeout,
    };

    /// <summary>Hangfire's connections from the shared data source (public for tools and tests that queue jobs as the services do).</summary>
    public sealed class DataSourceConnectionFactory(NpgsqlDataSource dataSource) : IConnectionFactory
    {
        public NpgsqlConnection GetOrCreateConnection() => dataSource.CreateConnection();
    }
}

/// <summary>Hangfire settings shared by the Api (client) and Jobs (server), bound from the <c>Hangfire</c> section.</summary>
public sealed class HangfireStorageSettings
{
    /// <summary>
    /// How often each idle worker looks for new jobs in another process's enqueues (a job enqueued in its own process wakes it at
    /// once). Every idle worker polls on its own phase, so with dozens idle a new job waits a fraction of this; each poll is a
    /// transaction, and at 1 s the polls of an idle deployment were most of its database and Jobs CPU. Hangfire's default of 15 s
    /// would be the floor of a step's latency when few workers are idle.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:01:00")]
    public TimeSpan QueuePollInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How long the job of a worker that died stays invisible before another server takes it up (kept alive while it runs).</summary>
    [Range(typeof(TimeSpan), "00:00:05", "01:00:00")]
    public TimeSpan InvisibilityTimeout { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// How long a distributed lock (one reconciliation at a time, one plan job per generation, recurring-job registration) counts as
    /// held: a replica killed while holding one leaves it behind, and nobody may take it before this has passed. Hangfire.PostgreSql's
    /// default is 10 minutes, which stopped reconciliation for that long after a Jobs replica was killed mid-run.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:05", "01:00:00")]
    public TimeSpan DistributedLockTimeout { get; set; } = TimeSpan.FromMinutes(1);
}
