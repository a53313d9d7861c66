using System.Net;
using System.Net.ServerSentEvents;
using System.Text.Json;
using Npgsql;

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
