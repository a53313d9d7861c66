using Npgsql;
using PinGlass.Generations.Clients;
using PinGlass.Generations.Persistence;

namespace PinGlass.Generations.Privacy;

/// <summary>A generation erased: <see cref="Running"/> when it had not ended, and its predictions are still to be cancelled.</summary>
public sealed record ErasedGeneration(Guid Id, bool Running);

/// <summary>A generation whose files are to be deleted: all of them once it was erased, otherwise its reference crops.</summary>
/// <param name="Stamp">The state they are deleted for (its faces' deletion, its erasure, or the erasure's second pass), recorded once done.</param>
public sealed record FilesDue(Guid Id, bool Erased, DateTimeOffset Stamp);

/// <summary>
/// The rows' side of privacy: faces deleted when their time is up, generations erased on request or when their portraits' time is up,
/// and which generations' files are left to delete. Rows change first, so nothing of a person is read again from the moment a change
/// commits; files follow (<see cref="GenerationErasure"/>).
/// </summary>
public sealed class PrivacyStore(NpgsqlDataSource database)
{
    /// <summary>At most this many generations a round: a backlog is worked off over the next rounds, never in one long transaction.</summary>
    private const int Batch = 200;

    /// <summary>What deleting a generation's faces clears: the centroid, the chosen photos' names and scores (their count stays, which the
    /// rotation of references reads), and the photos' report (its shape stays, empty).</summary>
    private const string ForgetFaces = """
        faces_deleted_at = coalesce(faces_deleted_at, now()), files_pending = true, reference_centroid = NULL,
        photos = jsonb_build_object('photos', '[]'::jsonb, 'refused', '[]'::jsonb),
        reference_photos = (SELECT coalesce(jsonb_agg(jsonb_build_object('index', r -> 'index')), '[]'::jsonb) FROM jsonb_array_elements(reference_photos) r)
        """;

    /// <summary>
    /// Erases <paramref name="owner"/>'s generation <paramref name="id"/>, or every one of theirs when it is null: no user, no faces, no
    /// file names, no image addresses or identity verdicts, and a running one asked to stop. Its cost record stays, its client's: what
    /// was spent was spent (the daily cap and the bill count it). Empty when the owner has none.
    /// </summary>
    public Task<List<ErasedGeneration>> EraseAsync(Owner owner, Guid? id, CancellationToken cancellationToken) =>
        EraseWhereAsync("client_id = @clientId AND user_id = @userId AND (@id::uuid IS NULL OR id = @id::uuid)", null,
            new { clientId = owner.ClientId, userId = owner.UserId, id }, cancellationToken);

    /// <summary>Erases the generations that ended more than <paramref name="portraitsFor"/> ago (a batch of them).</summary>
    public async Task<int> EraseDueAsync(TimeSpan portraitsFor, CancellationToken cancellationToken) =>
        (await EraseWhereAsync("completed_at < now() - @portraitsFor", $"ORDER BY completed_at LIMIT {Batch}", new { portraitsFor },
            cancellationToken)).Count;

    /// <summary>
    /// Deletes the faces of the generations that ended more than <paramref name="after"/> ago (a batch of them), and their progress log,
    /// which no follower needs any more. A generation made to run
    /// again by a retry has not ended: its row lock and its <c>completed_at</c> keep the two apart.
    /// </summary>
    public async Task<int> ForgetFacesDueAsync(TimeSpan after, CancellationToken cancellationToken) =>
        await database.Command($"""
            WITH due AS MATERIALIZED (
                SELECT id FROM generation_jobs WHERE faces_deleted_at IS NULL AND completed_at < now() - @after
                ORDER BY completed_at LIMIT {Batch} FOR UPDATE SKIP LOCKED),
            unlogged AS (DELETE FROM progress_log USING due WHERE progress_log.generation_id = due.id)
            UPDATE generation_jobs SET {ForgetFaces} FROM due WHERE generation_jobs.id = due.id
            """, new { after }).ExecuteAsync(cancellationToken);

    /// <summary>
    /// Generations whose files are due for deletion (of <paramref name="id"/> alone, or a batch of all). An erased one's go once it has
    /// ended and none of its predictions is open (taking in a prediction's end is what writes a portrait), and a second time
    /// <paramref name="secondPass"/> after its erasure, whatever state it is in then: a worker killed between writing an output and
    /// noticing the erasure leaves a file behind, and a prediction that never reports back must not keep files forever.
    /// </summary>
    public Task<List<FilesDue>> FilesDueAsync(Guid? id, TimeSpan secondPass, CancellationToken cancellationToken) =>
        database.Command($"""
            SELECT id, erased, stamp FROM (
                SELECT id, erased_at IS NOT NULL AS erased, files_deleted_at,
                       CASE WHEN erased_at IS NULL THEN faces_deleted_at
                            WHEN now() >= erased_at + @secondPass THEN erased_at + @secondPass
                            WHEN completed_at IS NOT NULL AND NOT EXISTS (SELECT FROM predictions p WHERE p.generation_id = g.id
                                                                          AND p.status IN ('creating', 'starting', 'processing'))
                                 THEN erased_at
                       END AS stamp
                FROM generation_jobs g
                WHERE files_pending AND (@id::uuid IS NULL OR id = @id::uuid)
            ) candidates
            WHERE stamp IS NOT NULL AND (files_deleted_at IS NULL OR files_deleted_at < stamp)
            ORDER BY stamp LIMIT {Batch}
            """, new { id, secondPass }).QueryAsync(r => new FilesDue(r.Get<Guid>("id"), r.Get<bool>("erased"), r.Get<DateTimeOffset>("stamp")),
            cancellationToken);

