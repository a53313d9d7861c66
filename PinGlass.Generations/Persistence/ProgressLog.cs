using System.Text.Json;
using Microsoft.Extensions.Options;
using Npgsql;
using NpgsqlTypes;
using PinGlass.Generations.Progress;

namespace PinGlass.Generations.Persistence;

/// <summary>
/// The log of a generation's changes as followers are sent them (<see cref="ProgressFollower"/>): each written by the transaction that
/// made it (<see cref="GenerationVersions"/>), so it holds every committed change and none rolled back.
/// </summary>
public sealed class ProgressLog(NpgsqlDataSource database, GenerationStore generations, IOptions<PipelineOptions> options, TimeProvider time)
{
    internal static async Task AppendAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, GenerationProgress progress,
        CancellationToken cancellationToken)
    {
        var append = connection.Command("INSERT INTO progress_log (generation_id, version, progress) VALUES (@id, @version, @progress)",
            new { id = progress.GenerationId, version = progress.Version }, transaction);
        append.Parameters.Add(new NpgsqlParameter("progress", NpgsqlDbType.Jsonb) { Value = JsonSerializer.Serialize(progress, GenerationProgress.Json) });
        await append.ExecuteAsync(cancellationToken);
    }

    /// <summary>
    /// The changes of generation <paramref name="id"/> newer than <paramref name="seen"/>, oldest first, ending with its state now (which
    /// is <paramref name="seen"/> or older when nothing is newer); null once it is gone. The state is read first: every change up to it
    /// had committed by then (its version's row lock orders them), so none between is missed.
    /// </summary>
    public async Task<IReadOnlyList<GenerationProgress>?> SinceAsync(Guid id, long seen, CancellationToken cancellationToken)
    {
        if (await generations.GetAsync(id, cancellationToken) is not { } row)
        {
            return null;
        }

        var now = GenerationProgress.From(row, time.GetUtcNow(), options.Value.EstimatedPredictionTime);
        var changes = await database.Command("""
                SELECT progress FROM progress_log WHERE generation_id = @id AND version > @seen AND version <= @version ORDER BY version
                """, new { id, seen, version = row.Version })
            .QueryAsync(r => JsonSerializer.Deserialize<GenerationProgress>(r.Get<string>("progress"), GenerationProgress.Json)!, cancellationToken);
        // A change made before the log was kept, or one no follower is sent (an erasure), leaves the state now unlogged.
        if (changes.Count == 0 || changes[^1].Version < now.Version)
        {
            changes.Add(now);
        }

        return changes;
    }
}
