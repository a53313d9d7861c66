using Npgsql;
using PinGlass.Generations.Clients;
using PinGlass.Generations.Persistence;

namespace PinGlass.Generations.Privacy;

/// <summary>A generation erased: <see cref="Running"/> when it had not ended, and its predictions are still to be cancelled.</summary>
public sealed record ErasedGeneration(Guid Id, bool Running);

/// <summary>A generation whose files are to be deleted: all of them once it was erased, otherwise its reference crops.</summary>
/// <param name="DueSince">When it became due (its faces' deletion or its erasure, the later).</param>
public sealed record FilesDue(Guid Id, bool Erased, DateTimeOffset DueSince);

/// <summary>
/// The rows' side of privacy: faces deleted when their time is up, generations erased on request or when their portraits' time is up,
/// and which generations' files are left to delete. Rows change first, in one guarded UPDATE each, so nothing of a person is read
/// again from the moment it returns; files follow (<see cref="GenerationErasure"/>).
/// </summary>
public sealed class PrivacyStore(NpgsqlDataSource database)
{
    /// <summary>At most this many generations a round: a backlog is worked off over the next rounds, never in one long transaction.</summary>
    private const int Batch = 200;

    /// <summary>What deleting a generation's faces clears: the centroid, the chosen photos' names and scores (their count stays, which the
    /// rotation of references reads), and the photos' report (its shape stays, empty).</summary>
    private const string ForgetFaces = """
        faces_deleted_at = coalesce(faces_deleted_at, now()), reference_centroid = NULL,
        photos = jsonb_build_object('photos', '[]'::jsonb, 'refused', '[]'::jsonb),
        reference_photos = (SELECT coalesce(jsonb_agg(jsonb_build_object('index', r -> 'index')), '[]'::jsonb) FROM jsonb_array_elements(reference_photos) r)
        """;

    /// <summary>
    /// Erases <paramref name="owner"/>'s generation <paramref name="id"/>, or every one of theirs when it is null: no user, no faces, no
    /// file names, and a running one asked to stop. Its cost record stays, its client's: what was spent was spent (the daily cap and the
    /// bill count it). Empty when the owner has none.
    /// </summary>
    public Task<List<ErasedGeneration>> EraseAsync(Owner owner, Guid? id, CancellationToken cancellationToken) =>
        EraseWhereAsync("client_id = @clientId AND user_id = @userId AND (@id::uuid IS NULL OR id = @id::uuid)",
            new { clientId = owner.ClientId, userId = owner.UserId, id }, cancellationToken);

    /// <summary>Erases the generations that ended more than <paramref name="portraitsFor"/> ago (a batch of them).</summary>
    public async Task<int> EraseDueAsync(TimeSpan portraitsFor, CancellationToken cancellationToken) =>
        (await EraseWhereAsync($"""
            id IN (SELECT id FROM generation_jobs WHERE erased_at IS NULL AND completed_at < now() - @portraitsFor
                   ORDER BY completed_at LIMIT {Batch} FOR UPDATE SKIP LOCKED)
            """, new { portraitsFor }, cancellationToken)).Count;

    /// <summary>
    /// Deletes the faces of the generations that ended more than <paramref name="after"/> ago (a batch of them). A generation made to run
    /// again by a retry has not ended: its row lock and its <c>completed_at</c> keep the two apart.
    /// </summary>
    public async Task<int> ForgetFacesDueAsync(TimeSpan after, CancellationToken cancellationToken) =>
        await database.Command($"""
            UPDATE generation_jobs SET {ForgetFaces}
            WHERE id IN (SELECT id FROM generation_jobs WHERE faces_deleted_at IS NULL AND completed_at < now() - @after
                         ORDER BY completed_at LIMIT {Batch} FOR UPDATE SKIP LOCKED)
            """, new { after }).ExecuteAsync(cancellationToken);

