using Microsoft.Extensions.Options;
using Npgsql;
using PinGlass.Generations.Clients;
using PinGlass.Generations.Progress;
using PinGlass.Generations.Quotas;

namespace PinGlass.Generations.Persistence;

/// <summary>
/// The <c>portraits</c> rows: each portrait's status, current attempt and chain, and its delivered image. A portrait ends once: every
/// ending is a guarded UPDATE on its status and attempt, counted on the generation (and published) in the same transaction.
/// </summary>
public sealed class PortraitStore(NpgsqlDataSource database, GenerationVersions versions, IOptions<PipelineOptions> options)
{
    public Task<List<PortraitRow>> PortraitsAsync(Guid id, CancellationToken cancellationToken = default) =>
        database.Command("SELECT * FROM portraits WHERE generation_id = @id ORDER BY index", new { id }).QueryAsync(Read, cancellationToken);

    public Task<PortraitRow?> PortraitAsync(Guid id, int index, CancellationToken cancellationToken = default) =>
        database.Command("SELECT * FROM portraits WHERE generation_id = @id AND index = @index", new { id, index })
            .QuerySingleOrDefaultAsync(Read, cancellationToken);

    /// <summary>A pending portrait becomes running with its next attempt; false when it was not pending.</summary>
    public Task<bool> ClaimAsync(Guid id, int index, CancellationToken cancellationToken) =>
        versions.ChangeWithAsync(database, id, """
            UPDATE portraits SET status = @running, attempt = attempt + 1, started_at = coalesce(started_at, now())
            WHERE generation_id = @id AND index = @index AND status = @pending
            """, new { id, index, running = PortraitStatus.Running, pending = PortraitStatus.Pending }, null,
            new(index, PortraitStatus.Running.Name()), cancellationToken);

    /// <summary>The portrait's current attempt delivered: stored, counted once.</summary>
    public Task<bool> SucceedAsync(PredictionRow delivered, long latencyMs, int retries, bool fallback, IdentityCheck? identity,
        CancellationToken cancellationToken) =>
        EndAsync(delivered.GenerationId, delivered.PortraitIndex, PortraitStatus.Succeeded, """
            UPDATE portraits SET status = @succeeded, completed_at = now(), provider = @provider, model = @model, blob_name = @blobName,
                                 content_type = @contentType, latency_ms = @latencyMs, retries = @retries, error_category = NULL, error = NULL,
                                 identity_distance = @distance, identity_reason = @reason, identity_flagged = @flagged, replacing = false
            WHERE generation_id = @id AND index = @index AND status = @running AND attempt = @attempt
            """, new
        {
            id = delivered.GenerationId,
            index = delivered.PortraitIndex,
            attempt = delivered.Attempt,
            succeeded = PortraitStatus.Succeeded,
            running = PortraitStatus.Running,
            provider = delivered.Provider,
            model = delivered.Model,
            blobName = delivered.BlobName,
            contentType = delivered.ContentType,
            latencyMs,
            retries,
            distance = (float?)identity?.Distance,
            reason = identity?.Reason,
            flagged = identity is { Flagged: true },
        }, "successful_portraits = successful_portraits + 1, fallback_used = fallback_used OR @fallback", new { fallback }, cancellationToken);

    /// <summary>
    /// The portrait ends without an image (failed or cancelled), counted once; <paramref name="attempt"/> null ends it whatever attempt
    /// it is on (deadline, cancel).
    /// </summary>
    public Task<bool> FailAsync(Guid id, int index, int? attempt, PortraitStatus status, string category, string error,
        CancellationToken cancellationToken) =>
        EndAsync(id, index, status, """
            UPDATE portraits SET status = @status, completed_at = now(), error_category = @category, error = @error
            WHERE generation_id = @id AND index = @index AND status IN (@pending, @running) AND (@attempt::integer IS NULL OR attempt = @attempt::integer)
            """, new { id, index, status, category, error, attempt, pending = PortraitStatus.Pending, running = PortraitStatus.Running },
            "failed_portraits = failed_portraits + 1", null, cancellationToken);

