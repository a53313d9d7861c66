using System.Reflection;
using Azure.Storage.Blobs;
using DbUp;
using Hangfire.PostgreSql;
using Npgsql;
using PinGlass.Platform;
using PinGlass.Platform.Jobs;
using PinGlass.Platform.Storage;

namespace PinGlass.Migrations;

/// <summary>
/// Makes the database's roles and the database (<see cref="DatabaseRoles"/>), applies PinGlass's versioned SQL scripts and installs
/// Hangfire's schema as the owner, lets the services' role at the rows, and creates the blob containers.
/// </summary>
public sealed partial class Migrator(ILogger<Migrator> logger)
{
    /// <summary>DbUp's journal: one row per applied script, so each runs once.</summary>
    public const string JournalTable = "schema_migrations";

    /// <summary>Brings everything up to date; returns how many SQL scripts this run applied (0 when already current).</summary>
    public async Task<int> MigrateAsync(IConfiguration configuration, CancellationToken cancellationToken)
    {
        // Not pooled: the step's connections close with it, and none of the owner's lingers where only the services' role should be.
        var owner = new NpgsqlConnectionStringBuilder(configuration.GetRequiredConnectionString(ResourceNames.DatabaseOwner)) { Pooling = false }
            .ConnectionString;
        var service = configuration.GetRequiredConnectionString(ResourceNames.Database);
        await DatabaseRoles.PrepareAsync(configuration.GetRequiredConnectionString(ResourceNames.Postgres), owner, service, cancellationToken);
        var applied = MigrateDatabase(owner);
        await InstallHangfireSchemaAsync(owner, cancellationToken);
        await DatabaseRoles.GrantAsync(owner, service, cancellationToken);
        LogRoles();
        await CreateBlobContainersAsync(configuration.GetRequiredConnectionString(ResourceNames.Blobs), cancellationToken);
        return applied;
    }

    private int MigrateDatabase(string connectionString)
    {
        var result = DeployChanges.To.PostgresqlDatabase(connectionString)
            .WithScriptsEmbeddedInAssembly(Assembly.GetExecutingAssembly())
            .WithTransactionPerScript()
            .JournalToPostgresqlTable("public", JournalTable)
            .LogTo(logger)
            .Build()
            .PerformUpgrade();

        if (!result.Successful)
        {
            throw new InvalidOperationException($"Migration {result.ErrorScript?.Name} failed.", result.Error);
        }

        var applied = result.Scripts.Count();
        LogApplied(applied);
        return applied;
    }

    private async Task InstallHangfireSchemaAsync(string connectionString, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        // Hangfire.PostgreSql's own installer: versioned, takes a lock, and skips what is already there.
        PostgreSqlObjectsInstaller.Install(connection, HangfireStorageExtensions.Schema);
        LogHangfireSchema(HangfireStorageExtensions.Schema);
    }

    private async Task CreateBlobContainersAsync(string connectionString, CancellationToken cancellationToken)
    {
        var blobs = new BlobServiceClient(connectionString);
        foreach (var container in BlobContainers.All)
        {
            await blobs.GetBlobContainerClient(container).CreateIfNotExistsAsync(cancellationToken: cancellationToken);
        }

        LogContainers(string.Join(", ", BlobContainers.All));
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Database up to date: {Count} new script(s) applied")]
    private partial void LogApplied(int count);

    [LoggerMessage(Level = LogLevel.Information, Message = "Hangfire schema '{Schema}' installed or already current")]
    private partial void LogHangfireSchema(string schema);

    [LoggerMessage(Level = LogLevel.Information, Message = "Database roles ready: the scripts ran as the owner; the services' role reads and writes rows only")]
    private partial void LogRoles();

    [LoggerMessage(Level = LogLevel.Information, Message = "Blob containers ready: {Containers}")]
    private partial void LogContainers(string containers);
}
