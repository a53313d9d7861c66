using System.Security.Cryptography;
using Npgsql;
using PinGlass.Generations.Persistence;

namespace PinGlass.Generations.ClientWebhooks;

/// <summary>A delivery leased for one attempt: what to post where, signed with which secret.</summary>
/// <param name="Lease">The attempt's own: its outcome is recorded only while the delivery is still leased to it.</param>
public sealed record WebhookDelivery(Guid Id, string Url, string Body, string Secret, int Attempt, Guid Lease = default)
{
    /// <summary>The Standard Webhooks message id: the same on every attempt and replay, so a receiver drops what it has seen.</summary>
    public string MessageId => $"msg_{Id:N}";
}

/// <summary>A delivery as ops see it.</summary>
public sealed record WebhookDeliveryView(Guid Id, string MessageId, Guid GenerationId, string Client, string Milestone, string Url, int Attempts,
    DateTimeOffset CreatedAt, DateTimeOffset? DeliveredAt, DateTimeOffset? DeadAt, int? LastStatus, string? LastError);

/// <summary>
/// The <c>client_webhooks</c> outbox: a row per generation and milestone, written in the transaction that reached it; leased for an
/// attempt (so two jobs for one delivery send it once at a time, and a killed attempt is counted), then delivered, due again, or dead.
/// </summary>
public sealed class ClientWebhookStore(NpgsqlDataSource database)
{
    /// <summary>
    /// Records the milestones <paramref name="row"/> has reached, once each, when it has a callback (and is not erased); the ids of the
    /// rows it added, to queue after the commit.
    /// </summary>
    public static async Task<IReadOnlyList<Guid>> RecordAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, GenerationRow row,
        DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (row.CallbackUrl is not { } url || row.ClientId is not { } client || row.ErasedAt is not null
            || WebhookMilestones.Reached(row.Status, row.Completed, row.Total, row.Runs) is not { Count: > 0 } milestones)
        {
            return [];
        }

