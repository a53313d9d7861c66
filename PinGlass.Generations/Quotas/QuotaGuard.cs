using Microsoft.Extensions.Options;
using Npgsql;
using PinGlass.Generations.Clients;
using PinGlass.Generations.Persistence;

namespace PinGlass.Generations.Quotas;

/// <summary>
/// Reads what a client and its user hold and checks one more generation against the client's limits (<see cref="Quota.Check"/>). Inside
/// the transaction that writes the generation it first takes the client's lock, so concurrent requests are checked one after another
/// and cannot pass a limit together; before the photos are analysed it checks without the lock, to refuse early what cannot fit.
/// </summary>
public sealed class QuotaGuard(NpgsqlDataSource database, IOptions<QuotaOptions> options, TimeProvider time)
{
    /// <summary>Early: whether the generation can fit, before work is spent on it. The write checks again.</summary>
    public async Task<QuotaExceeded?> CheckAsync(Owner owner, decimal budget, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        return await ReadAndCheckAsync(connection, null, owner, budget, cancellationToken);
    }

    /// <summary>Within the transaction that starts (or reopens) a generation: holds the client's lock until that transaction ends.</summary>
    public Task<QuotaExceeded?> CheckAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Owner owner, decimal budget,
        CancellationToken cancellationToken) =>
        ReadAndCheckAsync(connection, transaction, owner, budget, cancellationToken);

    private async Task<QuotaExceeded?> ReadAndCheckAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, Owner owner, decimal budget,
        CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        if (transaction is not null)
        {
            await connection.Command("SELECT pg_advisory_xact_lock(hashtextextended(@client::text, @seed))",
                new { client = owner.ClientId, seed = LockNamespace }, transaction).ExecuteAsync(cancellationToken);
        }

        var defaults = options.Value;
        var (limits, usage) = await connection.Command("""
            SELECT coalesce(c.requests_per_minute, @requests) AS requests_per_minute,
                   coalesce(c.generations_per_user, @perUser) AS generations_per_user,
                   coalesce(c.daily_spend_cap_usd, @cap) AS daily_spend_cap_usd,
                   (SELECT count(*)::int FROM generation_jobs
                    WHERE client_id = c.id AND user_id = @user AND completed_at IS NULL) AS user_running,
                   (SELECT coalesce(sum(spent_usd) FILTER (WHERE completed_at IS NOT NULL), 0) FROM generation_jobs
                    WHERE client_id = c.id AND created_at >= @dayStart) AS spent_today,
                   (SELECT coalesce(sum(budget_usd) FILTER (WHERE completed_at IS NULL), 0) FROM generation_jobs
                    WHERE client_id = c.id AND created_at >= @dayStart) AS held_today
            FROM clients c WHERE c.id = @client
            """, new
        {
            client = owner.ClientId,
            user = owner.UserId,
            requests = defaults.RequestsPerMinute,
            perUser = defaults.GenerationsPerUser,
            cap = defaults.DailySpendCap,
            dayStart = Quota.DayStart(now),
        }, transaction).QuerySingleOrDefaultAsync(r => (
            new ClientLimits(r.Get<int>("requests_per_minute"), r.Get<int>("generations_per_user"), r.Get<decimal>("daily_spend_cap_usd")),
            new QuotaUsage(r.Get<int>("user_running"), r.Get<decimal>("spent_today"), r.Get<decimal>("held_today"))), cancellationToken);
        return limits is null
            ? throw new InvalidOperationException($"No client {owner.ClientId}: a generation is started for an authenticated client.")
            : Quota.Check(usage!, budget, limits, now);
    }

    /// <summary>The advisory-lock key space of client quotas (hashed with the client id), apart from any other advisory lock.</summary>
    private const long LockNamespace = 0x5175_6f74_61;
}
