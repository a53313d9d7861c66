using Microsoft.Extensions.Options;
using Npgsql;
using PinGlass.Generations.Clients;
using PinGlass.Generations.Persistence;

namespace PinGlass.Generations.Quotas;

/// <summary>
/// Reads what a client and its user hold and checks one more generation against the client's limits (<see cref="Quota.Check"/>).
/// Inside the transaction that writes (or reopens) the generation it first takes the client's lock, so concurrent requests are checked
/// one after another and cannot pass a limit together (this relies on READ COMMITTED: each statement after the lock sees what the
/// previous holder committed). Before the photos are analysed it checks without the lock, to refuse early what cannot fit.
/// </summary>
public sealed class QuotaGuard(NpgsqlDataSource database, IOptions<QuotaOptions> options, TimeProvider time)
{
    /// <summary>Early: whether a new generation can fit, before work is spent on it. The write checks again.</summary>
    public async Task<QuotaExceeded?> CheckAsync(Owner owner, decimal budget, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        return await ReadAndCheckAsync(connection, null, owner, budget, null, cancellationToken);
    }

    /// <summary>
    /// Within the transaction that starts a generation, or runs <paramref name="reopening"/> again (left out of what is held: its budget
    /// is what is asked for): holds the client's lock until that transaction ends.
    /// </summary>
    public Task<QuotaExceeded?> CheckAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Owner owner, decimal budget,
        Guid? reopening, CancellationToken cancellationToken) =>
        ReadAndCheckAsync(connection, transaction, owner, budget, reopening, cancellationToken);

    private async Task<QuotaExceeded?> ReadAndCheckAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, Owner owner, decimal budget,
        Guid? reopening, CancellationToken cancellationToken)
    {
        if (transaction is not null)
        {
            await connection.Command("SELECT pg_advisory_xact_lock(hashtextextended(@client::text, @seed))",
                new { client = owner.ClientId, seed = LockNamespace }, transaction).ExecuteAsync(cancellationToken);
        }

        var defaults = options.Value;
        // The day is the database's (created_at and opened_at are its now()), in UTC. A generation that ended counts what it cost,
        // reservations of predictions still reporting their cost included; one running counts at least its whole budget.
        var (limits, usage) = await connection.Command("""
            WITH today AS (SELECT date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS start)
            SELECT coalesce(c.generations_per_user, @perUser) AS generations_per_user,
                   coalesce(c.daily_spend_cap_usd, @cap) AS daily_spend_cap_usd,
                   (SELECT count(*)::int FROM generation_jobs
                    WHERE client_id = c.id AND user_id = @user AND completed_at IS NULL AND id IS DISTINCT FROM @reopening) AS user_running,
                   (SELECT coalesce(sum(spent_usd + reserved_usd), 0) FROM generation_jobs, today
                    WHERE client_id = c.id AND opened_at >= today.start AND completed_at IS NOT NULL AND id IS DISTINCT FROM @reopening) AS spent_today,
                   (SELECT coalesce(sum(greatest(budget_usd, spent_usd + reserved_usd)), 0) FROM generation_jobs
                    WHERE client_id = c.id AND completed_at IS NULL AND id IS DISTINCT FROM @reopening) AS held
            FROM clients c WHERE c.id = @client
            """, new
        {
            client = owner.ClientId,
            user = owner.UserId,
            perUser = defaults.GenerationsPerUser,
            cap = defaults.DailySpendCap,
            reopening,
        }, transaction).QuerySingleOrDefaultAsync(r => (
            new ClientLimits(r.Get<int>("generations_per_user"), r.Get<decimal>("daily_spend_cap_usd")),
            new QuotaUsage(r.Get<int>("user_running"), r.Get<decimal>("spent_today"), r.Get<decimal>("held"))), cancellationToken);
        return limits is null
            ? throw new InvalidOperationException($"No client {owner.ClientId}: a generation is started for an authenticated client.")
            : Quota.Check(usage!, budget, limits, time.GetUtcNow());
    }

    /// <summary>The advisory-lock key space of client quotas (hashed with the client id), apart from any other advisory lock.</summary>
    private const long LockNamespace = 0x5175_6f74_61;
}
