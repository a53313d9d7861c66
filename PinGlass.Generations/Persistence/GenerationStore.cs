using Npgsql;
using PinGlass.Generations.ClientWebhooks;
using PinGlass.Generations.Clients;
using PinGlass.Generations.Experiments;
using PinGlass.Generations.Quotas;

namespace PinGlass.Generations.Persistence;

/// <summary>
/// The <c>generation_jobs</c> rows: a generation's settings, counters, budget and life (queued → running → ended). Every change is a
/// guarded UPDATE naming the state it leaves, so a repeated job changes nothing; changes a client sees bump the version.
/// </summary>
public sealed class GenerationStore(NpgsqlDataSource database, GenerationVersions versions)
{
    /// <summary>
    /// A new generation and its pending portraits, in one transaction; with <paramref name="quota"/>, only if it fits its owner's limits,
    /// checked in that transaction under the client's lock. Null when it was written; otherwise the limit it would pass.
    /// </summary>
    public async Task<QuotaExceeded?> CreateAsync(NewGeneration generation, QuotaGuard? quota, CancellationToken cancellationToken)
    {
        QuotaExceeded? exceeded = null;
        await GenerationVersions.InTransactionAsync(database, async (connection, transaction) =>
        {
            if (quota is not null && generation.Owner is { } owner
                && (exceeded = await quota.CheckAsync(connection, transaction, owner, generation.Budget, null, cancellationToken)) is not null)
            {
                return false;
            }

            await connection.Command("""
                INSERT INTO generation_jobs (id, total_portraits, budget_usd, estimated_cost, styles, batch_size, batch_delay_ms, options, photos,
                                             reference_photos, reference_centroid, deadline_at, client_id, user_id, callback_url,
                                             experiment_key, arm, primary_model, multi_reference)
                VALUES (@id, @total, @budget, @estimate, @styles, @batchSize, @batchDelayMs, @options::jsonb, @photos::jsonb, @references::jsonb,
                        @centroid, @deadline, @clientId::uuid, @userId::text, @callbackUrl::text,
                        @experiment::text, @arm::text, @primaryModel::text, @multiReference::boolean)
                """, new
            {
                id = generation.Id,
                total = generation.Styles.Count,
                budget = generation.Budget,
                estimate = generation.EstimatedCost,
                styles = generation.Styles.ToArray(),
                batchSize = generation.BatchSize,
                batchDelayMs = generation.BatchDelayMs,
                options = generation.OptionsJson,
                photos = generation.PhotosJson,
                references = generation.ReferencesJson,
                centroid = generation.Centroid,
                deadline = generation.Deadline,
                clientId = generation.Owner?.ClientId,
                userId = generation.Owner?.UserId,
                callbackUrl = generation.CallbackUrl,
                experiment = generation.Arm?.Experiment,
                arm = generation.Arm?.Arm,
                primaryModel = generation.Arm?.Settings.Provider,
                multiReference = generation.Arm?.Settings.MultiReference,
            }, transaction).ExecuteAsync(cancellationToken);
            if (generation.CallbackUrl is not null && generation.Owner is { } client)
            {
                // Its webhooks are signed with its client's secret: there is one before the first is sent.
                await ClientWebhookStore.EnsureSecretAsync(connection, transaction, client.ClientId, cancellationToken);
            }

            await connection.Command("""
                INSERT INTO portraits (generation_id, index, style_id, batch)
                SELECT @id, i - 1, style, (i - 1) / @batchSize FROM unnest(@styles::text[]) WITH ORDINALITY AS s(style, i)
                """, new { id = generation.Id, styles = generation.Styles.ToArray(), batchSize = generation.BatchSize }, transaction)
                .ExecuteAsync(cancellationToken);
            return true;
        }, cancellationToken);
        return exceeded;
    }

    public Task<GenerationRow?> GetAsync(Guid id, CancellationToken cancellationToken = default) =>
        database.Command("SELECT * FROM generation_jobs WHERE id = @id", new { id }).QuerySingleOrDefaultAsync(Read, cancellationToken);

    /// <summary>The generation if it is <paramref name="owner"/>'s; null for one that does not exist or is someone else's, alike.</summary>
    public Task<GenerationRow?> GetAsync(Guid id, Owner owner, CancellationToken cancellationToken) =>
        database.Command("SELECT * FROM generation_jobs WHERE id = @id AND client_id = @clientId AND user_id = @userId",
            new { id, clientId = owner.ClientId, userId = owner.UserId }).QuerySingleOrDefaultAsync(Read, cancellationToken);

    /// <summary>Generations that have not ended.</summary>
    public Task<List<Guid>> UnfinishedAsync(CancellationToken cancellationToken = default) =>
        database.Command("SELECT id FROM generation_jobs WHERE completed_at IS NULL ORDER BY created_at").QueryAsync(r => r.Get<Guid>("id"), cancellationToken);

    /// <summary>A queued generation starts running: its plan job has begun.</summary>
    public Task<bool> StartAsync(Guid id, CancellationToken cancellationToken) =>
        versions.ChangeAsync(database, id, "status = @running", "status = @queued", cancellationToken,
            new { running = GenerationStatus.Running, queued = GenerationStatus.Queued });

