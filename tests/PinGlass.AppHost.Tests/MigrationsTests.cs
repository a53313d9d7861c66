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
            """
            SELECT ccu.table_name FROM information_schema.table_constraints tc
            JOIN information_schema.constraint_column_usage ccu ON ccu.constraint_name = tc.constraint_name
            WHERE tc.table_name = 'generation_costs' AND tc.constraint_type = 'FOREIGN KEY'
            """,
            r => r.GetString(0));
        Assert.Equal(["generation_jobs"], foreignKey);

        var indexes = await stores.QueryAsync("SELECT indexdef FROM pg_indexes WHERE tablename = 'generation_costs'", r => r.GetString(0));
        Assert.Contains(indexes, d => d.EndsWith("(created_at)", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Running_the_migrations_again_changes_nothing()
    {
        var ct = TestContext.Current.CancellationToken;
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            [$"ConnectionStrings:{ResourceNames.Database}"] = await pinglass.App.GetConnectionStringAsync(ResourceNames.Database, ct),
            [$"ConnectionStrings:{ResourceNames.Blobs}"] = await pinglass.App.GetConnectionStringAsync(ResourceNames.Blobs, ct),
        }).Build();
        await using var stores = await Stores.ConnectAsync(pinglass.App);
        var before = await stores.QueryAsync($"SELECT count(*) FROM {Migrator.JournalTable}", r => r.GetInt64(0));

        var applied = await new Migrator(NullLogger<Migrator>.Instance).MigrateAsync(configuration, ct);

        Assert.Equal(0, applied);
        Assert.Equal(before, await stores.QueryAsync($"SELECT count(*) FROM {Migrator.JournalTable}", r => r.GetInt64(0)));
    }
}
