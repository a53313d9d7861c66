using Microsoft.Extensions.Options;
using Npgsql;
using PinGlass.Generations.ClientWebhooks;
using PinGlass.Generations.Progress;

namespace PinGlass.Generations.Persistence;

/// <summary>What a change of version did: the progress to publish, and the client webhook deliveries it recorded, to queue.</summary>
public sealed record VersionBump(GenerationProgress Progress, IReadOnlyList<Guid> Webhooks);

/// <summary>
/// A change a client can see: bumps the generation's version and logs the change (and the client webhook milestones it reaches) in the
/// transaction that made it, and publishes the progress (and queues the webhooks) once that transaction has committed, so a change
/// rolled back is never streamed nor sent and no version is seen twice with different contents.
/// </summary>
public sealed class GenerationVersions(ProgressChannel progress, ClientWebhookOutbox webhooks, IOptions<PipelineOptions> options, TimeProvider time)
{
    /// <summary>
    /// Applies <paramref name="set"/> when <paramref name="condition"/> holds (both name their parameters in <paramref name="args"/>;
    /// <c>@id</c> is the generation) and bumps the version. Returns the progress to publish once the transaction commits (through
    /// <see cref="CommitAsync"/>); null when the condition did not hold.
    /// </summary>
    public async Task<VersionBump?> BumpAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid id, string? set, string? condition,
        PortraitChange? portrait, CancellationToken cancellationToken, object? args = null)
    {
        var sql = $"""
            UPDATE generation_jobs SET {(set is null ? "" : set + ",")} version = version + 1, updated_at = now()
            WHERE id = @id {(condition is null ? "" : "AND " + condition)}
            RETURNING *
            """;
        var command = connection.Command(sql, args, transaction);
        command.Parameters.AddWithValue("id", id);
        if (await command.QuerySingleOrDefaultAsync(GenerationStore.Read, cancellationToken) is not { } row)
        {
            return null;
        }

        var now = time.GetUtcNow();
        var progress = GenerationProgress.From(row, now, options.Value.EstimatedPredictionTime, portrait);
        if (row.ErasedAt is null)
        {
            // An erased generation's log went with it; what it does after (a prediction cancelled, its end) is not kept.
            await ProgressLog.AppendAsync(connection, transaction, progress, cancellationToken);
        }

        return new VersionBump(progress, await ClientWebhookStore.RecordAsync(connection, transaction, row, now, cancellationToken));
    }

    /// <summary>A guarded change of the generation row alone: <see cref="BumpAsync"/> in a transaction of its own.</summary>
    public Task<bool> ChangeAsync(NpgsqlDataSource database, Guid id, string? set, string? condition, CancellationToken cancellationToken,
        object? args = null) =>
        CommitAsync(database, (connection, transaction) => BumpAsync(connection, transaction, id, set, condition, null, cancellationToken, args),
            cancellationToken);

    /// <summary>
    /// A guarded change of one of the generation's other rows (<paramref name="guarded"/>, with <paramref name="guardedArgs"/>) and, when
    /// it changed a row, the generation's <paramref name="set"/> and version in the same transaction; false when the guard did not hold.
    /// </summary>
    public Task<bool> ChangeWithAsync(NpgsqlDataSource database, Guid id, string guarded, object guardedArgs, string? set, PortraitChange portrait,
        CancellationToken cancellationToken, object? setArgs = null) =>
        CommitAsync(database, async (connection, transaction) =>
            await connection.Command(guarded, guardedArgs, transaction).ExecuteAsync(cancellationToken) > 0
                ? await BumpAsync(connection, transaction, id, set, null, portrait, cancellationToken, setArgs)
                : null, cancellationToken);

    /// <summary>
    /// Runs a change that bumps the version (<paramref name="change"/> returns what <see cref="BumpAsync"/> did, null for no change) in a
    /// transaction, and publishes its progress after the commit. A publish lost to Redis, or to a process killed between the two, delays
    /// followers until they read the database again; it never shows them a state that was not committed.
    /// </summary>
    public async Task<bool> CommitAsync(NpgsqlDataSource database, Func<NpgsqlConnection, NpgsqlTransaction, Task<VersionBump?>> change,
        CancellationToken cancellationToken)
    {
        VersionBump? changed = null;
        if (!await InTransactionAsync(database, async (connection, transaction) => (changed = await change(connection, transaction)) is not null,
                cancellationToken))
        {
            return false;
        }

        webhooks.Enqueue(changed!.Webhooks);
        await progress.PublishAsync(changed.Progress);
        return true;
    }

    /// <summary>Runs <paramref name="change"/> in a transaction, committed only when it reports a change.</summary>
    public static async Task<bool> InTransactionAsync(NpgsqlDataSource database, Func<NpgsqlConnection, NpgsqlTransaction, Task<bool>> change,
        CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        if (!await change(connection, transaction))
        {
            return false;
        }

        await transaction.CommitAsync(cancellationToken);
        return true;
    }
}