        return await connection.Command("""
            INSERT INTO client_webhooks (id, generation_id, client_id, milestone, url, body)
            SELECT m.id, @generation, @client, m.milestone, @url, m.body FROM unnest(@ids, @milestones, @bodies) AS m(id, milestone, body)
            ON CONFLICT (generation_id, milestone) DO NOTHING
            RETURNING id
            """, new
        {
            generation = row.Id,
            client,
            url,
            ids = milestones.Select(_ => Guid.CreateVersion7(now)).ToArray(),
            milestones = milestones.ToArray(),
            bodies = milestones.Select(m => WebhookMilestones.Body(m, row, row.UserId, now)).ToArray(),
        }, transaction).QueryAsync(r => r.Get<Guid>("id"), cancellationToken);
    }

    /// <summary>
    /// Takes the delivery for one attempt (counted now, so an attempt killed midway counts) until <paramref name="lease"/> has passed;
    /// null when it is delivered, dead, not due, or another attempt holds it.
    /// </summary>
    public Task<WebhookDelivery?> LeaseAsync(Guid id, TimeSpan lease, CancellationToken cancellationToken) =>
        database.Command("""
            UPDATE client_webhooks w SET attempts = w.attempts + 1, leased_until = now() + @lease, lease_id = @leaseId
            FROM clients c
            WHERE w.id = @id AND c.id = w.client_id AND c.webhook_secret IS NOT NULL AND w.delivered_at IS NULL AND w.dead_at IS NULL
              AND w.next_attempt_at <= now() + interval '1 second' AND (w.leased_until IS NULL OR w.leased_until < now())
            RETURNING w.id, w.url, w.body, c.webhook_secret, w.attempts, w.lease_id
            """, new { id, lease, leaseId = Guid.NewGuid() })
            .QuerySingleOrDefaultAsync(r => new WebhookDelivery(r.Get<Guid>("id"), r.Get<string>("url"), r.Get<string>("body"),
                r.Get<string>("webhook_secret"), r.Get<int>("attempts"), r.Get<Guid>("lease_id")), cancellationToken);

    /// <summary>
    /// An attempt's outcome: delivered; due again after <paramref name="retryAfter"/>; or, with neither, dead. Written only if that
    /// attempt (its <paramref name="lease"/>) still holds the delivery (its lease may have run out and a later attempt taken it): false
    /// if not.
    /// </summary>
    public async Task<bool> RecordAttemptAsync(Guid id, Guid lease, bool delivered, TimeSpan? retryAfter, int? status, string? error,
        CancellationToken cancellationToken) =>
        await database.Command("""
            UPDATE client_webhooks SET leased_until = NULL, lease_id = NULL, last_status = @status, last_error = @error,
                delivered_at = CASE WHEN @delivered THEN now() END,
                dead_at = CASE WHEN NOT @delivered AND @retryAfter::interval IS NULL THEN now() END,
                next_attempt_at = CASE WHEN @retryAfter::interval IS NULL THEN next_attempt_at ELSE now() + @retryAfter::interval END
            WHERE id = @id AND lease_id = @lease AND delivered_at IS NULL AND dead_at IS NULL
            """, new { id, lease, delivered, retryAfter, status, error = error?[..Math.Min(error.Length, 1000)] }).ExecuteAsync(cancellationToken) == 1;

    /// <summary>
    /// Deliveries due for longer than <paramref name="grace"/>, not held by an attempt and not swept within it: their queued job was lost.
    /// Marked swept as they are returned, so the next sweep does not queue them again while their job waits in a backlog.
    /// </summary>
    public Task<List<Guid>> OverdueAsync(TimeSpan grace, CancellationToken cancellationToken) =>
        database.Command("""
            UPDATE client_webhooks SET swept_at = now()
            WHERE id IN (SELECT id FROM client_webhooks
                         WHERE delivered_at IS NULL AND dead_at IS NULL AND next_attempt_at < now() - @grace
                           AND (leased_until IS NULL OR leased_until < now()) AND (swept_at IS NULL OR swept_at < now() - @grace)
                         ORDER BY next_attempt_at LIMIT 500 FOR UPDATE SKIP LOCKED)
            RETURNING id
            """, new { grace }).QueryAsync(r => r.Get<Guid>("id"), cancellationToken);

    /// <summary>The dead letters, newest first (one client's by name, or all).</summary>
    public Task<List<WebhookDeliveryView>> DeadAsync(string? client, int limit, CancellationToken cancellationToken) =>
        database.Command("""
            SELECT w.*, c.name FROM client_webhooks w JOIN clients c ON c.id = w.client_id
            WHERE w.dead_at IS NOT NULL AND (@client::text IS NULL OR c.name = @client)
            ORDER BY w.dead_at DESC LIMIT @limit
            """, new { client, limit }).QueryAsync(Read, cancellationToken);

    public Task<WebhookDeliveryView?> GetAsync(Guid id, CancellationToken cancellationToken) =>
        database.Command("SELECT w.*, c.name FROM client_webhooks w JOIN clients c ON c.id = w.client_id WHERE w.id = @id", new { id })
            .QuerySingleOrDefaultAsync(Read, cancellationToken);

    /// <summary>
    /// A dead or delivered delivery due again now, its attempts from zero (same message id and body); false when there is no such
    /// delivery, it is still being tried, or its generation was erased.
    /// </summary>
    public async Task<bool> ReplayAsync(Guid id, CancellationToken cancellationToken) =>
        await database.Command("""
            UPDATE client_webhooks w SET attempts = 0, dead_at = NULL, delivered_at = NULL, leased_until = NULL, lease_id = NULL, swept_at = NULL,
                next_attempt_at = now()
            FROM generation_jobs g
            WHERE w.id = @id AND g.id = w.generation_id AND g.erased_at IS NULL AND (w.dead_at IS NOT NULL OR w.delivered_at IS NOT NULL)
            """, new { id }).ExecuteAsync(cancellationToken) == 1;

    /// <summary>The client's signing secret (<c>whsec_</c> and 32 random bytes), made the first time it is asked for.</summary>
    public async Task<string> SecretAsync(Guid clientId, CancellationToken cancellationToken)
    {
        await EnsureSecretAsync(database.Command(EnsureSql, new { clientId, secret = NewSecret() }), cancellationToken);
        return (await database.Command("SELECT webhook_secret FROM clients WHERE id = @clientId", new { clientId })
            .QuerySingleOrDefaultAsync(r => r.Text("webhook_secret"), cancellationToken))!;
    }

    /// <summary>
    /// Gives the client a new secret: webhooks sent from now on are signed with it, and the old one no longer verifies them (one still
    /// being tried is signed anew on its next attempt).
    /// </summary>
    public async Task<string> RotateSecretAsync(Guid clientId, CancellationToken cancellationToken)
    {
        var secret = NewSecret();
        await database.Command("UPDATE clients SET webhook_secret = @secret WHERE id = @clientId", new { clientId, secret }).ExecuteAsync(cancellationToken);
        return secret;
    }

    /// <summary>Makes the client's secret if it has none (in the transaction that writes its first generation with a callback).</summary>
    public static Task EnsureSecretAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid clientId, CancellationToken cancellationToken) =>
        EnsureSecretAsync(connection.Command(EnsureSql, new { clientId, secret = NewSecret() }, transaction), cancellationToken);

    private const string EnsureSql = "UPDATE clients SET webhook_secret = @secret WHERE id = @clientId AND webhook_secret IS NULL";

    private static Task EnsureSecretAsync(NpgsqlCommand command, CancellationToken cancellationToken) => command.ExecuteAsync(cancellationToken);

    private static string NewSecret() => "whsec_" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    private static WebhookDeliveryView Read(NpgsqlDataReader r) => new(r.Get<Guid>("id"), $"msg_{r.Get<Guid>("id"):N}", r.Get<Guid>("generation_id"),
        r.Get<string>("name"), r.Get<string>("milestone"), r.Get<string>("url"), r.Get<int>("attempts"), r.Get<DateTimeOffset>("created_at"),
        r.Maybe<DateTimeOffset>("delivered_at"), r.Maybe<DateTimeOffset>("dead_at"), r.Maybe<int>("last_status"), r.Text("last_error"));
}
