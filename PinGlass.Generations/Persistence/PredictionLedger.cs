// Over 300 lines on purpose: every guarded statement on `predictions` (claim, record, settle, take-in, reservations) sits beside the
// others it races with, so the exactly-once design is read in one place.
using Npgsql;
using PinGlass.Replicate.Resilience;

namespace PinGlass.Generations.Persistence;

/// <summary>
/// The <c>predictions</c> rows: one per attempt, from before its create is sent (with its budget reservation) to its settling (with its
/// cost). The per-attempt marker makes a create findable after a lost answer; a prediction is settled once, and only settling (or a
/// create that never went out) moves its cost to the generation and releases its reservation.
/// </summary>
public sealed class PredictionLedger(NpgsqlDataSource database)
{
    private const string Open = "status IN ('creating', 'starting', 'processing')";

    public Task<List<PredictionRow>> PredictionsAsync(Guid id, CancellationToken cancellationToken = default) =>
        database.Command("SELECT * FROM predictions WHERE generation_id = @id ORDER BY portrait_index, attempt", new { id })
            .QueryAsync(Read, cancellationToken);

    public Task<List<PredictionRow>> PredictionsAsync(Guid id, int index, CancellationToken cancellationToken = default) =>
        database.Command("SELECT * FROM predictions WHERE generation_id = @id AND portrait_index = @index ORDER BY attempt", new { id, index })
            .QueryAsync(Read, cancellationToken);

    public Task<PredictionRow?> ByMarkerAsync(string marker, CancellationToken cancellationToken = default) =>
        database.Command("SELECT * FROM predictions WHERE marker = @marker", new { marker }).QuerySingleOrDefaultAsync(Read, cancellationToken);

    public Task<PredictionRow?> ByIdAsync(string predictionId, CancellationToken cancellationToken = default) =>
        database.Command("SELECT * FROM predictions WHERE prediction_id = @predictionId", new { predictionId })
            .QuerySingleOrDefaultAsync(Read, cancellationToken);

    /// <summary>The attempt a marker names; the prediction id is attached if the create's answer has not recorded it yet.</summary>
    public Task<PredictionRow?> AttachByMarkerAsync(string marker, string predictionId, CancellationToken cancellationToken = default) =>
        database.Command("""
            UPDATE predictions SET prediction_id = coalesce(prediction_id, @predictionId), submitted_at = coalesce(submitted_at, now())
            WHERE marker = @marker AND (prediction_id IS NULL OR prediction_id = @predictionId)
            RETURNING *
            """, new { marker, predictionId }).QuerySingleOrDefaultAsync(Read, cancellationToken);

    /// <summary>
    /// Predictions sent to Replicate that are still open although their generation has ended: a worker that was taking one in was
    /// killed after the finalizer passed. Their end (and cost) is still to be taken in.
    /// </summary>
    public Task<List<PredictionRow>> OpenAfterEndAsync(CancellationToken cancellationToken) =>
        database.Command($"""
            SELECT p.* FROM predictions p JOIN generation_jobs g ON g.id = p.generation_id
            WHERE p.{Open} AND p.prediction_id IS NOT NULL AND g.completed_at IS NOT NULL
            """).QueryAsync(Read, cancellationToken);

    /// <summary>
    /// Attempts whose create a sender claimed and then lost hold of (killed, or its answer and the search for it both lost, and its lease
    /// has run out since): they may have made a prediction. Of generation <paramref name="id"/>; or, when null, of every ended generation,
    /// with those no sender ever claimed (recorded just after the finalizer passed): looking for them is how they are closed.
    /// </summary>
    public Task<List<PredictionRow>> LapsedCreatesAsync(Guid? id, CancellationToken cancellationToken) =>
        database.Command("""
            SELECT p.* FROM predictions p JOIN generation_jobs g ON g.id = p.generation_id
            WHERE p.status = 'creating' AND p.prediction_id IS NULL
              AND (g.id = @id::uuid AND p.claimed_until < now()
                   OR @id::uuid IS NULL AND g.completed_at IS NOT NULL AND (p.claimed_until IS NULL OR p.claimed_until < now()))
            ORDER BY p.created_at
            """, new { id }).QueryAsync(Read, cancellationToken);

    /// <summary>Predictions created (or being created) that have not ended, across every generation.</summary>
    public async Task<long> InFlightCountAsync(CancellationToken cancellationToken) =>
        await database.Command($"SELECT count(*) AS n FROM predictions WHERE {Open}").QuerySingleOrDefaultAsync(r => r.Get<long>("n"), cancellationToken);

