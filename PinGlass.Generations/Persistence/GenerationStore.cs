using Microsoft.Extensions.Options;
using Npgsql;
using NpgsqlTypes;
using PinGlass.Generations.Progress;

namespace PinGlass.Generations.Persistence;

/// <summary>
/// Generations, portraits and predictions in PostgreSQL. Every state change is a guarded UPDATE (it names the state it leaves), so a
/// repeated job, a duplicate webhook or a late poll finds nothing to change and changes nothing: no portrait is stored or counted
/// twice, no cost is added twice. Changes a client can see bump the generation's version and are published in the same transaction.
/// </summary>
public sealed class GenerationStore(NpgsqlDataSource database, ProgressChannel progress, IOptions<PipelineOptions> options, TimeProvider time)
{
    private const string GenerationColumns = """
        id, status, total_portraits, completed_portraits, successful_portraits, failed_portraits, budget_usd, estimated_cost, spent_usd,
        fallback_used, batch_size, batch_delay_ms, current_batch, options::text, photos::text, reference_photos::text, created_at, updated_at,
        deadline_at, completed_at, cancel_requested_at, version, error, coalesce(reference_centroid, '{}'), reserved_usd
        """;

    private const string PortraitColumns = """
        generation_id, index, style_id, batch, status, attempt, chain_start, provider, model, cost_usd, latency_ms, retries, error_category,
        error, blob_name, content_type, started_at, completed_at, regenerations, reference_index, id_weight, identity_distance, identity_reason,
        identity_flagged
        """;

    private const string PredictionColumns = """
        generation_id, portrait_index, attempt, marker, provider, model, reference_index, prediction_id, status, cost_usd, error_category,
        error, created_at, submitted_at, last_checked_at, blob_name, content_type, identity_decision, identity_reason, identity_distance,
        next_reference_index, next_id_weight, reserved_usd
        """;

    public async Task CreateAsync(NewGeneration generation, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var insert = new NpgsqlCommand("""
            INSERT INTO generation_jobs (id, total_portraits, budget_usd, estimated_cost, styles, batch_size, batch_delay_ms, options, photos,
                                         reference_photos, reference_centroid, deadline_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9::jsonb, $10::jsonb, $11, $12)
            """, connection, transaction))
        {
            insert.Parameters.Add(new() { Value = generation.Id });
            insert.Parameters.Add(new() { Value = generation.Styles.Count });
            insert.Parameters.Add(new() { Value = generation.Budget });
            insert.Parameters.Add(new() { Value = generation.EstimatedCost });
            insert.Parameters.Add(new() { Value = generation.Styles.ToArray() });
            insert.Parameters.Add(new() { Value = generation.BatchSize });
            insert.Parameters.Add(new() { Value = generation.BatchDelayMs });
            insert.Parameters.Add(new() { Value = generation.OptionsJson });
            insert.Parameters.Add(new() { Value = generation.PhotosJson });
            insert.Parameters.Add(new() { Value = generation.ReferencesJson });
            insert.Parameters.Add(new() { Value = generation.Centroid });
            insert.Parameters.Add(new() { Value = generation.Deadline.UtcDateTime });
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }

        await using (var portraits = new NpgsqlCommand("""
            INSERT INTO portraits (generation_id, index, style_id, batch)
            SELECT $1, i - 1, style, (i - 1) / $3 FROM unnest($2::text[]) WITH ORDINALITY AS s(style, i)
            """, connection, transaction))
        {
            portraits.Parameters.Add(new() { Value = generation.Id });
            portraits.Parameters.Add(new() { Value = generation.Styles.ToArray() });
            portraits.Parameters.Add(new() { Value = generation.BatchSize });
            await portraits.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
    }

    public async Task<GenerationRow?> GetAsync(Guid id, CancellationToken cancellationToken = default) =>
        (await QueryAsync($"SELECT {GenerationColumns} FROM generation_jobs WHERE id = $1", ReadGeneration, cancellationToken, id)).SingleOrDefault();

