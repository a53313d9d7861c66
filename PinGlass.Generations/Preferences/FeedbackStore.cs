using Npgsql;
using PinGlass.Generations.Clients;
using PinGlass.Generations.Persistence;

namespace PinGlass.Generations.Preferences;

/// <summary>What came of feedback on a portrait.</summary>
public enum FeedbackOutcome { Recorded, NoSuchPortrait, NotDelivered }

/// <summary>The tallies of one choice (a style, or an experiment's arm): everyone's, and one user's own.</summary>
public sealed record ChoiceTallies(string Choice, Tally Everyone, Tally User);

/// <summary>
/// The <c>portrait_feedback</c> rows: each kind once per portrait (sent twice, kept once); a like or favourite removes a dislike, a dislike
/// both (downloads and shares are facts and stay). A disliked portrait counts against its style whatever else it has. Only a delivered
/// portrait of the caller's own generation takes feedback.
/// </summary>
public sealed class FeedbackStore(NpgsqlDataSource database)
{
    public async Task<(FeedbackOutcome Outcome, IReadOnlyList<string> Kinds)> RecordAsync(Owner owner, Guid generationId, int index, FeedbackKind kind,
        CancellationToken cancellationToken)
    {
        var name = Name(kind);
        var outcome = FeedbackOutcome.NoSuchPortrait;
        await GenerationVersions.InTransactionAsync(database, async (connection, transaction) =>
        {
            var portrait = await connection.Command("""
                SELECT p.status, p.style_id, p.blob_name IS NOT NULL AND (p.status = 'succeeded' OR p.replacing) AS shown, g.arm FROM portraits p JOIN generation_jobs g ON g.id = p.generation_id
                WHERE p.generation_id = @generationId AND p.index = @index AND g.client_id = @clientId AND g.user_id = @userId AND g.erased_at IS NULL
                FOR SHARE OF g
                """, new { generationId, index, clientId = owner.ClientId, userId = owner.UserId }, transaction)
                .QuerySingleOrDefaultAsync(r => (Status: r.Status<PortraitStatus>(), Style: r.Get<string>("style_id"), Shown: r.Get<bool>("shown"),
                    Arm: r.Text("arm")), cancellationToken);
            if (portrait.Style is null)
            {
                return false;
            }

            if (!portrait.Shown)
            {
                outcome = FeedbackOutcome.NotDelivered;
                return false;
            }

            await connection.Command("""
                DELETE FROM portrait_feedback WHERE generation_id = @generationId AND portrait_index = @index
                  AND (@kind IN ('like', 'favourite') AND kind = 'dislike' OR @kind = 'dislike' AND kind IN ('like', 'favourite'));
                INSERT INTO portrait_feedback (generation_id, portrait_index, kind, client_id, user_id, style_id, arm)
                VALUES (@generationId, @index, @kind, @clientId, @userId, @style, @arm)
                ON CONFLICT DO NOTHING;
                """, new { generationId, index, kind = name, clientId = owner.ClientId, userId = owner.UserId, style = portrait.Style, arm = portrait.Arm },
                transaction).ExecuteAsync(cancellationToken);
            outcome = FeedbackOutcome.Recorded;
            return true;
        }, cancellationToken);
        return (outcome, outcome == FeedbackOutcome.Recorded ? await KindsAsync(generationId, index, cancellationToken) : []);
    }

    /// <summary>The kinds of feedback a portrait has.</summary>
    public Task<List<string>> KindsAsync(Guid generationId, int index, CancellationToken cancellationToken) =>
        database.Command("SELECT kind FROM portrait_feedback WHERE generation_id = @generationId AND portrait_index = @index ORDER BY kind",
            new { generationId, index }).QueryAsync(r => r.Get<string>("kind"), cancellationToken);

    /// <summary>
    /// Per style, the portraits the client's users (and <paramref name="owner"/>'s user) were for and against: a portrait is against when
    /// it was disliked, for when it had any other feedback.
    /// </summary>
    public Task<List<ChoiceTallies>> StyleTalliesAsync(Owner owner, CancellationToken cancellationToken) =>
        database.Command("""
            WITH verdicts AS (
                SELECT user_id, style_id, bool_or(kind = 'dislike') AS against
                FROM portrait_feedback WHERE client_id = @clientId GROUP BY generation_id, portrait_index, user_id, style_id)
            SELECT style_id,
                   count(*) FILTER (WHERE NOT against) AS everyone_for, count(*) FILTER (WHERE against) AS everyone_against,
                   count(*) FILTER (WHERE NOT against AND user_id = @userId) AS user_for, count(*) FILTER (WHERE against AND user_id = @userId) AS user_against
            FROM verdicts GROUP BY style_id
            """, new { clientId = owner.ClientId, userId = owner.UserId }).QueryAsync(ReadTallies, cancellationToken);

    /// <summary>
    /// Per arm of <paramref name="experiment"/>, the portraits everyone in it (and <paramref name="owner"/>'s user) were for and against.
    /// </summary>
    public Task<List<ChoiceTallies>> ArmTalliesAsync(Owner owner, string experiment, CancellationToken cancellationToken) =>
        database.Command("""
            WITH verdicts AS (
                SELECT f.client_id, f.user_id, g.arm, bool_or(f.kind = 'dislike') AS against
                FROM portrait_feedback f JOIN generation_jobs g ON g.id = f.generation_id
                WHERE g.experiment_key = @experiment GROUP BY f.generation_id, f.portrait_index, f.client_id, f.user_id, g.arm)
            SELECT arm AS style_id,
                   count(*) FILTER (WHERE NOT against) AS everyone_for, count(*) FILTER (WHERE against) AS everyone_against,
                   count(*) FILTER (WHERE NOT against AND client_id = @clientId AND user_id = @userId) AS user_for,
                   count(*) FILTER (WHERE against AND client_id = @clientId AND user_id = @userId) AS user_against
            FROM verdicts GROUP BY arm
            """, new { experiment, clientId = owner.ClientId, userId = owner.UserId }).QueryAsync(ReadTallies, cancellationToken);

    private static ChoiceTallies ReadTallies(NpgsqlDataReader r) => new(r.Get<string>("style_id"),
        new Tally((int)r.Get<long>("everyone_for"), (int)r.Get<long>("everyone_against")),
        new Tally((int)r.Get<long>("user_for"), (int)r.Get<long>("user_against")));

    public static string Name(FeedbackKind kind) => kind.Name();
}