    /// <summary>Whether the generation's whole job chain has been queued (by a plan job that ran to its end).</summary>
    public async Task<bool> IsPlannedAsync(Guid id, CancellationToken cancellationToken) =>
        await database.Command("SELECT planned_at IS NOT NULL AS planned FROM generation_jobs WHERE id = @id", new { id })
            .QuerySingleOrDefaultAsync(r => r.Get<bool>("planned"), cancellationToken);

    public Task MarkPlannedAsync(Guid id, CancellationToken cancellationToken) =>
        database.Command("UPDATE generation_jobs SET planned_at = now() WHERE id = @id AND planned_at IS NULL", new { id }).ExecuteAsync(cancellationToken);

    public Task SetCurrentBatchAsync(Guid id, int batch, CancellationToken cancellationToken) =>
        versions.ChangeAsync(database, id, "current_batch = @batch", "completed_at IS NULL AND current_batch < @batch", cancellationToken, new { batch });

    /// <summary>Asks a running generation to stop; false when it had ended or was already asked.</summary>
    public Task<bool> RequestCancelAsync(Guid id, CancellationToken cancellationToken) =>
        versions.ChangeAsync(database, id, "cancel_requested_at = now()", "completed_at IS NULL AND cancel_requested_at IS NULL", cancellationToken);

    /// <summary>
    /// Stops a running generation because Replicate refused the account (<paramref name="category"/>: authentication or billing): no
    /// portrait creates again, the finalizer ends them with this reason. False when it had ended or was already stopped.
    /// </summary>
    public Task<bool> StopAsync(Guid id, string category, string error, CancellationToken cancellationToken) =>
        versions.ChangeAsync(database, id, "stop_category = @category, stop_error = @error",
            "completed_at IS NULL AND cancel_requested_at IS NULL AND stop_category IS NULL", cancellationToken, new { category, error });

    /// <summary>Ends the generation with <paramref name="status"/> once, and writes its cost row.</summary>
    public async Task<bool> FinishAsync(Guid id, GenerationStatus status, string? error, CancellationToken cancellationToken)
    {
        var finished = await versions.ChangeAsync(database, id, "status = @status, error = @error, completed_at = now()", "completed_at IS NULL",
            cancellationToken, new { status, error });
        await RefreshCostsAsync(id, cancellationToken);
        return finished;
    }

    /// <summary>
    /// The design's <c>generation_costs</c> row of an ended generation, from its predictions; written again when a prediction cancelled at
    /// the end reports what it ran.
    /// </summary>
    public Task RefreshCostsAsync(Guid id, CancellationToken cancellationToken) =>
        database.Command("""
            INSERT INTO generation_costs (id, job_id, total_cost, image_count, successful_count, failed_count, retried_count, primary_model, fallback_used)
            SELECT gen_random_uuid(), g.id, round(g.spent_usd, 4), g.successful_portraits, g.successful_portraits, g.failed_portraits,
                   (SELECT count(*) FROM predictions p JOIN predictions q
                      ON q.generation_id = p.generation_id AND q.portrait_index = p.portrait_index AND q.attempt = p.attempt - 1
                    WHERE p.generation_id = g.id AND q.status <> 'succeeded'),
                   coalesce((SELECT p.provider FROM predictions p WHERE p.generation_id = g.id ORDER BY p.attempt, p.portrait_index LIMIT 1), ''),
                   g.fallback_used
            FROM generation_jobs g WHERE g.id = @id AND g.completed_at IS NOT NULL
            ON CONFLICT (job_id) DO UPDATE SET total_cost = excluded.total_cost, image_count = excluded.image_count,
                successful_count = excluded.successful_count, failed_count = excluded.failed_count, retried_count = excluded.retried_count,
                fallback_used = excluded.fallback_used
            """, new { id }).ExecuteAsync(cancellationToken);

    internal static GenerationRow Read(NpgsqlDataReader r) => new(
        r.Get<Guid>("id"), r.Status<GenerationStatus>(), r.Get<int>("total_portraits"), r.Get<int>("completed_portraits"),
        r.Get<int>("successful_portraits"), r.Get<int>("failed_portraits"), r.Get<decimal>("budget_usd"), r.Get<decimal>("estimated_cost"),
        r.Get<decimal>("spent_usd"), r.Get<bool>("fallback_used"), r.Get<int>("batch_size"), r.Get<int>("batch_delay_ms"), r.Get<int>("current_batch"),
        r.Get<string>("options"), r.Get<string>("photos"), r.Get<string>("reference_photos"), r.Get<DateTimeOffset>("created_at"),
        r.Get<DateTimeOffset>("updated_at"), r.Get<DateTimeOffset>("deadline_at"), r.Maybe<DateTimeOffset>("completed_at"),
        r.Maybe<DateTimeOffset>("cancel_requested_at"), r.Get<long>("version"), r.Text("error"),
        r.IsDBNull(r.GetOrdinal("reference_centroid")) ? [] : r.Get<float[]>("reference_centroid"), r.Get<decimal>("reserved_usd"),
        r.Text("stop_category"), r.Text("stop_error"), r.Maybe<DateTimeOffset>("faces_deleted_at"),
        r.Maybe<DateTimeOffset>("erased_at"), r.Maybe<Guid>("client_id"), r.Text("user_id"), r.Text("callback_url"),
        r.Text("experiment_key"), r.Text("arm"), r.Text("primary_model"), r.Maybe<bool>("multi_reference"),
        r.Get<int>("runs"));
}