    public Task<List<PortraitRow>> PortraitsAsync(Guid id, CancellationToken cancellationToken = default) =>
        QueryAsync($"SELECT {PortraitColumns} FROM portraits WHERE generation_id = $1 ORDER BY index", ReadPortrait, cancellationToken, id);

    public async Task<PortraitRow?> PortraitAsync(Guid id, int index, CancellationToken cancellationToken = default) =>
        (await QueryAsync($"SELECT {PortraitColumns} FROM portraits WHERE generation_id = $1 AND index = $2", ReadPortrait, cancellationToken, id, index))
        .SingleOrDefault();

    public Task<List<PredictionRow>> PredictionsAsync(Guid id, CancellationToken cancellationToken = default) =>
        QueryAsync($"SELECT {PredictionColumns} FROM predictions WHERE generation_id = $1 ORDER BY portrait_index, attempt", ReadPrediction,
            cancellationToken, id);

    public Task<List<PredictionRow>> PredictionsAsync(Guid id, int index, CancellationToken cancellationToken = default) =>
        QueryAsync($"SELECT {PredictionColumns} FROM predictions WHERE generation_id = $1 AND portrait_index = $2 ORDER BY attempt", ReadPrediction,
            cancellationToken, id, index);

    public async Task<PredictionRow?> PredictionByIdAsync(string predictionId, CancellationToken cancellationToken = default) =>
        (await QueryAsync($"SELECT {PredictionColumns} FROM predictions WHERE prediction_id = $1", ReadPrediction, cancellationToken, predictionId))
        .SingleOrDefault();

    /// <summary>The attempt a marker names; the prediction id is attached if the create's answer has not recorded it yet.</summary>
    public async Task<PredictionRow?> AttachByMarkerAsync(string marker, string predictionId, CancellationToken cancellationToken = default) =>
        (await QueryAsync($"""
            UPDATE predictions SET prediction_id = coalesce(prediction_id, $2), submitted_at = coalesce(submitted_at, now())
            WHERE marker = $1 AND (prediction_id IS NULL OR prediction_id = $2)
            RETURNING {PredictionColumns}
            """, ReadPrediction, cancellationToken, marker, predictionId)).SingleOrDefault();

    /// <summary>Predictions created (or being created) that have not ended, across every generation.</summary>
    public async Task<long> InFlightCountAsync(CancellationToken cancellationToken) =>
        (await QueryAsync("SELECT count(*) FROM predictions WHERE status IN ('creating', 'starting', 'processing')", r => r.GetInt64(0),
            cancellationToken)).Single();

    /// <summary>Generations that have not ended.</summary>
    public Task<List<Guid>> UnfinishedAsync(CancellationToken cancellationToken = default) =>
        QueryAsync("SELECT id FROM generation_jobs WHERE completed_at IS NULL ORDER BY created_at", r => r.GetGuid(0), cancellationToken);

    /// <summary>A queued generation starts running: its plan job has begun.</summary>
    public Task<bool> StartAsync(Guid id, CancellationToken cancellationToken) =>
        ChangeAsync(id, "status = 'running'", "status = 'queued'", null, cancellationToken);

    /// <summary>Whether the generation's whole job chain has been queued (by a plan job that ran to its end).</summary>
    public async Task<bool> IsPlannedAsync(Guid id, CancellationToken cancellationToken) =>
        (await QueryAsync("SELECT planned_at IS NOT NULL FROM generation_jobs WHERE id = $1", r => r.GetBoolean(0), cancellationToken, id))
        .SingleOrDefault();

    public async Task MarkPlannedAsync(Guid id, CancellationToken cancellationToken) =>
        await ExecuteAsync("UPDATE generation_jobs SET planned_at = now() WHERE id = $1 AND planned_at IS NULL", cancellationToken, id);

