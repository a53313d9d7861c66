using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Azure.Storage.Blobs;
using PinGlass.Photos.Intake;
using PinGlass.Platform.Storage;
using StackExchange.Redis;

namespace PinGlass.AppHost.Tests;

/// <summary>
/// Faces forgotten on time and on request (#14 item 4): erasure of a user and the retention job, checked in what the stores hold.
/// In the emulator's turn: a running generation's prediction is made slow, and must be cancelled by the erasure.
/// </summary>
[Collection(SharedEmulator.Collection)]
public sealed class PrivacyTests(PinGlassApp pinglass) : IAsyncLifetime
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private readonly GenerationClient emulator = GenerationClient.For(pinglass.App);

    public async ValueTask InitializeAsync() => await emulator.SetFaultsAsync("[]");

    public async ValueTask DisposeAsync()
    {
        await emulator.SetFaultsAsync("[]");
        emulator.Dispose();
    }

    [Fact]
    public async Task Erasing_a_user_leaves_nothing_of_theirs_in_PostgreSQL_Redis_or_blob_storage_and_keeps_what_they_spent()
    {
        var tag = Guid.NewGuid().ToString("N");
        // Erin's id has a slash in it, which the path carries percent-encoded.
        var (user, otherUser) = ($"team/erin-{tag}", $"olga-{tag}");
        using var erin = GenerationClient.For(pinglass.App, user: user);
        using var olga = GenerationClient.For(pinglass.App, user: otherUser);
        await using var stores = await Stores.ConnectAsync(pinglass.App);
        var photo = GenerationClient.OnePhoto[0];
        IReadOnlyList<UploadedPhoto> Named(string name) => [photo with { FileName = name + Path.GetExtension(photo.FileName) }];

        // One of Erin's generations has ended, another still runs (its prediction computes ten minutes); Olga is another user of the client.
        var ids = await Task.WhenAll(erin.StartAsync(Named($"erin-selfie-{tag}"), ("styles", "professional-headshot")),
            olga.StartAsync(Named($"olga-selfie-{tag}"), ("styles", "professional-headshot")));
        var (ended, olgas) = (ids[0], ids[1]);
        GenerationClient.AssertStatus("completed", await erin.WaitAsync(ended));
        GenerationClient.AssertStatus("completed", await olga.WaitAsync(olgas));
        await emulator.SetFaultsAsync("""[{"kind":"slow_prediction","model":"bytedance/flux-pulid","duration":"00:10:00","count":1}]""");
        var running = await erin.StartAsync(Named($"erin-again-{tag}"), ("styles", "golden-hour"));
        var predictionId = await Poll.UntilAsync(async () => (await erin.GetAsync(running)).GetProperty("portraits")[0].GetProperty("attempts")
                .EnumerateArray().Select(a => a.GetProperty("predictionId").GetString()).FirstOrDefault(p => p is not null),
            p => p is not null, TimeSpan.FromMinutes(2));
        Assert.NotNull(predictionId);
        Guid[] erins = [ended, running];
        var spent = await SpentAsync(stores, erins);
        Assert.True(spent > 0, "Erin's generations cost something");

        using var erase = await erin.Api.DeleteAsync($"/v1/users/{Uri.EscapeDataString(user)}", Token);

        // The running generation's files wait for its prediction to be cancelled: accepted, not done (unless the cancel job was
        // quicker than the request's own deletion of the other's files).
        Assert.True(erase.StatusCode is HttpStatusCode.Accepted or HttpStatusCode.NoContent, $"{erase.StatusCode}");
        if (erase.StatusCode == HttpStatusCode.Accepted)
        {
            var erasure = await erase.Content.ReadFromJsonAsync<JsonElement>(Token);
            Assert.Equal((2, 1), (erasure.GetProperty("generations").GetInt32(), erasure.GetProperty("filesPending").GetInt32()));
        }

        foreach (var id in erins)
        {
            Assert.Equal(HttpStatusCode.NotFound, (await erin.Api.GetAsync($"/v1/generations/{id}", Token)).StatusCode);
            Assert.Equal(HttpStatusCode.NotFound, (await erin.Api.GetAsync($"/v1/generations/{id}/portraits/0", Token)).StatusCode);
        }

        var cancelled = await Poll.UntilAsync(() => emulator.EmulatorPredictionAsync(predictionId),
            p => p.GetProperty("status").GetString() is not ("starting" or "processing"), TimeSpan.FromMinutes(2));
        Assert.Equal("canceled", cancelled.GetProperty("status").GetString());
        var left = await Poll.UntilAsync(() => BlobsAsync(stores.Blobs), blobs => !blobs.Any(b => erins.Any(id => b.Contains($"{id:N}"))),
            TimeSpan.FromMinutes(2));

        // Nothing of Erin's anywhere: not her id, not her files' names, not her generations' ids in a blob or a Redis key or value.
        string[] hers = [user, $"erin-selfie-{tag}", $"erin-again-{tag}", .. erins.SelectMany(id => new[] { $"{id:N}", $"{id}" })];
        Assert.DoesNotContain(left, b => hers.Any(b.Contains));
        Assert.DoesNotContain(await RedisTextAsync(stores.Redis), text => hers.Any(text.Contains));
        Assert.Empty(await PostgresRowsWithAsync(stores, [user, $"erin-selfie-{tag}", $"erin-again-{tag}"]));
        var list = string.Join(",", erins.Select(id => $"'{id}'"));
        Assert.Equal(0L, (await stores.QueryAsync($"""
            SELECT count(*) FROM generation_jobs WHERE id IN ({list})
              AND (user_id IS NOT NULL OR reference_centroid IS NOT NULL OR photos::text LIKE '%score%' OR reference_photos::text LIKE '%score%'
                   OR erased_at IS NULL OR files_deleted_at IS NULL)
            """, r => r.GetInt64(0))).Single());
        Assert.Equal(0L, (await stores.QueryAsync($"""
            SELECT (SELECT count(*) FROM portraits WHERE generation_id IN ({list}) AND (blob_name IS NOT NULL OR identity_distance IS NOT NULL))
                 + (SELECT count(*) FROM predictions WHERE generation_id IN ({list}) AND (output_url IS NOT NULL OR blob_name IS NOT NULL))
                 + (SELECT count(*) FROM progress_log WHERE generation_id IN ({list}))
            """, r => r.GetInt64(0))).Single());

        // What was spent stays spent, with the client, in the ledger: the cancelled prediction added what it ran.
        Assert.True(await SpentAsync(stores, erins) >= spent);
        Assert.Equal(0L, (await stores.QueryAsync($"SELECT count(*) FROM predictions WHERE generation_id IN ({list}) AND status IN ('creating', 'starting', 'processing')",
            r => r.GetInt64(0))).Single());

        // Olga's is hers still, files and all; erasing Erin again has nothing left to do.
        Assert.Equal(HttpStatusCode.OK, (await olga.Api.GetAsync($"/v1/generations/{olgas}/portraits/0", Token)).StatusCode);
        Assert.Contains(left, b => b.Contains($"{olgas:N}/reference-0"));
        Assert.Equal(HttpStatusCode.NoContent, (await erin.Api.DeleteAsync($"/v1/users/{Uri.EscapeDataString(user)}", Token)).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await erin.Api.DeleteAsync("/v1/users/two%20words", Token)).StatusCode);
    }

    [Fact]
    public async Task Faces_are_deleted_a_day_after_the_end_and_the_generation_is_erased_thirty_days_after_it()
    {
        using var client = GenerationClient.For(pinglass.App);
        await using var stores = await Stores.ConnectAsync(pinglass.App);
        var id = await client.StartAsync(("styles", "professional-headshot"));
        var generation = await client.WaitAsync(id);
        GenerationClient.AssertStatus("completed", generation);
        var completedAt = generation.GetProperty("completedAt").GetDateTimeOffset();
        var retention = generation.GetProperty("retention");
        Assert.Equal((completedAt.AddHours(24), completedAt.AddDays(30), false), (retention.GetProperty("facesDeletedBy").GetDateTimeOffset(),
            retention.GetProperty("portraitsDeletedBy").GetDateTimeOffset(), retention.GetProperty("facesDeleted").GetBoolean()));
        Assert.Contains($"{BlobContainers.Photos}/{id:N}/reference-0.jpg", await BlobsAsync(stores.Blobs));

        Assert.True(await LoggedAsync(stores, id) > 0);

        // A day and an hour later (as the database sees it): the retention job deletes the faces and the progress log no follower
        // needs any more, and keeps the portraits.
        await BackdateAsync(stores, id, "25 hours");
        Assert.True(await Poll.UntilAsync(() => FilesDeletedAsync(stores, id), done => done, TimeSpan.FromMinutes(2)));
        var blobs = await BlobsAsync(stores.Blobs);
        Assert.DoesNotContain(blobs, b => b.StartsWith($"{BlobContainers.Photos}/{id:N}/", StringComparison.Ordinal));
        Assert.Contains(blobs, b => b.StartsWith($"{BlobContainers.Portraits}/{id:N}/", StringComparison.Ordinal));
        Assert.Equal(0L, await LoggedAsync(stores, id));
        var forgotten = await client.GetAsync(id);
        Assert.True(forgotten.GetProperty("retention").GetProperty("facesDeleted").GetBoolean());
        Assert.Equal("""[{"index":0}]""", forgotten.GetProperty("references").GetRawText());
        Assert.Equal((0, 0), (forgotten.GetProperty("photos").GetProperty("photos").GetArrayLength(),
            forgotten.GetProperty("photos").GetProperty("refused").GetArrayLength()));
        Assert.Equal(0L, (await stores.QueryAsync($"SELECT count(*) FROM generation_jobs WHERE id = '{id}' AND reference_centroid IS NOT NULL",
            r => r.GetInt64(0))).Single());
        Assert.Equal(HttpStatusCode.OK, (await client.Api.GetAsync($"/v1/generations/{id}/portraits/0", Token)).StatusCode);

        // Nothing left to make a portrait from: a retry is refused, saying why.
        using var retry = await client.Api.PostAsync($"/v1/generations/{id}/portraits/0/retry", null, Token);
        Assert.Equal(HttpStatusCode.Conflict, retry.StatusCode);
        Assert.Contains("retention", (await retry.Content.ReadFromJsonAsync<JsonElement>(Token)).GetProperty("detail").GetString());

        // Thirty days after its end the generation is erased: its portraits go, its cost stays.
        var spent = await SpentAsync(stores, [id]);
        await BackdateAsync(stores, id, "30 days");
        Assert.True(await Poll.UntilAsync(() => FilesDeletedAsync(stores, id, erased: true), done => done, TimeSpan.FromMinutes(2)));
        Assert.Equal(HttpStatusCode.NotFound, (await client.Api.GetAsync($"/v1/generations/{id}", Token)).StatusCode);
        Assert.DoesNotContain(await BlobsAsync(stores.Blobs), b => b.Contains($"{id:N}"));
        Assert.Equal(spent, await SpentAsync(stores, [id]));
    }

    private static async Task BackdateAsync(Stores stores, Guid id, string interval) =>
        await stores.QueryAsync($"UPDATE generation_jobs SET completed_at = completed_at - interval '{interval}' WHERE id = '{id}' RETURNING id",
            r => r.GetGuid(0));

    private static async Task<bool> FilesDeletedAsync(Stores stores, Guid id, bool erased = false) =>
        (await stores.QueryAsync($"""
            SELECT files_deleted_at >= greatest(faces_deleted_at, erased_at) AND (erased_at IS NOT NULL) = {erased}
            FROM generation_jobs WHERE id = '{id}'
            """, r => !r.IsDBNull(0) && r.GetBoolean(0))).Single();

    private static async Task<decimal> SpentAsync(Stores stores, Guid[] ids) =>
        (await stores.QueryAsync($"SELECT coalesce(sum(cost_usd), 0) FROM predictions WHERE generation_id IN ({string.Join(",", ids.Select(id => $"'{id}'"))})",
            r => r.GetDecimal(0))).Single();

    /// <summary>Every blob in every container, as <c>container/name</c>.</summary>
    private static async Task<List<string>> BlobsAsync(BlobServiceClient blobs)
    {
        var names = new List<string>();
        await foreach (var container in blobs.GetBlobContainersAsync(cancellationToken: Token))
        {
            await foreach (var blob in blobs.GetBlobContainerClient(container.Name).GetBlobsAsync(cancellationToken: Token))
            {
                names.Add($"{container.Name}/{blob.Name}");
            }
        }

        return names;
    }

    /// <summary>Every key in Redis and what it holds, as text.</summary>
    private static async Task<List<string>> RedisTextAsync(IDatabase redis)
    {
        var texts = new List<string>();
        foreach (var server in redis.Multiplexer.GetServers())
        {
            await foreach (var key in server.KeysAsync(redis.Database, "*"))
            {
                texts.Add(key.ToString());
                var type = await redis.KeyTypeAsync(key);
                texts.AddRange(type switch
                {
                    RedisType.String => [(await redis.StringGetAsync(key)).ToString()],
                    RedisType.Hash => (await redis.HashGetAllAsync(key)).Select(e => $"{e.Name}={e.Value}"),
                    RedisType.List => (await redis.ListRangeAsync(key)).Select(v => v.ToString()),
                    RedisType.Set => (await redis.SetMembersAsync(key)).Select(v => v.ToString()),
                    RedisType.SortedSet => (await redis.SortedSetRangeByRankAsync(key)).Select(v => v.ToString()),
                    RedisType.Stream => (await redis.StreamRangeAsync(key)).SelectMany(e => e.Values.Select(v => $"{v.Name}={v.Value}")),
                    _ => [],
                });
            }
        }

        return texts;
    }

    private static async Task<long> LoggedAsync(Stores stores, Guid id) =>
        (await stores.QueryAsync($"SELECT count(*) FROM progress_log WHERE generation_id = '{id}'", r => r.GetInt64(0))).Single();

    /// <summary>Rows of any table in PinGlass's and Hangfire's schemas whose text holds one of <paramref name="needles"/>.</summary>
    private static async Task<List<string>> PostgresRowsWithAsync(Stores stores, string[] needles)
    {
        var tables = await stores.QueryAsync("""
            SELECT format('%I.%I', table_schema, table_name) FROM information_schema.tables
            WHERE table_schema IN ('public', 'hangfire') AND table_type = 'BASE TABLE'
            """, r => r.GetString(0));
        Assert.Contains("public.generation_jobs", tables);
        var found = new List<string>();
        foreach (var table in tables)
        {
            var matches = new StringBuilder();
            foreach (var needle in needles)
            {
                await using var command = stores.Database.CreateCommand($"SELECT count(*) FROM {table} t WHERE strpos(t::text, $1) > 0");
                command.Parameters.Add(new Npgsql.NpgsqlParameter { Value = needle });
                if ((long)(await command.ExecuteScalarAsync(Token))! > 0)
                {
                    matches.Append(needle).Append(' ');
                }
            }

            if (matches.Length > 0)
            {
                found.Add($"{table}: {matches}");
            }
        }

        return found;
    }
}
