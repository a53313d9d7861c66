using System.Net;
using System.Net.ServerSentEvents;
using System.Text.Json;
using Npgsql;
using PinGlass.Fixtures;
using PinGlass.Generations.Clients;
using PinGlass.Generations.Quotas;

namespace PinGlass.AppHost.Tests;

/// <summary>
/// <c>GET /v1/generations/{id}/events</c> when Redis did not carry a change (#13 item 7): the Api reads the database when Redis is quiet,
/// and a reconnecting client (<c>Last-Event-ID</c>) is sent only what is newer, or 204 once it has the end.
/// </summary>
public sealed class ProgressEventsTests(PinGlassApp pinglass)
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_follower_is_sent_a_change_that_was_never_published_and_the_stream_ends_with_it()
    {
        await using var stores = await GenerationStoresTests.ConnectAsync(pinglass);
        using var client = GenerationClient.For(pinglass.App);
        var id = await GenerationStoresTests.NewGenerationAsync(stores);

        using var response = await client.Api.GetAsync($"/v1/generations/{id}/events", HttpCompletionOption.ResponseHeadersRead, Token);
        response.EnsureSuccessStatusCode();
        await using var stream = await response.Content.ReadAsStreamAsync(Token);
        await using var events = SseParser.Create(stream).EnumerateAsync(Token).GetAsyncEnumerator(Token);
        Assert.True(await events.MoveNextAsync());
        var first = long.Parse(events.Current.EventId!);

        // Committed behind the pipeline's back: no event is published for it (as when Redis is down, or a worker dies before publishing).
        await EndUnpublishedAsync(stores.Database, id);

        using var wait = CancellationTokenSource.CreateLinkedTokenSource(Token);
        wait.CancelAfter(TimeSpan.FromSeconds(30));
        Assert.True(await events.MoveNextAsync().AsTask().WaitAsync(wait.Token));
        var ended = JsonDocument.Parse(events.Current.Data).RootElement;
        Assert.Equal((first + 1, "completed"), (long.Parse(events.Current.EventId!), ended.GetProperty("status").GetString()));
        Assert.False(await events.MoveNextAsync());
    }

    [Fact]
    public async Task A_reconnecting_follower_gets_only_what_is_newer_and_no_content_once_it_has_the_end()
    {
        await using var stores = await GenerationStoresTests.ConnectAsync(pinglass);
        using var client = GenerationClient.For(pinglass.App);
        var id = await GenerationStoresTests.NewGenerationAsync(stores);
        var before = (await stores.Generations.GetAsync(id, Token))!.Version;
        await EndUnpublishedAsync(stores.Database, id);

        var sent = await FollowAsync(client, id, before);
        Assert.Equal([(before + 1).ToString(System.Globalization.CultureInfo.InvariantCulture)], sent.Select(e => e.EventId));

        using var request = new HttpRequestMessage(HttpMethod.Get, $"/v1/generations/{id}/events");
        request.Headers.Add("Last-Event-ID", (before + 1).ToString(System.Globalization.CultureInfo.InvariantCulture));
        using var response = await client.Api.SendAsync(request, Token);
        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
    }

    [Fact]
    public async Task A_client_holds_at_most_its_limit_of_streams_open_and_one_more_is_a_429_until_one_closes()
    {
        await using var stores = await GenerationStoresTests.ConnectAsync(pinglass);
        var clients = new ClientStore(stores.Database, TimeProvider.System);
        var (_, key) = await clients.CreateKeyAsync($"streams-test-{Guid.NewGuid():N}", operatorClient: false, Token);
        var id = Guid.NewGuid();
        var owner = new Owner((await clients.AuthenticateAsync(key, Token))!.Id, ApiClients.User);
        Assert.Null(await stores.Generations.CreateAsync(GenerationStoresTests.OwnedGeneration(id, owner, 0.50m), null, Token));
        stores.Made.Add(id);
        using var client = GenerationClient.For(pinglass.App, key);
        using var demo = GenerationClient.For(pinglass.App);
        var limit = new QuotaOptions().EventStreamsPerClient;
        Task<HttpResponseMessage> OpenAsync(GenerationClient who, Guid generation) =>
            who.Api.GetAsync($"/v1/generations/{generation}/events", HttpCompletionOption.ResponseHeadersRead, Token);

        var open = new List<HttpResponseMessage>();
        try
        {
            for (var i = 0; i < limit; i++)
            {
                open.Add(await OpenAsync(client, id));
                Assert.Equal(HttpStatusCode.OK, open[^1].StatusCode);
            }

            using (var refused = await OpenAsync(client, id))
            {
                Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
                Assert.Equal(TimeSpan.FromSeconds(5), refused.Headers.RetryAfter?.Delta);
                Assert.Equal("event_streams", JsonDocument.Parse(await refused.Content.ReadAsStringAsync(Token)).RootElement.GetProperty("limit").GetString());
            }

            // Another client is not held back by this one's streams.
            using (var other = await OpenAsync(demo, await GenerationStoresTests.NewGenerationAsync(stores)))
            {
                Assert.Equal(HttpStatusCode.OK, other.StatusCode);
            }

            // One closed, one more may open (once the Api has seen it go).
            open[0].Dispose();
            open.RemoveAt(0);
            var again = await Poll.UntilAsync(() => OpenAsync(client, id), r =>
            {
                if (r.StatusCode == HttpStatusCode.OK)
                {
                    return true;
                }

                r.Dispose();
                return false;
            }, TimeSpan.FromSeconds(30));
            open.Add(again);
            Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        }
        finally
        {
            open.ForEach(r => r.Dispose());
        }
    }

    private static async Task<List<SseItem<string>>> FollowAsync(GenerationClient client, Guid id, long lastEventId)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/v1/generations/{id}/events");
        request.Headers.Add("Last-Event-ID", lastEventId.ToString(System.Globalization.CultureInfo.InvariantCulture));
        using var response = await client.Api.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, Token);
        response.EnsureSuccessStatusCode();
        await using var stream = await response.Content.ReadAsStreamAsync(Token);
        return await SseParser.Create(stream).EnumerateAsync(Token).ToListAsync(Token);
    }

    private static async Task EndUnpublishedAsync(NpgsqlDataSource database, Guid id)
    {
        await using var end = database.CreateCommand(
            "UPDATE generation_jobs SET status = 'completed', completed_at = now(), version = version + 1 WHERE id = $1");
        end.Parameters.Add(new NpgsqlParameter { Value = id });
        Assert.Equal(1, await end.ExecuteNonQueryAsync(Token));
    }
}