    public Task SetCurrentBatchAsync(Guid id, int batch, CancellationToken cancellationToken) =>
        ChangeAsync(id, "current_batch = $2", "completed_at IS NULL AND current_batch < $2", null, cancellationToken, batch);

    /// <summary>A pending portrait becomes running with its next attempt; returns the portrait as it now stands.</summary>
    public async Task<PortraitRow?> ClaimAsync(Guid id, int index, CancellationToken cancellationToken)
    {
        var claimed = (await QueryAsync($"""
            UPDATE portraits SET status = 'running', attempt = attempt + 1, started_at = coalesce(started_at, now())
            WHERE generation_id = $1 AND index = $2 AND status = 'pending'
            RETURNING {PortraitColumns}
            """, ReadPortrait, cancellationToken, id, index)).SingleOrDefault();
        if (claimed is not null)
        {
            await ChangeAsync(id, null, null, new(index, PortraitStatus.Running), cancellationToken);
            return claimed;
        }

        return await PortraitAsync(id, index, cancellationToken);
    }

    /// <summary>Records the attempt before its create is sent; returns the row and whether this call made it.</summary>
    /// <remarks>
    /// A new attempt reserves <paramref name="reservation"/> (its worst-case cost) on the generation in the same transaction, only while
    /// spent + reserved + it stays within the budget; the generation's row lock makes that hold across replicas. Row null: the budget
    /// cannot hold it now, and nothing was written.
    /// </remarks>
    public async Task<(PredictionRow? Row, bool Inserted)> BeginPredictionAsync(Guid id, int index, int attempt, string provider, string model,
        int referenceIndex, decimal reservation, CancellationToken cancellationToken)
    {
        var marker = $"{id:N}-{index}-{attempt}";
        await using (var connection = await database.OpenConnectionAsync(cancellationToken))
        await using (var transaction = await connection.BeginTransactionAsync(cancellationToken))
        {
            PredictionRow? inserted = null;
            await using (var insert = new NpgsqlCommand($"""
                INSERT INTO predictions (generation_id, portrait_index, attempt, marker, provider, model, reference_index, reserved_usd)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING
                RETURNING {PredictionColumns}
                """, connection, transaction))
            {
                AddParameters(insert, id, index, attempt, marker, provider, model, referenceIndex, reservation);
                await using var reader = await insert.ExecuteReaderAsync(cancellationToken);
                if (await reader.ReadAsync(cancellationToken))
                {
                    inserted = ReadPrediction(reader);
                }
            }

            if (inserted is not null)
            {
                if (await ExecuteAsync(connection, transaction, """
                        UPDATE generation_jobs SET reserved_usd = reserved_usd + $2, updated_at = now()
                        WHERE id = $1 AND spent_usd + reserved_usd + $2 <= budget_usd
                        """, cancellationToken, id, reservation) == 0)
                {
                    return (null, false); // rolled back: no prediction row, no reservation
                }

                await transaction.CommitAsync(cancellationToken);
                return (inserted, true);
            }
        }

        var existing = (await QueryAsync($"SELECT {PredictionColumns} FROM predictions WHERE generation_id = $1 AND portrait_index = $2 AND attempt = $3",
            ReadPrediction, cancellationToken, id, index, attempt)).Single();
        return (existing, false);
    }

    /// <summary>Takes the right to send an attempt's create for <paramref name="lease"/>; false while another worker holds it.</summary>
    public async Task<bool> ClaimCreateAsync(string marker, TimeSpan lease, CancellationToken cancellationToken) =>
        await ExecuteAsync("""
            UPDATE predictions SET claimed_until = now() + $2
            WHERE marker = $1 AND status = 'creating' AND prediction_id IS NULL AND (claimed_until IS NULL OR claimed_until < now())
            """, cancellationToken, marker, lease) == 1;