    /// <summary>
    /// A portrait whose new attempts ended without an image (failed, out of budget, past the deadline) delivers the one it kept, counted
    /// once: the output the gate refused, flagged; or, made again on request, the portrait it had, as it was (see
    /// <see cref="PortraitRow.HasKeptOutput"/>). <paramref name="attempt"/> as in <see cref="FailAsync"/>.
    /// </summary>
    public Task<bool> DeliverRefusedAsync(Guid id, int index, int? attempt, CancellationToken cancellationToken) =>
        EndAsync(id, index, PortraitStatus.Succeeded, """
            UPDATE portraits SET status = @succeeded, completed_at = now(), identity_flagged = identity_flagged OR NOT replacing, replacing = false,
                                 error_category = NULL, error = NULL
            WHERE generation_id = @id AND index = @index AND status IN (@pending, @running) AND (regenerations > 0 OR replacing)
              AND blob_name IS NOT NULL AND (@attempt::integer IS NULL OR attempt = @attempt::integer)
            """, new { id, index, attempt, succeeded = PortraitStatus.Succeeded, pending = PortraitStatus.Pending, running = PortraitStatus.Running },
            "successful_portraits = successful_portraits + 1", null, cancellationToken);

    /// <summary>The current attempt failed and the next provider takes over: attempt N → N + 1, once.</summary>
    public async Task<bool> AdvanceAttemptAsync(Guid id, int index, int fromAttempt, CancellationToken cancellationToken) =>
        await database.Command("""
            UPDATE portraits SET attempt = attempt + 1
            WHERE generation_id = @id AND index = @index AND attempt = @fromAttempt AND status = @running
            """, new { id, index, fromAttempt, running = PortraitStatus.Running }).ExecuteAsync(cancellationToken) == 1;

    /// <summary>
    /// The identity gate refused the current attempt's portrait: it starts a new chain of attempts with another reference and id weight,
    /// once. The refused output stays with the portrait (provider, model, blob), to be delivered flagged if the new chain cannot deliver
    /// — unless the portrait is being made again on request: then the portrait it had stays, it is the better one to fall back on.
    /// </summary>
    public Task<bool> RegenerateAsync(PredictionRow refused, long latencyMs, CancellationToken cancellationToken)
    {
        var identity = refused.Identity!;
        return versions.ChangeWithAsync(database, refused.GenerationId, """
            UPDATE portraits SET status = @pending, chain_start = attempt + 1, regenerations = regenerations + 1,
                                 reference_index = @reference, id_weight = @idWeight,
                                 identity_distance = CASE WHEN replacing THEN identity_distance ELSE @distance END,
                                 identity_reason = CASE WHEN replacing THEN identity_reason ELSE @reason END,
                                 provider = CASE WHEN replacing THEN provider ELSE @provider END, model = CASE WHEN replacing THEN model ELSE @model END,
                                 blob_name = CASE WHEN replacing THEN blob_name ELSE @blobName END,
                                 content_type = CASE WHEN replacing THEN content_type ELSE @contentType END,
                                 latency_ms = CASE WHEN replacing THEN latency_ms ELSE @latencyMs END
            WHERE generation_id = @id AND index = @index AND attempt = @attempt AND status = @running
            """, new
        {
            id = refused.GenerationId,
            index = refused.PortraitIndex,
            attempt = refused.Attempt,
            pending = PortraitStatus.Pending,
            running = PortraitStatus.Running,
            reference = identity.NextReferenceIndex,
            idWeight = identity.NextIdWeight,
            distance = (float?)identity.Distance,
            reason = identity.Reason,
            provider = refused.Provider,
            model = refused.Model,
            blobName = refused.BlobName,
            contentType = refused.ContentType,
            latencyMs,
        }, null, new(refused.PortraitIndex, PortraitStatus.Pending.Name()), cancellationToken);
    }