    /// <summary>
    /// The files were deleted for <see cref="FilesDue.Stamp"/>; none are pending once that was the last pass its state needs (its faces'
    /// deletion, or its erasure's second pass). An erased generation's rows lose again what a prediction taken in between its erasure
    /// and its end wrote of its output.
    /// </summary>
    public Task MarkFilesDeletedAsync(FilesDue due, TimeSpan secondPass, CancellationToken cancellationToken) =>
        GenerationVersions.InTransactionAsync(database, async (connection, transaction) =>
        {
            if (due.Erased)
            {
                await ScrubOutputsAsync(connection, transaction, [due.Id], cancellationToken);
            }

            await connection.Command("""
                UPDATE generation_jobs
                SET files_deleted_at = greatest(files_deleted_at, @stamp),
                    files_pending = @stamp < CASE WHEN erased_at IS NULL THEN faces_deleted_at ELSE erased_at + @secondPass END
                WHERE id = @id
                """, new { id = due.Id, stamp = due.Stamp, secondPass }, transaction).ExecuteAsync(cancellationToken);
            return true;
        }, cancellationToken);

    /// <summary>
    /// Erases the generations <paramref name="condition"/> picks (in <paramref name="order"/>). Rows are changed in the order the pipeline
    /// locks them (predictions, portraits, then the generation, whose UPDATE checks the condition again), so an erasure and a settle do
    /// not deadlock; one that does all the same (two erasures of one user's old generations) is tried again.
    /// </summary>
    private async Task<List<ErasedGeneration>> EraseWhereAsync(string condition, string? order, object args, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                var erased = new List<ErasedGeneration>();
                await GenerationVersions.InTransactionAsync(database, async (connection, transaction) =>
                {
                    var ids = (await connection.Command($"SELECT id FROM generation_jobs WHERE erased_at IS NULL AND {condition} {order}", args, transaction)
                        .QueryAsync(r => r.Get<Guid>("id"), cancellationToken)).ToArray();
                    if (ids.Length == 0)
                    {
                        return false;
                    }

                    await ScrubOutputsAsync(connection, transaction, ids, cancellationToken);
                    var erase = connection.Command($"""
                        UPDATE generation_jobs SET {ForgetFaces}, erased_at = now(), user_id = NULL, callback_url = NULL,
                               cancel_requested_at = CASE WHEN completed_at IS NULL THEN coalesce(cancel_requested_at, now()) ELSE cancel_requested_at END,
                               version = version + 1, updated_at = now()
                        WHERE id = ANY(@ids) AND erased_at IS NULL AND {condition}
                        RETURNING id, completed_at IS NULL AS running
                        """, args, transaction);
                    erase.Parameters.AddWithValue("ids", ids);
                    erased = await erase.QueryAsync(r => new ErasedGeneration(r.Get<Guid>("id"), r.Get<bool>("running")), cancellationToken);
                    // What the user said of its portraits goes with them (preferences are learned from what is kept), and its webhooks,
                    // sent or not: they name the user.
                    var unlog = connection.Command("""
                        DELETE FROM progress_log WHERE generation_id = ANY(@ids);
                        DELETE FROM portrait_feedback WHERE generation_id = ANY(@ids);
                        DELETE FROM client_webhooks WHERE generation_id = ANY(@ids);
                        """, null, transaction);
                    unlog.Parameters.AddWithValue("ids", erased.Select(e => e.Id).ToArray());
                    await unlog.ExecuteAsync(cancellationToken);
                    return true;
                }, cancellationToken);
                return erased;
            }
            catch (PostgresException e) when (e.SqlState is PostgresErrorCodes.DeadlockDetected or PostgresErrorCodes.SerializationFailure && attempt < 3)
            {
            }
        }
    }

    /// <summary>
    /// What the portrait and prediction rows say of the images and the face in them: where they are stored, Replicate's address, the
    /// identity gate's distances and verdicts.
    /// </summary>
    private static async Task ScrubOutputsAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid[] ids,
        CancellationToken cancellationToken)
    {
        await connection.Command("""
            UPDATE predictions SET output_url = NULL, blob_name = NULL, identity_decision = NULL, identity_reason = NULL, identity_distance = NULL,
                                   next_reference_index = NULL, next_id_weight = NULL
            WHERE generation_id = ANY(@ids)
            """, new { ids }, transaction).ExecuteAsync(cancellationToken);
        await connection.Command("""
            UPDATE portraits SET blob_name = NULL, identity_distance = NULL, identity_reason = NULL, identity_flagged = false
            WHERE generation_id = ANY(@ids)
            """, new { ids }, transaction).ExecuteAsync(cancellationToken);
    }
}