    /// <summary>
    /// The create's answer: the prediction id, and its state while it runs. A prediction already ended (found after an ambiguous create)
    /// is recorded as running: only <see cref="SettlePredictionAsync"/> ends one, with its cost and output.
    /// </summary>
    public Task RecordCreatedAsync(string marker, string predictionId, string status, int retries, CancellationToken cancellationToken) =>
        ExecuteAsync("""
            UPDATE predictions SET prediction_id = $2, submitted_at = coalesce(submitted_at, now()), last_checked_at = now(), retries = $4,
                                   status = CASE WHEN status <> 'creating' THEN status WHEN $3 IN ('starting', 'processing') THEN $3 ELSE 'processing' END,
                                   claimed_until = NULL
            WHERE marker = $1 AND (prediction_id IS NULL OR prediction_id = $2)
            """, cancellationToken, marker, predictionId, status, retries);

    /// <summary>A create that failed for good: nothing was made, nothing is billed, its reservation is released.</summary>
    public Task<bool> RecordNotCreatedAsync(PredictionRow row, string category, string error, int retries, CancellationToken cancellationToken) =>
        EndPredictionAsync(row, 0, """
            UPDATE predictions SET status = 'not_created', error_category = $2, error = $3, retries = $4, completed_at = now(), claimed_until = NULL,
                                   reserved_usd = 0
            WHERE marker = $1 AND status = 'creating' AND prediction_id IS NULL
            """, [row.Marker, category, error, retries], cancellationToken);

    /// <summary>News of a prediction that has not ended.</summary>
    public Task RecordCheckedAsync(string marker, string status, CancellationToken cancellationToken) =>
        ExecuteAsync("""
            UPDATE predictions SET last_checked_at = now(),
                                   status = CASE WHEN status IN ('starting', 'processing') AND $2 IN ('starting', 'processing') THEN $2 ELSE status END
            WHERE marker = $1
            """, cancellationToken, marker, status);

    /// <summary>
    /// Ends a prediction and adds what it cost to its portrait and generation; false (and nothing changed) when it had already ended.
    /// </summary>
    public Task<bool> SettlePredictionAsync(PredictionRow row, string status, double? predictTime, decimal cost, string? category, string? error,
        string? outputUrl, StoredOutput? stored, IdentityCheck? identity, CancellationToken cancellationToken) =>
        EndPredictionAsync(row, cost, """
            UPDATE predictions SET status = $2, predict_time = $3, cost_usd = $4, error_category = $5, error = $6, output_url = $7,
                                   completed_at = now(), last_checked_at = now(), blob_name = $8, content_type = $9,
                                   identity_decision = $10, identity_reason = $11, identity_distance = $12, next_reference_index = $13,
                                   next_id_weight = $14, reserved_usd = 0
            WHERE marker = $1 AND status IN ('creating', 'starting', 'processing')
            """, [row.Marker, status, predictTime, cost, category, error, outputUrl, stored?.BlobName, stored?.ContentType, identity?.Decision,
                identity?.Reason, (float?)identity?.Distance, identity?.NextReferenceIndex, identity?.NextIdWeight], cancellationToken);

    /// <summary>
    /// Ends a prediction with a guarded UPDATE and, when it changed, in the same transaction adds <paramref name="cost"/> to its portrait
    /// and generation and releases its reservation. The reservation is the row's own: written when the attempt began, zeroed only here.
    /// </summary>
    private async Task<bool> EndPredictionAsync(PredictionRow row, decimal cost, string predictionSql, object?[] values, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        if (await ExecuteAsync(connection, transaction, predictionSql, cancellationToken, values) == 0)
        {
            return false;
        }

        await ExecuteAsync(connection, transaction, "UPDATE portraits SET cost_usd = cost_usd + $3 WHERE generation_id = $1 AND index = $2",
            cancellationToken, row.GenerationId, row.PortraitIndex, cost);
        await ExecuteAsync(connection, transaction,
            "UPDATE generation_jobs SET spent_usd = spent_usd + $2, reserved_usd = reserved_usd - $3, updated_at = now() WHERE id = $1",
            cancellationToken, row.GenerationId, cost, row.Reserved);
        await transaction.CommitAsync(cancellationToken);
        return true;
    }