    /// <summary>
    /// Records an attempt before its create is sent, reserving <paramref name="reservation"/> (its worst-case cost) on the generation in
    /// the same transaction, only while spent + reserved + it stays within the budget (the generation's row lock makes that hold across
    /// replicas). Returns the row and whether this call made it; row null when the budget cannot hold it now (nothing was written).
    /// </summary>
    public async Task<(PredictionRow? Row, bool Inserted)> BeginAsync(Guid id, int index, int attempt, string provider, string model,
        int referenceIndex, decimal reservation, CancellationToken cancellationToken)
    {
        var marker = $"{id:N}-{index}-{attempt}";
        PredictionRow? inserted = null;
        if (await GenerationVersions.InTransactionAsync(database, async (connection, transaction) =>
            {
                inserted = await connection.Command("""
                    INSERT INTO predictions (generation_id, portrait_index, attempt, marker, provider, model, reference_index, reserved_usd)
                    VALUES (@id, @index, @attempt, @marker, @provider, @model, @referenceIndex, @reservation) ON CONFLICT DO NOTHING
                    RETURNING *
                    """, new { id, index, attempt, marker, provider, model, referenceIndex, reservation }, transaction)
                    .QuerySingleOrDefaultAsync(Read, cancellationToken);
                // Not committed unless the reservation fits: then there is no prediction row and no reservation.
                return inserted is not null && await connection.Command("""
                    UPDATE generation_jobs SET reserved_usd = reserved_usd + @reservation, updated_at = now()
                    WHERE id = @id AND spent_usd + reserved_usd + @reservation <= budget_usd
                    """, new { id, reservation }, transaction).ExecuteAsync(cancellationToken) == 1;
            }, cancellationToken))
        {
            return (inserted, true);
        }

        if (inserted is not null)
        {
            return (null, false); // the budget cannot hold it now
        }

        var existing = await database.Command("SELECT * FROM predictions WHERE generation_id = @id AND portrait_index = @index AND attempt = @attempt",
            new { id, index, attempt }).QuerySingleOrDefaultAsync(Read, cancellationToken);
        return (existing, false);
    }

    /// <summary>
    /// Takes the right to send an attempt's create for <paramref name="lease"/>: the lease's end, which is also its fencing token (a
    /// later claim can only be taken once it has passed, and always ends later); null while another worker holds it.
    /// </summary>
    public Task<DateTimeOffset?> ClaimCreateAsync(string marker, TimeSpan lease, CancellationToken cancellationToken) =>
        database.Command("""
            UPDATE predictions SET claimed_until = now() + @lease
            WHERE marker = @marker AND status = 'creating' AND prediction_id IS NULL AND (claimed_until IS NULL OR claimed_until < now())
            RETURNING claimed_until
            """, new { marker, lease }).QuerySingleOrDefaultAsync(r => r.Maybe<DateTimeOffset>("claimed_until"), cancellationToken);

    /// <summary>
    /// The input the create under a held lease sends, recorded before its first send and kept after: what a later search for it looks
    /// for. False when the lease is no longer <paramref name="held"/> (another worker has taken the create over).
    /// </summary>
    public async Task<bool> RecordInputAsync(string marker, DateTimeOffset held, string fingerprint, CancellationToken cancellationToken) =>
        await database.Command("""
            UPDATE predictions SET input_fingerprint = coalesce(input_fingerprint, @fingerprint)
            WHERE marker = @marker AND status = 'creating' AND prediction_id IS NULL AND claimed_until = @held
            """, new { marker, held, fingerprint }).ExecuteAsync(cancellationToken) == 1;

    /// <summary>
    /// Other creates sent with the same input as the one under <paramref name="marker"/> that still wait for their prediction: whether
    /// one is older (it adopts first) or only newer ones are (then nothing of theirs may be cancelled).
    /// </summary>
    public async Task<InputContest> InputContestAsync(string marker, CancellationToken cancellationToken) =>
        await database.Command("""
            SELECT coalesce(bool_or((o.created_at, o.marker) < (me.created_at, me.marker)), false) AS older, count(o.marker) AS others
            FROM predictions me
            JOIN predictions o ON o.input_fingerprint = me.input_fingerprint AND o.marker <> me.marker
                              AND o.prediction_id IS NULL AND o.status = 'creating'
            WHERE me.marker = @marker
            """, new { marker }).QuerySingleOrDefaultAsync(
                r => r.Get<bool>("older") ? InputContest.Older : r.Get<long>("others") > 0 ? InputContest.OnlyNewer : InputContest.None,
                cancellationToken);

