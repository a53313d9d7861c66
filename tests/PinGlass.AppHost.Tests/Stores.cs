using Azure.Storage.Blobs;
using Npgsql;
using PinGlass.Platform;
using StackExchange.Redis;

namespace PinGlass.AppHost.Tests;

/// <summary>Direct clients of the stores a started AppHost runs, for tests to check what the services wrote.</summary>
public sealed class Stores(NpgsqlDataSource database, IConnectionMultiplexer redis, BlobServiceClient blobs) : IAsyncDisposable
{
    public NpgsqlDataSource Database { get; } = database;

    public IDatabase Redis { get; } = redis.GetDatabase();

    public BlobServiceClient Blobs { get; } = blobs;

    public static async Task<Stores> ConnectAsync(DistributedApplication app)
    {
        var ct = TestContext.Current.CancellationToken;
        var database = NpgsqlDataSource.Create(await Required(app, ResourceNames.Database, ct));
        var redis = await ConnectionMultiplexer.ConnectAsync(await Required(app, ResourceNames.Cache, ct));
        return new Stores(database, redis, new BlobServiceClient(await Required(app, ResourceNames.Blobs, ct)));
    }

    public async Task<List<T>> QueryAsync<T>(string sql, Func<NpgsqlDataReader, T> map)
    {
        await using var command = Database.CreateCommand(sql);
        await using var reader = await command.ExecuteReaderAsync(TestContext.Current.CancellationToken);
        var rows = new List<T>();
        while (await reader.ReadAsync(TestContext.Current.CancellationToken))
        {
            rows.Add(map(reader));
        }

        return rows;
    }

    public async ValueTask DisposeAsync()
    {
        await Database.DisposeAsync();
        await redis.DisposeAsync();
    }

    private static async Task<string> Required(DistributedApplication app, string name, CancellationToken ct) =>
        await app.GetConnectionStringAsync(name, ct) ?? throw new InvalidOperationException($"{name} has no connection string.");
}