    /// <summary>The portrait's current attempt delivered: stored, counted once.</summary>
    public Task<bool> SucceedPortraitAsync(Guid id, int index, int attempt, string provider, string model, string blobName, string contentType,
        long latencyMs, int retries, bool fallback, IdentityCheck? identity, CancellationToken cancellationToken) =>
        EndPortraitAsync(id, new(index, PortraitStatus.Succeeded), """
            UPDATE portraits SET status = 'succeeded', completed_at = now(), provider = $4, model = $5, blob_name = $6, content_type = $7,
                                 latency_ms = $8, retries = $9, error_category = NULL, error = NULL,
                                 identity_distance = $10, identity_reason = $11, identity_flagged = $12
            WHERE generation_id = $1 AND index = $2 AND status = 'running' AND attempt = $3
            """, [id, index, attempt, provider, model, blobName, contentType, latencyMs, retries, (float?)identity?.Distance, identity?.Reason,
                identity is { Flagged: true }],
            "successful_portraits = successful_portraits + 1, fallback_used = fallback_used OR $2", [fallback], cancellationToken);

    /// <summary>
    /// The portrait ends without a portrait (failed or cancelled), counted once; <paramref name="attempt"/> null ends it whatever
    /// attempt it is on (deadline, cancel).
    /// </summary>
    public Task<bool> FailPortraitAsync(Guid id, int index, int? attempt, string status, string category, string error, CancellationToken cancellationToken) =>
        EndPortraitAsync(id, new(index, status), """
            UPDATE portraits SET status = $3, completed_at = now(), error_category = $4, error = $5
            WHERE generation_id = $1 AND index = $2 AND status IN ('pending', 'running') AND ($6::integer IS NULL OR attempt = $6::integer)
            """, [id, index, status, category, error, attempt.HasValue ? attempt.Value : null],
            "failed_portraits = failed_portraits + 1", [], cancellationToken);

    /// <summary>The current attempt failed and the next provider takes over: attempt N → N + 1, once.</summary>
    public async Task<bool> AdvanceAttemptAsync(Guid id, int index, int fromAttempt, CancellationToken cancellationToken) =>
        await ExecuteAsync("""
            UPDATE portraits SET attempt = attempt + 1
            WHERE generation_id = $1 AND index = $2 AND attempt = $3 AND status = 'running'
            """, cancellationToken, id, index, fromAttempt) == 1;