    /// <summary>
    /// Renews a create lease just before a send: only while it is still the one <paramref name="held"/> names (even past its end, if
    /// nobody took it over). Null: another worker has taken the create over, and this one must not send.
    /// </summary>
    public Task<DateTimeOffset?> RenewCreateAsync(string marker, DateTimeOffset held, TimeSpan lease, CancellationToken cancellationToken) =>
        database.Command("""
            UPDATE predictions SET claimed_until = now() + @lease
            WHERE marker = @marker AND status = 'creating' AND prediction_id IS NULL AND claimed_until = @held
            RETURNING claimed_until
            """, new { marker, held, lease }).QuerySingleOrDefaultAsync(r => r.Maybe<DateTimeOffset>("claimed_until"), cancellationToken);

    /// <summary>
    /// The create's answer: the prediction id, and its state while it runs. A prediction already ended (found after an ambiguous create)
    /// is recorded as running: only <see cref="SettleAsync"/> ends one, with its cost and output.
    /// </summary>
    public Task RecordCreatedAsync(string marker, string predictionId, string status, DateTimeOffset? startedAt, int retries,
        CancellationToken cancellationToken) =>
        database.Command("""
            UPDATE predictions SET prediction_id = @predictionId, submitted_at = coalesce(submitted_at, now()), last_checked_at = now(),
                                   retries = @retries, claimed_until = NULL, started_at = coalesce(started_at, @startedAt),
                                   status = CASE WHEN status <> 'creating' THEN status
                                                 WHEN @status IN ('starting', 'processing') THEN @status ELSE 'processing' END
            WHERE marker = @marker AND (prediction_id IS NULL OR prediction_id = @predictionId)
            """, new { marker, predictionId, status, startedAt, retries }).ExecuteAsync(cancellationToken);

    /// <summary>A create that failed for good: nothing was made, nothing is billed, its reservation is released.</summary>
    public Task<bool> RecordNotCreatedAsync(PredictionRow row, string category, string error, int retries, CancellationToken cancellationToken) =>
        EndAsync(row, 0, """
            UPDATE predictions SET status = 'not_created', error_category = @category, error = @error, retries = @retries, completed_at = now(),
                                   claimed_until = NULL, reserved_usd = 0
            WHERE marker = @marker AND status = 'creating' AND prediction_id IS NULL
            """, new { marker = row.Marker, category, error, retries }, cancellationToken);

    /// <summary>
    /// The generation stopped (cancelled, past its deadline) while attempts were recorded but their creates not sent: those no sender
    /// ever claimed end as not created, and their reservations are released. One a sender holds is sent, then cancelled by that sender;
    /// one a sender claimed and lost hold of may have made a prediction (<see cref="LapsedCreatesAsync"/>).
    /// </summary>
    public Task<bool> AbandonUnsentAsync(Guid id, string category, string error, CancellationToken cancellationToken) =>
        GenerationVersions.InTransactionAsync(database, async (connection, transaction) =>
        {
            var released = await connection.Command("""
                UPDATE predictions p SET status = 'not_created', error_category = @category, error = @error, completed_at = now(),
                                         claimed_until = NULL, reserved_usd = 0
                FROM (SELECT marker, reserved_usd FROM predictions
                      WHERE generation_id = @id AND status = 'creating' AND prediction_id IS NULL AND claimed_until IS NULL
                      FOR UPDATE) unsent
                WHERE p.marker = unsent.marker
                RETURNING unsent.reserved_usd AS reserved
                """, new { id, category, error }, transaction).QueryAsync(r => r.Get<decimal>("reserved"), cancellationToken);
            if (released.Count == 0)
            {
                return false;
            }

            await connection.Command("UPDATE generation_jobs SET reserved_usd = reserved_usd - @reserved, updated_at = now() WHERE id = @id",
                new { id, reserved = released.Sum() }, transaction).ExecuteAsync(cancellationToken);
            return true;
        }, cancellationToken);