    /// <summary>
    /// A retry on request: an ended generation runs again for one portrait, which starts a new provider chain with a fresh deadline.
    /// A portrait that had succeeded keeps its image and verdict (<see cref="PortraitRow.Replacing"/>) until its replacement succeeds.
    /// Not once the generation's faces were deleted (its retention, or its erasure): there is nothing left to make it from.
    /// </summary>
    /// <remarks>
    /// Running again, the generation may spend the rest of its budget: with <paramref name="quota"/> it is reopened only if its owner's
    /// limits hold it (its whole budget counted again), checked in this transaction under the client's lock.
    /// </remarks>
    public async Task<(bool Reopened, QuotaExceeded? Exceeded)> ReopenAsync(Guid id, int index, QuotaGuard? quota, CancellationToken cancellationToken)
    {
        QuotaExceeded? exceeded = null;
        var reopened = await versions.CommitAsync(database, async (connection, transaction) =>
        {
            var was = await connection.Command("""
                SELECT p.status, g.client_id, g.user_id, g.budget_usd FROM portraits p JOIN generation_jobs g ON g.id = p.generation_id
                WHERE p.generation_id = @id AND p.index = @index AND g.completed_at IS NOT NULL AND g.cancel_requested_at IS NULL
                  AND g.faces_deleted_at IS NULL
                  AND p.status IN (@succeeded, @failed)
                FOR UPDATE
                """, new { id, index, succeeded = PortraitStatus.Succeeded, failed = PortraitStatus.Failed }, transaction)
                .QuerySingleOrDefaultAsync(r => (Status: (PortraitStatus?)r.Status<PortraitStatus>(),
                    Owner: r.Maybe<Guid>("client_id") is { } client ? new Owner(client, r.Get<string>("user_id")) : null,
                    Budget: r.Get<decimal>("budget_usd")), cancellationToken);
            if (was.Status is not { } status)
            {
                return null;
            }

            if (quota is not null && was.Owner is { } owner
                && (exceeded = await quota.CheckAsync(connection, transaction, owner, was.Budget, id, cancellationToken)) is not null)
            {
                return null;
            }

            var replacing = status == PortraitStatus.Succeeded;
            await connection.Command("""
                UPDATE portraits SET status = @pending, chain_start = attempt + 1, error = NULL, error_category = NULL, completed_at = NULL,
                                     regenerations = 0, reference_index = NULL, id_weight = NULL, replacing = @replacing,
                                     identity_distance = CASE WHEN @replacing THEN identity_distance END,
                                     identity_reason = CASE WHEN @replacing THEN identity_reason END, identity_flagged = @replacing AND identity_flagged
                WHERE generation_id = @id AND index = @index
                """, new { id, index, replacing, pending = PortraitStatus.Pending }, transaction).ExecuteAsync(cancellationToken);
            var counter = replacing ? "successful_portraits" : "failed_portraits";
            var reopened = await versions.BumpAsync(connection, transaction, id, $"""
                status = @running, completed_at = NULL, error = NULL, stop_category = NULL, stop_error = NULL, deadline_at = now() + @deadline,
                opened_at = now(), runs = runs + 1,
                completed_portraits = completed_portraits - 1, {counter} = {counter} - 1
                """, null, new(index, PortraitStatus.Pending.Name()), cancellationToken,
                new { running = GenerationStatus.Running, deadline = options.Value.Deadline });
            await connection.Command("DELETE FROM generation_costs WHERE job_id = @id", new { id }, transaction).ExecuteAsync(cancellationToken);
            return reopened;
        }, cancellationToken);
        return (reopened, exceeded);
    }

    /// <summary>Ends a portrait with a guarded UPDATE and, when it changed, counts it on the generation in the same transaction.</summary>
    private Task<bool> EndAsync(Guid id, int index, PortraitStatus ending, string portraitSql, object portraitArgs, string counters,
        object? counterArgs, CancellationToken cancellationToken) =>
        versions.ChangeWithAsync(database, id, portraitSql, portraitArgs, $"completed_portraits = completed_portraits + 1, {counters}",
            new(index, ending.Name()), cancellationToken, counterArgs);

    internal static PortraitRow Read(NpgsqlDataReader r) => new(
        r.Get<Guid>("generation_id"), r.Get<int>("index"), r.Get<string>("style_id"), r.Get<int>("batch"), r.Status<PortraitStatus>(),
        r.Get<int>("attempt"), r.Get<int>("chain_start"), r.Text("provider"), r.Text("model"), r.Get<decimal>("cost_usd"), r.Maybe<long>("latency_ms"),
        r.Get<int>("retries"), r.Text("error_category"), r.Text("error"), r.Text("blob_name"), r.Text("content_type"), r.Maybe<DateTimeOffset>("started_at"),
        r.Maybe<DateTimeOffset>("completed_at"), r.Get<int>("regenerations"), r.Maybe<int>("reference_index"), r.Maybe<double>("id_weight"),
        r.Maybe<float>("identity_distance"), r.Text("identity_reason"), r.Get<bool>("identity_flagged"), r.Get<bool>("replacing"));
}