    /// <summary>
    /// The identity gate refused the current attempt's portrait: the portrait starts a new chain of attempts with another reference and
    /// id weight, once.
    /// </summary>
    /// <remarks>
    /// The refused output stays with the portrait (provider, model, blob): if the regeneration cannot deliver, it is delivered flagged
    /// (<see cref="DeliverRefusedAsync"/>) rather than lost.
    /// </remarks>
    public async Task<bool> RegenerateAsync(PredictionRow refused, long latencyMs, CancellationToken cancellationToken)
    {
        var identity = refused.Identity!;
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        if (await ExecuteAsync(connection, transaction, """
                UPDATE portraits SET status = 'pending', chain_start = attempt + 1, regenerations = regenerations + 1, reference_index = $4,
                                     id_weight = $5, identity_distance = $6, identity_reason = $7, provider = $8, model = $9, blob_name = $10,
                                     content_type = $11, latency_ms = $12
                WHERE generation_id = $1 AND index = $2 AND attempt = $3 AND status = 'running'
                """, cancellationToken, refused.GenerationId, refused.PortraitIndex, refused.Attempt, identity.NextReferenceIndex, identity.NextIdWeight,
                (float?)identity.Distance, identity.Reason, refused.Provider, refused.Model, refused.BlobName, refused.ContentType, latencyMs) == 0)
        {
            return false;
        }

        await BumpAsync(connection, transaction, refused.GenerationId, null, null, new(refused.PortraitIndex, PortraitStatus.Pending), cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return true;
    }

    /// <summary>
    /// A regenerated portrait whose new attempts ended without an image (failed, out of budget, past the deadline): the output the
    /// gate refused is delivered, flagged, and counted once.
    /// </summary>
    /// <remarks><paramref name="attempt"/> as in <see cref="FailPortraitAsync"/>: null whatever attempt the portrait is on.</remarks>
    public Task<bool> DeliverRefusedAsync(Guid id, int index, int? attempt, CancellationToken cancellationToken) =>
        EndPortraitAsync(id, new(index, PortraitStatus.Succeeded), """
            UPDATE portraits SET status = 'succeeded', completed_at = now(), identity_flagged = true, error_category = NULL, error = NULL
            WHERE generation_id = $1 AND index = $2 AND status IN ('pending', 'running') AND regenerations > 0 AND blob_name IS NOT NULL
              AND ($3::integer IS NULL OR attempt = $3::integer)
            """, [id, index, attempt.HasValue ? attempt.Value : null], "successful_portraits = successful_portraits + 1", [], cancellationToken);

    /// <summary>Asks a running generation to stop; false when it had ended or was already asked.</summary>
    public Task<bool> RequestCancelAsync(Guid id, CancellationToken cancellationToken) =>
        ChangeAsync(id, "cancel_requested_at = now()", "completed_at IS NULL AND cancel_requested_at IS NULL", null, cancellationToken);

    /// <summary>Ends the generation with <paramref name="status"/> once, and writes its cost row.</summary>
    public async Task<bool> FinishAsync(Guid id, string status, string? error, CancellationToken cancellationToken)
    {
        var finished = await ChangeAsync(id, "status = $2, error = $3, completed_at = now()", "completed_at IS NULL", null, cancellationToken, status,
            (object?)error ?? DBNull.Value);
        await RefreshCostsAsync(id, cancellationToken);
        return finished;
    }

    /// <summary>
    /// The design's <c>generation_costs</c> row of an ended generation, from its predictions; written again when a prediction cancelled at
    /// the end reports what it ran.
    /// </summary>
    public Task RefreshCostsAsync(Guid id, CancellationToken cancellationToken) =>
        ExecuteAsync("""
            INSERT INTO generation_costs (id, job_id, total_cost, image_count, successful_count, failed_count, retried_count, primary_model, fallback_used)
            SELECT gen_random_uuid(), g.id, round(g.spent_usd, 4), g.successful_portraits, g.successful_portraits, g.failed_portraits,
                   (SELECT count(*) FROM predictions p JOIN predictions q
                      ON q.generation_id = p.generation_id AND q.portrait_index = p.portrait_index AND q.attempt = p.attempt - 1
                    WHERE p.generation_id = g.id AND q.status <> 'succeeded'),
                   coalesce((SELECT p.provider FROM predictions p WHERE p.generation_id = g.id ORDER BY p.attempt, p.portrait_index LIMIT 1), ''),
                   g.fallback_used
            FROM generation_jobs g WHERE g.id = $1 AND g.completed_at IS NOT NULL
            ON CONFLICT (job_id) DO UPDATE SET total_cost = excluded.total_cost, image_count = excluded.image_count,
                successful_count = excluded.successful_count, failed_count = excluded.failed_count, retried_count = excluded.retried_count,
                fallback_used = excluded.fallback_used
            """, cancellationToken, id);

    /// <summary>
    /// A retry on request: an ended generation runs again for one portrait, which starts a new provider chain with a fresh deadline.
    /// </summary>
    public async Task<bool> ReopenPortraitAsync(Guid id, int index, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using var find = new NpgsqlCommand("""
            SELECT p.status FROM portraits p JOIN generation_jobs g ON g.id = p.generation_id
            WHERE p.generation_id = $1 AND p.index = $2 AND g.completed_at IS NOT NULL AND g.cancel_requested_at IS NULL
              AND p.status IN ('succeeded', 'failed')
            FOR UPDATE
            """, connection, transaction);
        AddParameters(find, id, index);
        if (await find.ExecuteScalarAsync(cancellationToken) is not string was)
        {
            return false;
        }

        await ExecuteAsync(connection, transaction, """
            UPDATE portraits SET status = 'pending', chain_start = attempt + 1, error = NULL, error_category = NULL, completed_at = NULL,
                                 regenerations = 0, reference_index = NULL, id_weight = NULL, identity_distance = NULL, identity_reason = NULL,
                                 identity_flagged = false
            WHERE generation_id = $1 AND index = $2
            """, cancellationToken, id, index);
        var counter = was == PortraitStatus.Succeeded ? "successful_portraits" : "failed_portraits";
        await BumpAsync(connection, transaction, id, $"""
            status = 'running', completed_at = NULL, error = NULL, deadline_at = now() + $2,
            completed_portraits = completed_portraits - 1, {counter} = {counter} - 1
            """, null, new(index, PortraitStatus.Pending), cancellationToken, options.Value.Deadline);
        await ExecuteAsync(connection, transaction, "DELETE FROM generation_costs WHERE job_id = $1", cancellationToken, id);
        await transaction.CommitAsync(cancellationToken);
        return true;
    }

    /// <summary>Ends a portrait with a guarded UPDATE and, when it changed, counts it on the generation in the same transaction.</summary>
    private async Task<bool> EndPortraitAsync(Guid id, PortraitChange change, string portraitSql, object?[] portraitValues, string counters,
        object?[] counterValues, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        if (await ExecuteAsync(connection, transaction, portraitSql, cancellationToken, portraitValues) == 0)
        {
            return false;
        }

        await BumpAsync(connection, transaction, id, $"completed_portraits = completed_portraits + 1, {counters}", null, change, cancellationToken,
            counterValues);
        await transaction.CommitAsync(cancellationToken);
        return true;
    }

    /// <summary>A guarded change of the generation row in its own transaction, published when it happened.</summary>
    private async Task<bool> ChangeAsync(Guid id, string? set, string? condition, PortraitChange? portrait, CancellationToken cancellationToken,
        params object?[] values)
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var changed = await BumpAsync(connection, transaction, id, set, condition, portrait, cancellationToken, values);
        await transaction.CommitAsync(cancellationToken);
        return changed;
    }