    /// <summary>
    /// Takes the right to take in a prediction's end (copy its output, ask the identity gate, settle it) for <paramref name="lease"/>;
    /// false while another worker holds it or once it has been settled.
    /// </summary>
    public async Task<bool> ClaimTakeInAsync(string marker, TimeSpan lease, CancellationToken cancellationToken) =>
        await database.Command($"""
            UPDATE predictions SET take_in_until = now() + @lease, last_checked_at = now()
            WHERE marker = @marker AND {Open} AND (take_in_until IS NULL OR take_in_until < now())
            """, new { marker, lease }).ExecuteAsync(cancellationToken) == 1;

    /// <summary>Gives the take-in lease back (the worker that held it stopped before settling), so the next news is taken in at once.</summary>
    public Task ReleaseTakeInAsync(string marker, CancellationToken cancellationToken) =>
        database.Command($"UPDATE predictions SET take_in_until = NULL WHERE marker = @marker AND {Open}", new { marker })
            .ExecuteAsync(cancellationToken);

    /// <summary>
    /// The take-in met passing trouble: the lease is kept for <paramref name="retryAfter"/> (nobody takes it in before then), the try is
    /// counted, and the news is recorded (the prediction is asked about again after the webhook grace). <paramref name="kept"/>: the
    /// output's copy already stored, which the next try reads instead of Replicate's (deleted an hour after the prediction).
    /// </summary>
    public async Task<bool> DeferTakeInAsync(string marker, TimeSpan retryAfter, StoredOutput? kept, CancellationToken cancellationToken) =>
        await database.Command($"""
            UPDATE predictions SET take_in_until = now() + @retryAfter, take_in_tries = take_in_tries + 1, last_checked_at = now(),
                                   blob_name = coalesce(@blobName, blob_name), content_type = coalesce(@contentType, content_type)
            WHERE marker = @marker AND {Open}
            """, new { marker, retryAfter, blobName = kept?.BlobName, contentType = kept?.ContentType }).ExecuteAsync(cancellationToken) == 1;

    /// <summary>News of a prediction that has not ended.</summary>
    public Task RecordCheckedAsync(string marker, string status, DateTimeOffset? startedAt, CancellationToken cancellationToken) =>
        database.Command("""
            UPDATE predictions SET last_checked_at = now(), started_at = coalesce(started_at, @startedAt),
                                   status = CASE WHEN status IN ('starting', 'processing') AND @status IN ('starting', 'processing') THEN @status
                                                 ELSE status END
            WHERE marker = @marker
            """, new { marker, status, startedAt }).ExecuteAsync(cancellationToken);

    /// <summary>
    /// More of the budget for a time-billed prediction that computes longer than its reservation holds: <paramref name="extra"/> is added to
    /// its reservation, under the generation's row lock, only while spent + reserved + it stays within the budget. False: the budget cannot
    /// hold it (or the prediction has ended, or is being cancelled), and the prediction must stop at what it has.
    /// </summary>
    /// <param name="seen">The reservation the caller decided on: a watcher that read it before another grew it grows it no more.</param>
    public Task<bool> ExtendComputeAsync(string marker, decimal seen, decimal extra, CancellationToken cancellationToken) =>
        GenerationVersions.InTransactionAsync(database, async (connection, transaction) =>
            await connection.Command($"""
                SELECT generation_id FROM predictions
                WHERE marker = @marker AND {Open} AND prediction_id IS NOT NULL AND overran_at IS NULL AND reserved_usd = @seen
                FOR UPDATE
                """, new { marker, seen }, transaction).QuerySingleOrDefaultAsync(r => (Guid?)r.Get<Guid>("generation_id"), cancellationToken) is { } id
            && await connection.Command("""
                UPDATE generation_jobs SET reserved_usd = reserved_usd + @extra, updated_at = now()
                WHERE id = @id AND spent_usd + reserved_usd + @extra <= budget_usd
                """, new { id, extra }, transaction).ExecuteAsync(cancellationToken) == 1
            && await connection.Command("UPDATE predictions SET reserved_usd = reserved_usd + @extra WHERE marker = @marker",
                new { marker, extra }, transaction).ExecuteAsync(cancellationToken) == 1, cancellationToken);

    /// <summary>
    /// The prediction reached the compute its reservation holds and is being cancelled: its end is then a passing timeout, not the model's
    /// failure. False once it has ended.
    /// </summary>
    public async Task<bool> MarkOverranAsync(string marker, CancellationToken cancellationToken) =>
        await database.Command($"UPDATE predictions SET overran_at = coalesce(overran_at, now()) WHERE marker = @marker AND {Open}", new { marker })
            .ExecuteAsync(cancellationToken) == 1;

