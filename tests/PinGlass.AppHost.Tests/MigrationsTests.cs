using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;
using PinGlass.Platform;
using PinGlass.Migrations;

namespace PinGlass.AppHost.Tests;

public sealed class MigrationsTests(PinGlassApp pinglass)
{
    [Fact]
    public async Task The_migrations_step_ran_to_completion()
    {
        Assert.True(pinglass.App.ResourceNotifications.TryGetCurrentState(ResourceNames.Migrations, out var migrations));

        Assert.Equal(KnownResourceStates.Finished, migrations.Snapshot.State?.Text);
        Assert.Equal(0, migrations.Snapshot.ExitCode);
    }

    [Fact]
    public async Task Every_script_is_journaled_once_and_the_design_tables_exist()
    {
        await using var stores = await Stores.ConnectAsync(pinglass.App);

        var journal = await stores.QueryAsync($"SELECT scriptname FROM {Migrator.JournalTable} ORDER BY scriptname", r => r.GetString(0));
        var scripts = typeof(Migrator).Assembly.GetManifestResourceNames().Where(n => n.EndsWith(".sql", StringComparison.Ordinal)).Order();
        Assert.Equal(scripts, journal);
        Assert.Contains("PinGlass.Migrations.Scripts.0001_generation_tables.sql", journal);

        var costColumns = await stores.QueryAsync(
            """
            SELECT column_name || ':' || data_type || coalesce('(' || numeric_precision || ',' || numeric_scale || ')', '')
            FROM information_schema.columns WHERE table_name = 'generation_costs' ORDER BY ordinal_position
            """,
            r => r.GetString(0));
        Assert.Equal(
            ["id:uuid", "job_id:uuid", "total_cost:numeric(10,4)", "image_count:integer(32,0)", "successful_count:integer(32,0)",
             "failed_count:integer(32,0)", "retried_count:integer(32,0)", "primary_model:text", "fallback_used:boolean",
             "created_at:timestamp with time zone"],
            costColumns);

        var foreignKey = await stores.QueryAsync(
            // pg_catalog: information_schema shows constraints only to their table's owner, and the services' role is not it.
            "SELECT confrelid::regclass::text FROM pg_constraint WHERE conrelid = 'generation_costs'::regclass AND contype = 'f'",
            r => r.GetString(0));
        Assert.Equal(["generation_jobs"], foreignKey);

        var indexes = await stores.QueryAsync("SELECT indexdef FROM pg_indexes WHERE tablename = 'generation_costs'", r => r.GetString(0));
        Assert.Contains(indexes, d => d.EndsWith("(created_at)", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Running_the_migrations_again_changes_nothing()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var stores = await Stores.ConnectAsync(pinglass.App);
        var before = await stores.QueryAsync($"SELECT count(*) FROM {Migrator.JournalTable}", r => r.GetInt64(0));

        var applied = await new Migrator(NullLogger<Migrator>.Instance).MigrateAsync(await MigrationsConfigurationAsync(), ct);

        Assert.Equal(0, applied);
        Assert.Equal(before, await stores.QueryAsync($"SELECT count(*) FROM {Migrator.JournalTable}", r => r.GetInt64(0)));
    }

    [Fact]
    public async Task The_services_role_reads_and_writes_rows_and_changes_no_schema_while_the_owner_owns_every_table()
    {
        await using var stores = await Stores.ConnectAsync(pinglass.App);
        var role = await stores.QueryAsync("""
            SELECT current_user::text, rolsuper, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = current_user
            """, r => (Name: r.GetString(0), Super: r.GetBoolean(1), CreateRole: r.GetBoolean(2), CreateDb: r.GetBoolean(3)));
        Assert.Equal(("pinglass_app", false, false, false), Assert.Single(role));

        // Every connection the Api and Jobs hold is the services' role.
        Assert.Equal(["pinglass_app"], await stores.QueryAsync(
            "SELECT DISTINCT usename::text FROM pg_stat_activity WHERE datname = 'pinglass' AND backend_type = 'client backend'", r => r.GetString(0)));
        Assert.Equal(["pinglass_owner"], await stores.QueryAsync(
            "SELECT DISTINCT tableowner::text FROM pg_tables WHERE schemaname IN ('public', 'hangfire')", r => r.GetString(0)));

        // Rows, yes (a probe row it may write); schema, temporary tables, roles, databases: no.
        Assert.Equal(1, await ExecuteAsync(stores, "UPDATE service_probes SET probed_at = probed_at WHERE ctid = (SELECT min(ctid) FROM service_probes)"));
        foreach (var statement in new[]
                 {
                     $"DELETE FROM {Migrator.JournalTable}", "UPDATE hangfire.schema SET version = version",
                     "CREATE TABLE public.intruder (x int)", "CREATE TABLE hangfire.intruder (x int)", "CREATE TEMP TABLE intruder (x int)",
                     "ALTER TABLE generation_jobs ADD COLUMN intruder int", "DROP TABLE api_keys", "TRUNCATE predictions",
                     "CREATE SCHEMA intruder", "CREATE ROLE intruder", "CREATE DATABASE intruder",
                 })
        {
            var refused = await Assert.ThrowsAsync<Npgsql.PostgresException>(() => ExecuteAsync(stores, statement));
            Assert.True(refused.SqlState is "42501", $"{statement}: {refused.SqlState} {refused.MessageText}");
        }
    }

    [Fact]
    public async Task What_an_older_version_made_as_the_superuser_is_handed_to_the_owner_and_opened_to_the_services()
    {
        // Before roles, the services made everything as postgres: a table with a serial column stands for it.
        var ct = TestContext.Current.CancellationToken;
        var table = $"made_by_postgres_{Guid.NewGuid():N}";
        var database = new Npgsql.NpgsqlConnectionStringBuilder(await pinglass.App.GetConnectionStringAsync(ResourceNames.Database, ct)).Database;
        var superuser = new Npgsql.NpgsqlConnectionStringBuilder(await pinglass.App.GetConnectionStringAsync(ResourceNames.Postgres, ct))
            { Database = database, Pooling = false };
        await using var asSuperuser = new Npgsql.NpgsqlConnection(superuser.ConnectionString);
        await asSuperuser.OpenAsync(ct);
        await using (var create = new Npgsql.NpgsqlCommand($"CREATE TABLE public.{table} (id serial PRIMARY KEY, note text)", asSuperuser))
        {
            await create.ExecuteNonQueryAsync(ct);
        }

        try
        {
            await new Migrator(NullLogger<Migrator>.Instance).MigrateAsync(await MigrationsConfigurationAsync(), ct);

            await using var stores = await Stores.ConnectAsync(pinglass.App);
            Assert.Equal(["pinglass_owner", "pinglass_owner"], await stores.QueryAsync(
                $"SELECT pg_get_userbyid(relowner)::text FROM pg_class WHERE relname IN ('{table}', '{table}_id_seq') ORDER BY relname",
                r => r.GetString(0)));
            // The services' role writes its rows and draws from its sequence.
            Assert.Equal(1, await ExecuteAsync(stores, $"INSERT INTO {table} (note) VALUES ('handed over')"));
        }
        finally
        {
            await using var drop = new Npgsql.NpgsqlCommand($"DROP TABLE public.{table}", asSuperuser);
            await drop.ExecuteNonQueryAsync(ct);
        }
    }

    /// <summary>The migrations step's connection strings, as the AppHost gives them, to run it again from the test.</summary>
    private async Task<IConfiguration> MigrationsConfigurationAsync()
    {
        var ct = TestContext.Current.CancellationToken;
        return new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            [$"ConnectionStrings:{ResourceNames.Postgres}"] = await pinglass.App.GetConnectionStringAsync(ResourceNames.Postgres, ct),
            [$"ConnectionStrings:{ResourceNames.DatabaseOwner}"] = await pinglass.App.GetConnectionStringAsync(ResourceNames.DatabaseOwner, ct),
            [$"ConnectionStrings:{ResourceNames.Database}"] = await pinglass.App.GetConnectionStringAsync(ResourceNames.Database, ct),
            [$"ConnectionStrings:{ResourceNames.Blobs}"] = await pinglass.App.GetConnectionStringAsync(ResourceNames.Blobs, ct),
        }).Build();
    }

    [Theory]
    [InlineData("postgres")]
    [InlineData("template1")]
    public async Task The_services_role_cannot_connect_to_the_servers_other_databases(string database)
    {
        var other = new Npgsql.NpgsqlConnectionStringBuilder(await pinglass.App.GetConnectionStringAsync(ResourceNames.Database,
            TestContext.Current.CancellationToken)) { Database = database, Pooling = false };
        await using var connection = new Npgsql.NpgsqlConnection(other.ConnectionString);
        var refused = await Assert.ThrowsAsync<Npgsql.PostgresException>(() => connection.OpenAsync(TestContext.Current.CancellationToken));
        Assert.Equal("42501", refused.SqlState);
    }

    private static async Task<int> ExecuteAsync(Stores stores, string sql)
    {
        await using var command = stores.Database.CreateCommand(sql);
        return await command.ExecuteNonQueryAsync(TestContext.Current.CancellationToken);
    }
}