    /// <summary>
    /// Applies <paramref name="set"/> (parameters from $2) when <paramref name="condition"/> holds, bumps the version and publishes the
    /// progress before the transaction commits: the row stays locked until then, so events leave in version order.
    /// </summary>
    private async Task<bool> BumpAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid id, string? set, string? condition,
        PortraitChange? portrait, CancellationToken cancellationToken, params object?[] values)
    {
        var sql = $"""
            UPDATE generation_jobs SET {(set is null ? "" : set + ",")} version = version + 1, updated_at = now()
            WHERE id = $1 {(condition is null ? "" : "AND " + condition)}
            RETURNING {GenerationColumns}
            """;
        await using var command = new NpgsqlCommand(sql, connection, transaction);
        AddParameters(command, [id, .. values]);
        GenerationRow? row = null;
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            if (await reader.ReadAsync(cancellationToken))
            {
                row = ReadGeneration(reader);
            }
        }

        if (row is null)
        {
            return false;
        }

        await progress.PublishAsync(GenerationProgress.From(row, time.GetUtcNow(), options.Value.EstimatedPredictionTime, portrait));
        return true;
    }

    private async Task<List<T>> QueryAsync<T>(string sql, Func<NpgsqlDataReader, T> read, CancellationToken cancellationToken, params object?[] values)
    {
        await using var command = database.CreateCommand(sql);
        AddParameters(command, values);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var rows = new List<T>();
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add(read(reader));
        }

        return rows;
    }

    private async Task<int> ExecuteAsync(string sql, CancellationToken cancellationToken, params object?[] values)
    {
        await using var command = database.CreateCommand(sql);
        AddParameters(command, values);
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static async Task<int> ExecuteAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string sql, CancellationToken cancellationToken,
        params object?[] values)
    {
        await using var command = new NpgsqlCommand(sql, connection, transaction);
        AddParameters(command, values);
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static void AddParameters(NpgsqlCommand command, params object?[] values)
    {
        foreach (var value in values)
        {
            command.Parameters.Add(value switch
            {
                null => new NpgsqlParameter { Value = DBNull.Value },
                TimeSpan span => new NpgsqlParameter { Value = span, NpgsqlDbType = NpgsqlDbType.Interval },
                _ => new NpgsqlParameter { Value = value },
            });
        }
    }

    private static GenerationRow ReadGeneration(NpgsqlDataReader r) => new(
        r.GetGuid(0), r.GetString(1), r.GetInt32(2), r.GetInt32(3), r.GetInt32(4), r.GetInt32(5), r.GetDecimal(6), r.GetDecimal(7), r.GetDecimal(8),
        r.GetBoolean(9), r.GetInt32(10), r.GetInt32(11), r.GetInt32(12), r.GetString(13), r.GetString(14), r.GetString(15), Time(r, 16)!.Value,
        Time(r, 17)!.Value, Time(r, 18)!.Value, Time(r, 19), Time(r, 20), r.GetInt64(21), Text(r, 22),
        r.GetFieldValue<float[]>(23), r.GetDecimal(24));

    private static PortraitRow ReadPortrait(NpgsqlDataReader r) => new(
        r.GetGuid(0), r.GetInt32(1), r.GetString(2), r.GetInt32(3), r.GetString(4), r.GetInt32(5), r.GetInt32(6), Text(r, 7), Text(r, 8),
        r.GetDecimal(9), r.IsDBNull(10) ? null : r.GetInt64(10), r.GetInt32(11), Text(r, 12), Text(r, 13), Text(r, 14), Text(r, 15), Time(r, 16),
        Time(r, 17), r.GetInt32(18), r.IsDBNull(19) ? null : r.GetInt32(19), r.IsDBNull(20) ? null : r.GetDouble(20), Real(r, 21), Text(r, 22),
        r.GetBoolean(23));

    private static PredictionRow ReadPrediction(NpgsqlDataReader r) => new(
        r.GetGuid(0), r.GetInt32(1), r.GetInt32(2), r.GetString(3), r.GetString(4), r.GetString(5), r.GetInt32(6), Text(r, 7), r.GetString(8),
        r.GetDecimal(9), Text(r, 10), Text(r, 11), Time(r, 12)!.Value, Time(r, 13), Time(r, 14),
        Text(r, 15), Text(r, 16),
        r.IsDBNull(17) ? null : new IdentityCheck(r.GetString(17), r.GetString(18), Real(r, 19), r.IsDBNull(20) ? null : r.GetInt32(20),
            r.IsDBNull(21) ? null : r.GetDouble(21)), r.GetDecimal(22));

    private static string? Text(NpgsqlDataReader r, int i) => r.IsDBNull(i) ? null : r.GetString(i);

    private static double? Real(NpgsqlDataReader r, int i) => r.IsDBNull(i) ? null : r.GetFloat(i);

    private static DateTimeOffset? Time(NpgsqlDataReader r, int i) => r.IsDBNull(i) ? null : new DateTimeOffset(r.GetDateTime(i), TimeSpan.Zero);
}