    /// <summary>Ends a prediction and adds what it cost to its portrait and generation; false (nothing changed) when it had already ended.</summary>
    public Task<bool> SettleAsync(PredictionRow row, PredictionState status, double? predictTime, decimal cost, string? category, string? error,
        string? outputUrl, StoredOutput? stored, IdentityCheck? identity, CancellationToken cancellationToken) =>
        EndAsync(row, cost, $"""
            UPDATE predictions SET status = @status, predict_time = @predictTime, cost_usd = @cost, error_category = @category, error = @error,
                                   output_url = @outputUrl, completed_at = now(), last_checked_at = now(), blob_name = @blobName,
                                   content_type = @contentType, identity_decision = @decision, identity_reason = @reason,
                                   identity_distance = @distance, next_reference_index = @nextReference, next_id_weight = @nextIdWeight,
                                   reserved_usd = 0, take_in_until = NULL
            WHERE marker = @marker AND {Open}
            """, new
        {
            marker = row.Marker,
            status,
            predictTime,
            cost,
            category,
            error,
            outputUrl,
            blobName = stored?.BlobName,
            contentType = stored?.ContentType,
            decision = identity?.Decision,
            reason = identity?.Reason,
            distance = (float?)identity?.Distance,
            nextReference = identity?.NextReferenceIndex,
            nextIdWeight = identity?.NextIdWeight,
        }, cancellationToken);

    /// <summary>
    /// Ends a prediction with a guarded UPDATE and, when it changed, in the same transaction adds <paramref name="cost"/> to its portrait
    /// and generation and releases its reservation. The reservation is the row's own: written when the attempt began, zeroed only here.
    /// </summary>
    private Task<bool> EndAsync(PredictionRow row, decimal cost, string predictionSql, object args, CancellationToken cancellationToken) =>
        GenerationVersions.InTransactionAsync(database, async (connection, transaction) =>
        {
            // The reservation as it stands now, locked: it may have grown since the caller read the row (ExtendComputeAsync).
            var reserved = await connection.Command("SELECT reserved_usd FROM predictions WHERE marker = @marker FOR UPDATE", new { marker = row.Marker },
                transaction).QuerySingleOrDefaultAsync(r => r.Get<decimal>("reserved_usd"), cancellationToken);
            if (await connection.Command(predictionSql, args, transaction).ExecuteAsync(cancellationToken) == 0)
            {
                return false;
            }

            var ids = new { id = row.GenerationId, index = row.PortraitIndex, cost, reserved };
            await connection.Command("UPDATE portraits SET cost_usd = cost_usd + @cost WHERE generation_id = @id AND index = @index", ids, transaction)
                .ExecuteAsync(cancellationToken);
            await connection.Command("""
                UPDATE generation_jobs SET spent_usd = spent_usd + @cost, reserved_usd = reserved_usd - @reserved, updated_at = now() WHERE id = @id
                """, ids, transaction).ExecuteAsync(cancellationToken);
            return true;
        }, cancellationToken);

    internal static PredictionRow Read(NpgsqlDataReader r) => new(
        r.Get<Guid>("generation_id"), r.Get<int>("portrait_index"), r.Get<int>("attempt"), r.Get<string>("marker"), r.Get<string>("provider"),
        r.Get<string>("model"), r.Get<int>("reference_index"), r.Text("prediction_id"), r.Status<PredictionState>(), r.Get<decimal>("cost_usd"),
        r.Text("error_category"), r.Text("error"), r.Get<DateTimeOffset>("created_at"), r.Maybe<DateTimeOffset>("submitted_at"),
        r.Maybe<DateTimeOffset>("last_checked_at"), r.Text("blob_name"), r.Text("content_type"),
        r.Text("identity_decision") is { } decision
            ? new IdentityCheck(decision, r.Get<string>("identity_reason"), r.Maybe<float>("identity_distance"), r.Maybe<int>("next_reference_index"),
                r.Maybe<double>("next_id_weight"))
            : null,
        r.Get<decimal>("reserved_usd"), r.Maybe<DateTimeOffset>("completed_at"), r.Get<int>("take_in_tries"), r.Maybe<DateTimeOffset>("started_at"),
        r.Maybe<DateTimeOffset>("overran_at"), r.Maybe<DateTimeOffset>("take_in_until"), r.Text("input_fingerprint"));
}
