using Npgsql;
using PinGlass.Generations.Persistence;

namespace PinGlass.Generations.Clients;

/// <summary>Client applications and their API keys (<c>clients</c>, <c>api_keys</c>).</summary>
public sealed class ClientStore(NpgsqlDataSource database, TimeProvider time)
{
    /// <summary>A key's last use is written at most this often: not a write on every request.</summary>
    private static readonly TimeSpan LastUsedResolution = TimeSpan.FromMinutes(1);

    private const string KeyColumns = """
        k.id, k.hint, k.created_at, k.revoked_at, k.last_used_at, c.id AS client_id, c.name, c.operator, c.requests_per_minute,
        c.generations_per_user, c.daily_spend_cap_usd
        FROM api_keys k JOIN clients c ON c.id = k.client_id
        """;

    /// <summary>The client whose key this is; null for a key that is unknown or revoked.</summary>
    public async Task<ApiClient?> AuthenticateAsync(string key, CancellationToken cancellationToken)
    {
        if (key.Length is 0 or > ApiKeys.MaxLength)
        {
            return null;
        }

        var found = await database.Command($"SELECT {KeyColumns} WHERE k.key_hash = @hash AND k.revoked_at IS NULL", new { hash = ApiKeys.Hash(key) })
            .QuerySingleOrDefaultAsync(r => (Key: ReadKey(r), Client: new ApiClient(r.Get<Guid>("client_id"), r.Get<string>("name"), r.Get<bool>("operator"),
                r.Maybe<int>("requests_per_minute"))),
                cancellationToken);
        if (found.Key is null)
        {
            return null;
        }

        if (found.Key.LastUsedAt is not { } used || used < time.GetUtcNow() - LastUsedResolution)
        {
            await database.Command("UPDATE api_keys SET last_used_at = now() WHERE id = @id", new { id = found.Key.Id }).ExecuteAsync(cancellationToken);
        }

        return found.Client;
    }

    /// <summary>A new key for <paramref name="client"/> (created if new; made an operator with <paramref name="operatorClient"/>), shown once.</summary>
    public async Task<(ApiKeyInfo Info, string Key)> CreateKeyAsync(string client, bool operatorClient, CancellationToken cancellationToken)
    {
        var key = ApiKeys.New();
        return (await AddKeyAsync(client, operatorClient, key, cancellationToken), key);
    }

    /// <summary>Stores a key made elsewhere (the AppHost's demo key) for <paramref name="client"/>; a key stored already is left as it is.</summary>
    public async Task<ApiKeyInfo> AddKeyAsync(string client, bool operatorClient, string key, CancellationToken cancellationToken)
    {
        await database.Command("""
            WITH client AS (
                INSERT INTO clients (id, name, operator) VALUES (@clientId, @client, @operatorClient)
                ON CONFLICT (name) DO UPDATE SET operator = clients.operator OR excluded.operator
                RETURNING id)
            INSERT INTO api_keys (id, client_id, key_hash, hint) SELECT @keyId, id, @hash, @hint FROM client
            ON CONFLICT (key_hash) DO NOTHING
            """, new
        {
            clientId = Guid.CreateVersion7(),
            client,
            operatorClient,
            keyId = Guid.CreateVersion7(),
            hash = ApiKeys.Hash(key),
            hint = ApiKeys.Hint(key),
        }).ExecuteAsync(cancellationToken);
        return (await database.Command($"SELECT {KeyColumns} WHERE k.key_hash = @hash", new { hash = ApiKeys.Hash(key) })
            .QuerySingleOrDefaultAsync(ReadKey, cancellationToken))!;
    }

    /// <summary>Every key, or one client's, newest first.</summary>
    public Task<List<ApiKeyInfo>> KeysAsync(string? client, CancellationToken cancellationToken) =>
        database.Command($"SELECT {KeyColumns} WHERE @client::text IS NULL OR c.name = @client ORDER BY k.created_at DESC", new { client })
            .QueryAsync(ReadKey, cancellationToken);

    /// <summary>Sets a client's own limits (null: the defaults again). False when there is no such client.</summary>
    public async Task<bool> SetLimitsAsync(string client, ClientLimitsOverride limits, CancellationToken cancellationToken) =>
        await database.Command("""
            UPDATE clients SET requests_per_minute = @requests, generations_per_user = @perUser, daily_spend_cap_usd = @cap WHERE name = @client
            """, new { client, requests = limits.RequestsPerMinute, perUser = limits.GenerationsPerUser, cap = limits.DailySpendCap })
            .ExecuteAsync(cancellationToken) == 1;

    /// <summary>Revokes a key: from now on it authenticates nothing. False when there is no such key, or it was revoked already.</summary>
    public async Task<bool> RevokeAsync(Guid keyId, CancellationToken cancellationToken) =>
        await database.Command("UPDATE api_keys SET revoked_at = now() WHERE id = @keyId AND revoked_at IS NULL", new { keyId })
            .ExecuteAsync(cancellationToken) == 1;

    private static ApiKeyInfo ReadKey(NpgsqlDataReader r) => new(r.Get<Guid>("id"), r.Get<string>("name"), r.Get<bool>("operator"), r.Get<string>("hint"),
        r.Get<DateTimeOffset>("created_at"), r.Maybe<DateTimeOffset>("revoked_at"), r.Maybe<DateTimeOffset>("last_used_at"),
        new ClientLimitsOverride(r.Maybe<int>("requests_per_minute"), r.Maybe<int>("generations_per_user"), r.Maybe<decimal>("daily_spend_cap_usd")));
}