    /// <summary>
    /// Generations whose files are due for deletion (of <paramref name="id"/> alone, or a batch of all): an erased one only once it has
    /// ended and none of its predictions is open, since taking in a prediction's end is what writes a portrait.
    /// </summary>
    public Task<List<FilesDue>> FilesDueAsync(Guid? id, CancellationToken cancellationToken) =>
        database.Command($"""
            SELECT id, erased_at IS NOT NULL AS erased, greatest(faces_deleted_at, erased_at) AS due_since FROM generation_jobs g
            WHERE (files_deleted_at IS NULL AND (faces_deleted_at IS NOT NULL OR erased_at IS NOT NULL)
                   OR files_deleted_at < greatest(faces_deleted_at, erased_at))
              AND (@id::uuid IS NULL OR id = @id::uuid)
              AND (erased_at IS NULL OR completed_at IS NOT NULL AND NOT EXISTS (
                   SELECT 1 FROM predictions p WHERE p.generation_id = g.id AND p.status IN ('creating', 'starting', 'processing')))
            LIMIT {Batch}
            """, new { id }).QueryAsync(r => new FilesDue(r.Get<Guid>("id"), r.Get<bool>("erased"), r.Get<DateTimeOffset>("due_since")),
            cancellationToken);

    /// <summary>
    /// The files were deleted as of <see cref="FilesDue.DueSince"/>. An erased generation's rows lose again what a prediction taken in
    /// between its erasure and its end wrote of its output (blob names, the output's address, the identity distance).
    /// </summary>
    public Task MarkFilesDeletedAsync(FilesDue due, CancellationToken cancellationToken) =>
        GenerationVersions.InTransactionAsync(database, async (connection, transaction) =>
        {
            await connection.Command("""
                UPDATE generation_jobs SET files_deleted_at = @dueSince WHERE id = @id AND (files_deleted_at IS NULL OR files_deleted_at < @dueSince)
                """, new { id = due.Id, dueSince = due.DueSince }, transaction).ExecuteAsync(cancellationToken);
            if (due.Erased)
            {
                await ScrubOutputsAsync(connection, transaction, [due.Id], cancellationToken);
            }

            return true;
        }, cancellationToken);

    private async Task<List<ErasedGeneration>> EraseWhereAsync(string condition, object args, CancellationToken cancellationToken)
    {
        var erased = new List<ErasedGeneration>();
        await GenerationVersions.InTransactionAsync(database, async (connection, transaction) =>
        {
            erased = await connection.Command($"""
                UPDATE generation_jobs SET {ForgetFaces}, erased_at = now(), user_id = NULL,
                       cancel_requested_at = CASE WHEN completed_at IS NULL THEN coalesce(cancel_requested_at, now()) ELSE cancel_requested_at END,
                       version = version + 1, updated_at = now()
                WHERE erased_at IS NULL AND {condition}
                RETURNING id, completed_at IS NULL AS running
                """, args, transaction).QueryAsync(r => new ErasedGeneration(r.Get<Guid>("id"), r.Get<bool>("running")), cancellationToken);
            await ScrubOutputsAsync(connection, transaction, [.. erased.Select(e => e.Id)], cancellationToken);
            return true;
        }, cancellationToken);
        return erased;
    }

    /// <summary>What the portrait and prediction rows say of the images: where they are stored, Replicate's address, how alike the face was.</summary>
    private static async Task ScrubOutputsAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid[] ids,
        CancellationToken cancellationToken)
    {
        await connection.Command("UPDATE portraits SET blob_name = NULL, identity_distance = NULL WHERE generation_id = ANY(@ids)", new { ids },
            transaction).ExecuteAsync(cancellationToken);
        await connection.Command("""
            UPDATE predictions SET output_url = NULL, blob_name = NULL, identity_distance = NULL WHERE generation_id = ANY(@ids)
            """, new { ids }, transaction).ExecuteAsync(cancellationToken);
    }
}
