using System.Net.Http.Json;
using System.Text.Json;
using Hangfire;
using Hangfire.PostgreSql;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;
using PinGlass.Platform;
using PinGlass.Platform.Jobs;
using PinGlass.Fixtures;
using PinGlass.Generations;
using PinGlass.Generations.ClientWebhooks;
using PinGlass.Generations.Clients;
using PinGlass.Generations.Persistence;
using PinGlass.Generations.Privacy;
using PinGlass.Generations.Quotas;
using PinGlass.Generations.Progress;
using PinGlass.Replicate.Resilience;
using StackExchange.Redis;

namespace PinGlass.AppHost.Tests;

/// <summary>
/// The three stores against the AppHost's PostgreSQL: rows read back by name, and the guarded changes that make the pipeline's
/// exactly-once behaviour (one claim, one reservation within the budget, one settling, one ending) hold when workers race.
/// </summary>
public sealed class GenerationStoresTests(PinGlassApp pinglass)
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    internal sealed record Stores(GenerationStore Generations, PortraitStore Portraits, PredictionLedger Ledger, GenerationVersions Versions,
        ProgressChannel Channel, ProgressLog Log, NpgsqlDataSource Database, IConnectionMultiplexer Redis) : IAsyncDisposable
    {
        /// <summary>The generations this test wrote.</summary>
        public List<Guid> Made { get; } = [];

        /// <remarks>
        /// They have no photos: left unfinished, the AppHost's reconciliation would try to plan or run them every few seconds until their
        /// deadline, beside the other tests. They end here as cancelled, which it leaves alone.
        /// </remarks>
        public async ValueTask DisposeAsync()
        {
            try
            {
                await using var end = Database.CreateCommand("UPDATE generation_jobs SET status = 'cancelled', completed_at = now() WHERE id = ANY($1) AND completed_at IS NULL");
                end.Parameters.Add(new NpgsqlParameter { Value = Made.ToArray() });
                await end.ExecuteNonQueryAsync(CancellationToken.None);
            }
            finally
            {
                await Database.DisposeAsync();
                await Redis.DisposeAsync();
            }
        }
    }

    internal static async Task<Stores> ConnectAsync(PinGlassApp pinglass)
    {
        var connectionString = (await pinglass.App.GetConnectionStringAsync(ResourceNames.Database, Token))!;
        var database = NpgsqlDataSource.Create(connectionString);
        var redis = await ConnectionMultiplexer.ConnectAsync((await pinglass.App.GetConnectionStringAsync(ResourceNames.Cache, Token))!);
        var options = Options.Create(new PipelineOptions());
        var channel = new ProgressChannel(redis, NullLogger<ProgressChannel>.Instance);
        // Webhook deliveries are queued in the AppHost's own Hangfire storage, as the services queue them.
        var hangfire = HangfireStorageExtensions.StorageOptions(new HangfireStorageSettings());
        var jobs = new BackgroundJobClient(new PostgreSqlStorage(new HangfireStorageExtensions.DataSourceConnectionFactory(database), hangfire));
        var versions = new GenerationVersions(channel, new ClientWebhookOutbox(jobs, NullLogger<ClientWebhookOutbox>.Instance), options, TimeProvider.System);
        var generations = new GenerationStore(database, versions);
        return new Stores(generations, new PortraitStore(database, versions, options), new PredictionLedger(database),
            versions, channel, new ProgressLog(database, generations, options, TimeProvider.System), database, redis);
    }

    /// <summary>A generation of the demo client's test user (<see cref="ApiClients"/>), so the Api serves it to <see cref="GenerationClient"/>.</summary>
    internal static async Task<Guid> NewGenerationAsync(Stores stores, decimal budget = 0.80m, int portraits = 3)
    {
        var id = Guid.NewGuid();
        var demo = (await new ClientStore(stores.Database, TimeProvider.System).AuthenticateAsync(ApiClients.DemoKey, Token))!;
        await stores.Generations.CreateAsync(new NewGeneration(id, [.. Enumerable.Range(0, portraits).Select(i => $"style-{i}")], budget, 0.5m, 2, 0,
            """{"steps":8}""", """[{"name":"a.jpg"}]""", """[{"index":0},{"index":1}]""", [0.5f, -0.25f], DateTimeOffset.UtcNow.AddMinutes(30),
            new Owner(demo.Id, ApiClients.User)), null, Token);
        stores.Made.Add(id);
        return id;
    }

    [Fact]
    public async Task A_generation_and_its_portraits_read_back_by_name()
    {
        await using var stores = await ConnectAsync(pinglass);
        var id = await NewGenerationAsync(stores);

        var generation = (await stores.Generations.GetAsync(id, Token))!;
        var portraits = await stores.Portraits.PortraitsAsync(id, Token);

        Assert.Equal((GenerationStatus.Queued, 3, 0.80m, 2, """{"steps": 8}""", 0m, 0m), (generation.Status, generation.Total, generation.Budget,
            generation.BatchSize, generation.OptionsJson, generation.Spent, generation.Reserved));
        Assert.Equal([0.5f, -0.25f], generation.Centroid);
        Assert.Equal([(0, "style-0", 0, PortraitStatus.Pending), (1, "style-1", 0, PortraitStatus.Pending), (2, "style-2", 1, PortraitStatus.Pending)],
            portraits.Select(p => (p.Index, p.StyleId, p.Batch, p.Status)));
        Assert.True(await stores.Generations.StartAsync(id, Token));
        Assert.False(await stores.Generations.StartAsync(id, Token));
        Assert.Equal(GenerationStatus.Running, (await stores.Generations.GetAsync(id, Token))!.Status);
    }

    [Fact]
    public async Task Racing_workers_claim_a_portrait_once_and_reserve_only_what_the_budget_holds()
    {
        await using var stores = await ConnectAsync(pinglass);
        var id = await NewGenerationAsync(stores, budget: 0.05m);

        var claims = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => stores.Portraits.ClaimAsync(id, 0, Token)));
        Assert.Single(claims, claimed => claimed);
        await stores.Portraits.ClaimAsync(id, 1, Token);

        // Two portraits' worst cases of $0.0336 each: the budget of $0.05 holds one of them.
        var begun = await Task.WhenAll(
            stores.Ledger.BeginAsync(id, 0, 1, "flux-pulid", "bytedance/flux-pulid", 0, 0.0336m, Token),
            stores.Ledger.BeginAsync(id, 1, 1, "flux-pulid", "bytedance/flux-pulid", 1, 0.0336m, Token));
        Assert.Single(begun, b => b.Row is not null);
        Assert.Equal(0.0336m, (await stores.Generations.GetAsync(id, Token))!.Reserved);

        // The same attempt begun again is found, not recorded (or reserved) twice.
        var index = begun.Single(b => b.Row is not null).Row!.PortraitIndex;
        var again = await stores.Ledger.BeginAsync(id, index, 1, "flux-pulid", "bytedance/flux-pulid", 0, 0.0336m, Token);
        Assert.Equal((false, PredictionState.Creating), (again.Inserted, again.Row!.Status));
        Assert.Equal(0.0336m, (await stores.Generations.GetAsync(id, Token))!.Reserved);
    }

    [Fact]
    public async Task A_prediction_is_settled_once_its_cost_counted_once_and_its_reservation_released()
    {
        await using var stores = await ConnectAsync(pinglass);
        var (id, row) = await RecordedAsync(stores);
        Assert.NotNull(await stores.Ledger.ClaimCreateAsync(row.Marker, TimeSpan.FromMinutes(5), Token));
        Assert.Null(await stores.Ledger.ClaimCreateAsync(row.Marker, TimeSpan.FromMinutes(5), Token));
        var predictionId = $"p-{Guid.NewGuid():N}";
        await stores.Ledger.RecordCreatedAsync(row.Marker, predictionId, "starting", null, 0, Token);

        var settled = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => stores.Ledger.SettleAsync(row, PredictionState.Cancelled, 3.5, 0.0049m,
            "model_error", "stopped", null, null, null, Token)));

        Assert.Single(settled, s => s);
        var generation = (await stores.Generations.GetAsync(id, Token))!;
        Assert.Equal((0.0049m, 0m), (generation.Spent, generation.Reserved));
        Assert.Equal(0.0049m, (await stores.Portraits.PortraitAsync(id, 0, Token))!.Cost);
        var stored = (await stores.Ledger.ByIdAsync(predictionId, Token))!;
        Assert.Equal((PredictionState.Cancelled, 0m, "model_error"), (stored.Status, stored.Reserved, stored.ErrorCategory));
        // One spelling in the schema: Replicate's "canceled" is stored as "cancelled".
        Assert.Equal("cancelled", await ScalarAsync(stores, $"SELECT status FROM predictions WHERE prediction_id = '{predictionId}'"));
    }

    [Fact]
    public async Task A_create_lease_another_worker_took_over_cannot_be_renewed_by_the_one_that_lost_it()
    {
        await using var stores = await ConnectAsync(pinglass);
        var (_, row) = await RecordedAsync(stores);
        var lease = TimeSpan.FromMinutes(5);
        var first = await stores.Ledger.ClaimCreateAsync(row.Marker, lease, Token);
        Assert.NotNull(first);
        Assert.Null(await stores.Ledger.ClaimCreateAsync(row.Marker, lease, Token));

        // The worker waits (a long throttle) until its lease has passed: renewed to end now, then looked at once it has.
        var ending = await stores.Ledger.RenewCreateAsync(row.Marker, first.Value, TimeSpan.Zero, Token);
        Assert.NotNull(ending);
        await Task.Delay(50, Token);
        // Past its end but taken by nobody, it is still the worker's to renew; a token it no longer holds renews nothing.
        var renewed = await stores.Ledger.RenewCreateAsync(row.Marker, ending.Value, TimeSpan.Zero, Token);
        Assert.NotNull(renewed);
        Assert.Null(await stores.Ledger.RenewCreateAsync(row.Marker, first.Value, lease, Token));

        // Another worker takes the create over: the first cannot renew, so it sends nothing; the second can.
        await Task.Delay(50, Token);
        var second = await stores.Ledger.ClaimCreateAsync(row.Marker, lease, Token);
        Assert.NotNull(second);
        Assert.True(second > renewed);
        Assert.Null(await stores.Ledger.RenewCreateAsync(row.Marker, renewed.Value, lease, Token));
        Assert.NotNull(await stores.Ledger.RenewCreateAsync(row.Marker, second.Value, lease, Token));
    }

    [Fact]
    public async Task One_worker_at_a_time_takes_in_a_predictions_end_until_it_settles_it_or_gives_it_back()
    {
        await using var stores = await ConnectAsync(pinglass);
        var (id, row) = await RecordedAsync(stores);
        await stores.Ledger.ClaimCreateAsync(row.Marker, TimeSpan.FromMinutes(5), Token);
        await stores.Ledger.RecordCreatedAsync(row.Marker, $"p-{Guid.NewGuid():N}", "processing", null, 0, Token);

        // A webhook and a poll at once: one takes it in.
        var created = (await stores.Ledger.PredictionsAsync(id, Token)).Single();
        var claims = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => stores.Ledger.ClaimTakeInAsync(row.Marker, TimeSpan.FromMinutes(5), Token)));
        Assert.Single(claims, c => c);
        // Taking it in is news of it: the watcher does not poll it again while it is taken in.
        Assert.True((await stores.Ledger.PredictionsAsync(id, Token)).Single().LastCheckedAt > created.LastCheckedAt);

        // Given back (the worker stopped half-way): the next one takes it at once.
        await stores.Ledger.ReleaseTakeInAsync(row.Marker, Token);
        Assert.True(await stores.Ledger.ClaimTakeInAsync(row.Marker, TimeSpan.FromMinutes(5), Token));

        // Never given back (the worker was killed): taken again once the lease has run out.
        Assert.False(await stores.Ledger.ClaimTakeInAsync(row.Marker, TimeSpan.FromMinutes(5), Token));
        await ScalarAsync(stores, $"UPDATE predictions SET take_in_until = now() - interval '1 second' WHERE marker = '{row.Marker}'");
        Assert.True(await stores.Ledger.ClaimTakeInAsync(row.Marker, TimeSpan.FromMinutes(5), Token));

        // Still open after its generation ended (the worker taking it in was killed after the finalizer passed): it is found.
        await stores.Generations.FinishAsync(id, GenerationStatus.Failed, "ended", Token);
        Assert.Contains(await stores.Ledger.OpenAfterEndAsync(Token), p => p.Marker == row.Marker);

        // Settled: nobody takes it in again.
        Assert.True(await stores.Ledger.SettleAsync(row, PredictionState.Succeeded, 9.5, 0.02m, null, null, null, null, null, Token));
        Assert.False(await stores.Ledger.ClaimTakeInAsync(row.Marker, TimeSpan.FromMinutes(5), Token));
        Assert.DoesNotContain(await stores.Ledger.OpenAfterEndAsync(Token), p => p.Marker == row.Marker);
    }

    [Fact]
    public async Task Progress_is_published_and_logged_after_its_change_commits_and_a_change_rolled_back_is_neither()
    {
        await using var stores = await ConnectAsync(pinglass);
        var id = await NewGenerationAsync(stores);
        await using var subscription = (await stores.Channel.SubscribeAsync(id))!;

        // A change that bumped the version and then failed (a connection lost, a process killed between two statements): rolled back.
        await Assert.ThrowsAsync<InvalidOperationException>(() => stores.Versions.CommitAsync(stores.Database, async (connection, transaction) =>
        {
            await stores.Versions.BumpAsync(connection, transaction, id, "current_batch = 7", null, null, Token);
            throw new InvalidOperationException("lost between two statements");
        }, Token));
        Assert.True(await stores.Generations.StartAsync(id, Token));

        // The first event followers see is the committed change, with the version the database gave it, not the one rolled back.
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(Token);
        wait.CancelAfter(TimeSpan.FromSeconds(30));
        var first = await subscription.Events.ReadAsync(wait.Token);
        var committed = (await stores.Generations.GetAsync(id, Token))!;
        Assert.Equal((committed.Version, "running", 0), (first.Version, first.Status, first.CurrentBatch));

        // The log a follower catches up from holds the committed changes, each with its portrait, and not the one rolled back.
        Assert.True(await stores.Portraits.ClaimAsync(id, 1, Token));
        var logged = await stores.Log.SinceAsync(id, -1, Token);
        Assert.Equal([(committed.Version, "running", 0, (PortraitChange?)null), (committed.Version + 1, "running", 0, new PortraitChange(1, "running"))],
            logged!.Select(p => (p.Version, p.Status, p.CurrentBatch, p.Portrait)));
        Assert.Equal([committed.Version + 1], (await stores.Log.SinceAsync(id, committed.Version, Token))!.Select(p => p.Version));
    }

    [Fact]
    public async Task Attempts_recorded_but_never_sent_when_the_generation_stops_release_their_reservations()
    {
        await using var stores = await ConnectAsync(pinglass);
        var id = await NewGenerationAsync(stores);
        await stores.Portraits.ClaimAsync(id, 0, Token);
        await stores.Portraits.ClaimAsync(id, 1, Token);
        var unsent = (await stores.Ledger.BeginAsync(id, 0, 1, "flux-pulid", "bytedance/flux-pulid", 0, 0.0336m, Token)).Row!;
        var sending = (await stores.Ledger.BeginAsync(id, 1, 1, "flux-kontext-pro", "black-forest-labs/flux-kontext-pro", 1, 0.04m, Token)).Row!;
        Assert.NotNull(await stores.Ledger.ClaimCreateAsync(sending.Marker, TimeSpan.FromMinutes(5), Token));

        Assert.True(await stores.Ledger.AbandonUnsentAsync(id, "cancelled", "stopped before it was sent", Token));
        Assert.False(await stores.Ledger.AbandonUnsentAsync(id, "cancelled", "again", Token));

        // The one no sender held ends not created; the one a sender holds stays, with its reservation, for that sender to finish.
        var rows = await stores.Ledger.PredictionsAsync(id, Token);
        Assert.Equal([(0, PredictionState.NotCreated, 0m, "cancelled"), (1, PredictionState.Creating, 0.04m, (string?)null)],
            rows.Select(r => (r.PortraitIndex, r.Status, r.Reserved, r.ErrorCategory)));
        Assert.Equal((0.04m, 0m), ((await stores.Generations.GetAsync(id, Token))!.Reserved, (await stores.Generations.GetAsync(id, Token))!.Spent));
        Assert.Equal(unsent.Marker, rows[0].Marker);
    }

    [Fact]
    public async Task A_portrait_ends_once_whichever_ending_comes_first()
    {
        await using var stores = await ConnectAsync(pinglass);
        var id = await NewGenerationAsync(stores);
        await stores.Portraits.ClaimAsync(id, 0, Token);
        var row = (await stores.Ledger.BeginAsync(id, 0, 1, "flux-pulid", "bytedance/flux-pulid", 0, 0.0336m, Token)).Row!
            with { BlobName = "b.png", ContentType = "image/png" };

        var ended = await Task.WhenAll(
            stores.Portraits.SucceedAsync(row, 1200, 0, false, null, Token),
            stores.Portraits.FailAsync(id, 0, 1, PortraitStatus.Failed, "model_error", "x", Token),
            stores.Portraits.SucceedAsync(row, 1200, 0, false, null, Token),
            stores.Portraits.FailAsync(id, 0, null, PortraitStatus.Failed, "deadline", "y", Token));

        Assert.Single(ended, e => e);
        var generation = (await stores.Generations.GetAsync(id, Token))!;
        Assert.Equal((1, 1), (generation.Completed, generation.Successful + generation.Failed));
        Assert.False(await stores.Portraits.AdvanceAttemptAsync(id, 0, 1, Token));
    }

    [Fact]
    public async Task A_retry_on_request_reopens_an_ended_portrait_once_and_not_past_the_users_running_limit()
    {
        await using var stores = await ConnectAsync(pinglass);
        var id = await NewGenerationAsync(stores, portraits: 1);
        await stores.Portraits.ClaimAsync(id, 0, Token);
        await stores.Portraits.FailAsync(id, 0, 1, PortraitStatus.Failed, "model_error", "x", Token);
        Assert.False((await stores.Portraits.ReopenAsync(id, 0, null, Token)).Reopened); // the generation has not ended
        await stores.Generations.FinishAsync(id, GenerationStatus.Failed, "none made", Token);

        // Another of the same user's generations is running: with one at a time allowed, running this one again is refused, unchanged.
        await NewGenerationAsync(stores);
        var oneAtATime = new QuotaGuard(stores.Database, Options.Create(new QuotaOptions { GenerationsPerUser = 1 }), TimeProvider.System);
        var (open, exceeded) = await stores.Portraits.ReopenAsync(id, 0, oneAtATime, Token);
        Assert.Equal((false, Quota.GenerationsPerUser), (open, exceeded?.Limit));
        Assert.Equal((GenerationStatus.Failed, PortraitStatus.Failed),
            ((await stores.Generations.GetAsync(id, Token))!.Status, (await stores.Portraits.PortraitAsync(id, 0, Token))!.Status));

        var reopened = await Task.WhenAll(stores.Portraits.ReopenAsync(id, 0, null, Token), stores.Portraits.ReopenAsync(id, 0, null, Token));

        Assert.Single(reopened, r => r.Reopened);
        var (generation, portrait) = ((await stores.Generations.GetAsync(id, Token))!, (await stores.Portraits.PortraitAsync(id, 0, Token))!);
        Assert.Equal((GenerationStatus.Running, 0, 0, null), (generation.Status, generation.Completed, generation.Failed, generation.CompletedAt));
        Assert.Equal((PortraitStatus.Pending, 2, null), (portrait.Status, portrait.ChainStart, portrait.ErrorCategory));
    }

    [Fact]
    public async Task Concurrent_creates_for_one_user_pass_the_running_limit_once()
    {
        await using var stores = await ConnectAsync(pinglass);
        var client = await NewClientAsync(stores);
        var oneAtATime = new QuotaGuard(stores.Database, Options.Create(new QuotaOptions { GenerationsPerUser = 1 }), TimeProvider.System);

        var results = await Task.WhenAll(Enumerable.Range(0, 10).Select(_ => Task.Run(() =>
            stores.Generations.CreateAsync(OwnedGeneration(Guid.NewGuid(), new Owner(client, "racer"), 0.10m), oneAtATime, Token))));

        Assert.Single(results, r => r is null);
        Assert.All(results.OfType<QuotaExceeded>(), r => Assert.Equal(Quota.GenerationsPerUser, r.Limit));
        await using var count = stores.Database.CreateCommand($"SELECT count(*) FROM generation_jobs WHERE client_id = '{client}'");
        Assert.Equal(1L, await count.ExecuteScalarAsync(Token));
    }

    [Fact]
    public async Task The_daily_cap_counts_what_ended_generations_cost_and_running_ones_whole_budgets_whatever_their_day()
    {
        await using var stores = await ConnectAsync(pinglass);
        var client = await NewClientAsync(stores);
        var owner = new Owner(client, "spender");
        var guard = new QuotaGuard(stores.Database, Options.Create(new QuotaOptions { GenerationsPerUser = 100, DailySpendCap = 1.50m }), TimeProvider.System);
        var id = Guid.NewGuid();
        Assert.Null(await stores.Generations.CreateAsync(OwnedGeneration(id, owner, 1.00m), guard, Token));

        // Running: its whole budget is held.
        Assert.Null(await guard.CheckAsync(owner, 0.50m, Token));
        Assert.Equal(Quota.DailySpendCap, (await guard.CheckAsync(owner, 0.51m, Token))?.Limit);
        // Ended, $0.30 spent and $0.10 still reserved (a cancelled prediction yet to report its cost): $0.40 is counted.
        await Execute(stores, "UPDATE generation_jobs SET completed_at = now(), status = 'failed', spent_usd = 0.30, reserved_usd = 0.10 WHERE id = @id", id);
        Assert.Null(await guard.CheckAsync(owner, 1.10m, Token));
        Assert.Equal(Quota.DailySpendCap, (await guard.CheckAsync(owner, 1.11m, Token))?.Limit);
        // Started yesterday and ended: today's cap does not count it; still running, it does.
        await Execute(stores, "UPDATE generation_jobs SET opened_at = now() - interval '1 day' WHERE id = @id", id);
        Assert.Null(await guard.CheckAsync(owner, 1.50m, Token));
        await Execute(stores, "UPDATE generation_jobs SET completed_at = NULL, status = 'running' WHERE id = @id", id);
        Assert.Equal(Quota.DailySpendCap, (await guard.CheckAsync(owner, 0.51m, Token))?.Limit);

        // Ended today again ($0.40) and run again on request under a $1.20 cap: its $1.00 budget fits, as it is not counted twice.
        await Execute(stores, """
            UPDATE generation_jobs SET completed_at = now(), status = 'failed', opened_at = now(), completed_portraits = 1, failed_portraits = 1
            WHERE id = @id
            """, id);
        await Execute(stores, "UPDATE portraits SET status = 'failed', completed_at = now() WHERE generation_id = @id AND index = 0", id);
        var tighter = new QuotaGuard(stores.Database, Options.Create(new QuotaOptions { GenerationsPerUser = 100, DailySpendCap = 1.20m }), TimeProvider.System);
        Assert.Equal((true, (QuotaExceeded?)null), await stores.Portraits.ReopenAsync(id, 0, tighter, Token));
        // Running again, it holds its whole budget.
        Assert.Equal(Quota.DailySpendCap, (await tighter.CheckAsync(owner, 0.21m, Token))?.Limit);
    }

    [Fact]
    public async Task The_retention_job_deletes_an_erased_generations_files_once_nothing_can_write_one_and_again_at_the_second_pass_whatever_its_state()
    {
        await using var stores = await ConnectAsync(pinglass);
        var privacy = new PrivacyStore(stores.Database);
        var owner = new Owner(await NewClientAsync(stores), "erased-user");
        var (ended, stuck) = (Guid.NewGuid(), Guid.NewGuid());
        foreach (var id in new[] { ended, stuck })
        {
            Assert.Null(await stores.Generations.CreateAsync(OwnedGeneration(id, owner, 0.50m), null, Token));
            stores.Made.Add(id);
            await stores.Portraits.ClaimAsync(id, 0, Token);
            var row = (await stores.Ledger.BeginAsync(id, 0, 1, "flux-pulid", "bytedance/flux-pulid", 0, 0.0336m, Token)).Row!;
            // Its sender is alive and holds its create: nothing closes the attempt behind the test's back (the AppHost's sweeper ends
            // an erased generation, and closes the attempts no sender holds).
            Assert.NotNull(await stores.Ledger.ClaimCreateAsync(row.Marker, TimeSpan.FromMinutes(10), Token));
        }

        // Both erased while running, each with a prediction open (it may still write an output): no files are due yet.
        var erased = await privacy.EraseAsync(owner, null, Token);
        Assert.Equal(new[] { (ended, true), (stuck, true) }.Order(), erased.Select(e => (e.Id, e.Running)).Order());
        Assert.Empty(await privacy.FilesDueAsync(ended, TimeSpan.FromMinutes(15), Token));
        Assert.Empty(await privacy.FilesDueAsync(stuck, TimeSpan.FromMinutes(15), Token));

        // One ends with nothing open: the AppHost's retention job deletes its files, and keeps it pending for the second pass.
        await Execute(stores, "UPDATE predictions SET status = 'not_created', reserved_usd = 0 WHERE generation_id = @id", ended);
        await Execute(stores, "UPDATE generation_jobs SET reserved_usd = 0 WHERE id = @id", ended);
        await stores.Generations.FinishAsync(ended, GenerationStatus.Cancelled, null, Token); // unless the sweeper ended it first
        var first = await Poll.UntilAsync(() => FilesStateAsync(stores, ended), f => f.DeletedAt is not null, TimeSpan.FromMinutes(2));
        Assert.Equal((first.ErasedAt, true), (first.DeletedAt, first.Pending));
        Assert.Null((await FilesStateAsync(stores, stuck)).DeletedAt);

        // Past the second pass (an hour later here; 15 minutes in the AppHost) both are done: the ended one a second time, the stuck
        // one (its prediction still open) at last.
        foreach (var id in new[] { ended, stuck })
        {
            await Execute(stores, """
                UPDATE generation_jobs SET erased_at = erased_at - interval '1 hour', files_deleted_at = files_deleted_at - interval '1 hour'
                WHERE id = @id
                """, id);
        }

        foreach (var id in new[] { ended, stuck })
        {
            var done = await Poll.UntilAsync(() => FilesStateAsync(stores, id), f => !f.Pending, TimeSpan.FromMinutes(2));
            Assert.Equal((false, done.ErasedAt + TimeSpan.FromMinutes(15)), (done.Pending, done.DeletedAt));
        }

        // Nothing of the user is left on the rows, and a second erasure finds nothing.
        Assert.Equal(0L, await ScalarAsync(stores, $"SELECT count(*) FROM generation_jobs WHERE user_id = 'erased-user' AND client_id = '{owner.ClientId}'"));
        Assert.Empty(await privacy.EraseAsync(owner, null, Token));
    }

    private static async Task<(DateTimeOffset? ErasedAt, DateTimeOffset? DeletedAt, bool Pending)> FilesStateAsync(Stores stores, Guid id)
    {
        await using var command = stores.Database.CreateCommand($"SELECT erased_at, files_deleted_at, files_pending FROM generation_jobs WHERE id = '{id}'");
        await using var reader = await command.ExecuteReaderAsync(Token);
        Assert.True(await reader.ReadAsync(Token));
        return (reader.IsDBNull(0) ? null : reader.GetFieldValue<DateTimeOffset>(0), reader.IsDBNull(1) ? null : reader.GetFieldValue<DateTimeOffset>(1),
            reader.GetBoolean(2));
    }

    private static async Task<Guid> NewClientAsync(Stores stores)
    {
        var clients = new ClientStore(stores.Database, TimeProvider.System);
        var (_, key) = await clients.CreateKeyAsync($"quota-store-test-{Guid.NewGuid():N}", operatorClient: false, Token);
        return (await clients.AuthenticateAsync(key, Token))!.Id;
    }

    internal static NewGeneration OwnedGeneration(Guid id, Owner owner, decimal budget) =>
        new(id, ["style-0"], budget, 0.05m, 1, 0, "{}", "[]", "[]", [0.5f], DateTimeOffset.UtcNow.AddMinutes(30), owner);

    private static async Task Execute(Stores stores, string sql, Guid id)
    {
        await using var command = stores.Database.CreateCommand(sql.Replace("@id", $"'{id}'", StringComparison.Ordinal));
        await command.ExecuteNonQueryAsync(Token);
    }

    /// <summary>A generation whose first portrait's first attempt is recorded for flux-pulid, its worst case reserved.</summary>
    private static async Task<(Guid Id, PredictionRow Row)> RecordedAsync(Stores stores)
    {
        var id = await NewGenerationAsync(stores);
        await stores.Portraits.ClaimAsync(id, 0, Token);
        return (id, (await stores.Ledger.BeginAsync(id, 0, 1, "flux-pulid", "bytedance/flux-pulid", 0, 0.0336m, Token)).Row!);
    }

    private static async Task<object?> ScalarAsync(Stores stores, string sql)
    {
        await using var command = stores.Database.CreateCommand(sql);
        return await command.ExecuteScalarAsync(Token);
    }
}
