using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using PinGlass.Fixtures;
using PinGlass.Generations.Clients;
using PinGlass.Platform;
using StandardWebhooks;

namespace PinGlass.AppHost.Tests;

/// <summary>
/// Client webhooks (#19 item 3), end to end: a generation with a callbackUrl posts each milestone there once, signed with the client's
/// own secret; a failed attempt is tried again with the same webhook-id; one that fails every attempt is a dead letter ops see and
/// replay. (The test AppHost retries after 1 s and 2 s, and is in Development, where the loopback receiver may be called.)
/// </summary>
[Collection(SharedEmulator.Collection)]
public sealed class ClientWebhooksTests(PinGlassApp pinglass)
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private static readonly string[] Milestones = ["started", "portraits-25", "portraits-50", "portraits-75", "ended"];

    [Fact]
    public async Task Each_milestone_arrives_once_delivered_signed_with_the_clients_secret_and_a_refused_attempt_is_sent_again()
    {
        await using var receiver = await CallbackReceiver.StartAsync();
        await using var stores = await Stores.ConnectAsync(pinglass.App);
        // A client of this test's own: it rotates the client's secret.
        var (_, key) = await new ClientStore(stores.Database, TimeProvider.System).CreateKeyAsync("webhook-client", operatorClient: false, Token);
        using var client = GenerationClient.For(pinglass.App, key);
        var path = $"/flaky/{Guid.NewGuid():N}";
        var id = await client.StartAsync(("styles", "professional-headshot,black-and-white-studio,golden-hour,film-noir"),
            ("callbackUrl", receiver.BaseUrl + path));
        var generation = await client.WaitAsync(id);
        Assert.Equal(receiver.BaseUrl + path, generation.GetProperty("callbackUrl").GetString());

        var received = await Poll.UntilAsync(() => Task.FromResult(receiver.For(path)),
            r => r.Count(x => x.Answered == 200) == Milestones.Length, TimeSpan.FromSeconds(90));
        var secret = (await client.Api.GetFromJsonAsync<JsonElement>("/v1/webhooks/secret", Token)).GetProperty("secret").GetString()!;
        Assert.All(received, request => Assert.True(Signed(secret, request), request.WebhookId));

        // Every webhook-id was refused once, then delivered: two requests each, the same body both times.
        var byId = received.GroupBy(r => r.WebhookId).ToList();
        Assert.Equal(Milestones.Length, byId.Count);
        Assert.All(byId, g => Assert.Equal([503, 200], g.Select(r => r.Answered)));
        Assert.All(byId, g => Assert.Single(g.Select(r => r.Body).Distinct()));
        var events = byId.Select(g => JsonDocument.Parse(g.Last().Body).RootElement).ToList();
        Assert.Equal(Milestones.Order(), events.Select(e => e.GetProperty("data").GetProperty("milestone").GetString()).Order());
        var ended = events.Single(e => e.GetProperty("type").GetString() == "generation.ended").GetProperty("data");
        Assert.Equal(id, ended.GetProperty("id").GetGuid());
        Assert.Equal(ApiClients.User, ended.GetProperty("user").GetString());
        Assert.Equal(generation.GetProperty("status").GetString(), ended.GetProperty("status").GetString());
        Assert.Equal(4, ended.GetProperty("completed").GetInt32());
        Assert.All(events.Where(e => e.GetProperty("data").GetProperty("milestone").GetString()!.StartsWith("portraits-", StringComparison.Ordinal)),
            e => Assert.Equal("generation.progress", e.GetProperty("type").GetString()));

        // The receiver saw its 200 before the Jobs recorded it: the rows are read until they say delivered.
        var rows = await Poll.UntilAsync(() => stores.QueryAsync($"SELECT attempts, delivered_at IS NOT NULL FROM client_webhooks WHERE generation_id = '{id}'",
            r => (Attempts: r.GetInt32(0), Delivered: r.GetBoolean(1))), r => r.Count == Milestones.Length && r.All(x => x.Delivered), TimeSpan.FromSeconds(30));
        Assert.All(rows, r => Assert.Equal((2, true), r));

        // A rotated secret signs what is sent from then on; the old one no longer verifies it.
        using var rotated = await client.Api.PostAsync("/v1/webhooks/secret/rotate", null, Token);
        var newSecret = (await rotated.Content.ReadFromJsonAsync<JsonElement>(Token)).GetProperty("secret").GetString()!;
        Assert.NotEqual(secret, newSecret);

        // A portrait retried on request runs the generation again: its end is a milestone of its own.
        using (var retry = await client.Api.PostAsync($"/v1/generations/{id}/portraits/0/retry", null, Token))
        {
            Assert.Equal(HttpStatusCode.Accepted, retry.StatusCode);
        }

        // The retry reopened it (running) before it answered: this waits for the second end.
        await client.WaitAsync(id);
        var again = await Poll.UntilAsync(() => Task.FromResult(receiver.For(path)),
            r => r.Any(x => x.Answered == 200 && x.Body.Contains("\"milestone\":\"ended-2\"", StringComparison.Ordinal)), TimeSpan.FromSeconds(90));
        var secondEnd = again.Where(x => x.Body.Contains("\"milestone\":\"ended-2\"", StringComparison.Ordinal)).ToList();
        Assert.Equal([503, 200], secondEnd.Select(r => r.Answered));
        Assert.Equal("generation.ended", JsonDocument.Parse(secondEnd[^1].Body).RootElement.GetProperty("type").GetString());
        Assert.True(Signed(newSecret, secondEnd[^1]));
        Assert.False(Signed(secret, secondEnd[^1]));
    }

    /// <summary>
    /// Whether <paramref name="secret"/> signed the request as Standard Webhooks specifies, over its own webhook-id, webhook-timestamp
    /// and body. A library's Verify also refuses a timestamp five minutes old, which a slow run's first milestone may be by the time it
    /// is checked here; the signature is what this test is about.
    /// </summary>
    private static bool Signed(string secret, CallbackReceiver.Received request) =>
        long.TryParse(request.Headers["webhook-timestamp"], out var seconds)
        && request.Headers["webhook-signature"].ToString().Split(' ').Contains(
            new StandardWebhook(secret).Sign(request.WebhookId, DateTimeOffset.FromUnixTimeSeconds(seconds), request.Body));

    [Fact]
    public async Task A_webhook_that_fails_every_attempt_is_a_dead_letter_ops_can_replay_with_its_webhook_id()
    {
        await using var receiver = await CallbackReceiver.StartAsync();
        using var client = GenerationClient.For(pinglass.App);
        await using var stores = await Stores.ConnectAsync(pinglass.App);
        var path = $"/down/{Guid.NewGuid():N}";
        var id = await client.StartAsync(("styles", "professional-headshot"), ("callbackUrl", receiver.BaseUrl + path));
        await client.WaitAsync(id);

        // Three attempts (the first and one after each of the two delays), then dead.
        await Poll.UntilAsync(() => stores.QueryAsync($"SELECT count(*) FILTER (WHERE dead_at IS NOT NULL), count(*) FROM client_webhooks WHERE generation_id = '{id}'",
            r => (Dead: r.GetInt64(0), All: r.GetInt64(1))), c => c.Single() is var (dead, all) && all == Milestones.Length && dead == all, TimeSpan.FromSeconds(120));
        Assert.All(receiver.For(path).GroupBy(r => r.WebhookId), g => Assert.Equal([500, 500, 500], g.Select(r => r.Answered)));

        var (_, operatorKey) = await new ClientStore(stores.Database, TimeProvider.System).CreateKeyAsync("webhook-ops", operatorClient: true, Token);
        using var ops = pinglass.App.CreateHttpClient(ResourceNames.Api).ActingFor(operatorKey, user: null);
        var dead = await ops.GetFromJsonAsync<List<JsonElement>>("/v1/webhooks/dead-letters", Token);
        var ended = dead!.Single(d => d.GetProperty("generationId").GetGuid() == id && d.GetProperty("milestone").GetString() == "ended");
        Assert.Equal(3, ended.GetProperty("attempts").GetInt32());
        Assert.Equal(500, ended.GetProperty("lastStatus").GetInt32());
        // A client's own key is not an operator's.
        Assert.Equal(HttpStatusCode.Forbidden, (await client.Api.GetAsync("/v1/webhooks/dead-letters", Token)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await ops.PostAsync($"/v1/webhooks/deliveries/{Guid.NewGuid()}/replay", null, Token)).StatusCode);

        receiver.Healed = true;
        var deliveryId = ended.GetProperty("id").GetGuid();
        using var replay = await ops.PostAsync($"/v1/webhooks/deliveries/{deliveryId}/replay", null, Token);
        Assert.Equal(HttpStatusCode.Accepted, replay.StatusCode);
        var messageId = ended.GetProperty("messageId").GetString();
        var delivered = await Poll.UntilAsync(() => Task.FromResult(receiver.For(path).Where(r => r.WebhookId == messageId).ToList()),
            r => r.Any(x => x.Answered == 200), TimeSpan.FromSeconds(60));
        Assert.Equal([500, 500, 500, 200], delivered.Select(r => r.Answered));
        Assert.Single(delivered.Select(r => r.Body).Distinct());
        await Poll.UntilAsync(() => stores.QueryAsync($"SELECT count(*) FROM client_webhooks WHERE id = '{deliveryId}' AND delivered_at IS NOT NULL AND dead_at IS NULL",
            r => r.GetInt64(0)), c => c.Single() == 1, TimeSpan.FromSeconds(30));
        // The other dead letters stay dead: a replay is one delivery's.
        var stillDead = await ops.GetFromJsonAsync<List<JsonElement>>("/v1/webhooks/dead-letters", Token) ?? [];
        Assert.DoesNotContain(stillDead, d => d.GetProperty("id").GetGuid() == deliveryId);
        Assert.Equal(Milestones.Length - 1, stillDead.Count(d => d.GetProperty("generationId").GetGuid() == id));

        // Erased, the generation's webhooks go with it (they name its user): none is listed, kept or replayed.
        Assert.Equal(HttpStatusCode.NoContent, (await client.Api.DeleteAsync($"/v1/generations/{id}", Token)).StatusCode);
        Assert.Equal(0L, (await stores.QueryAsync($"SELECT count(*) FROM client_webhooks WHERE generation_id = '{id}'", r => r.GetInt64(0))).Single());
        Assert.Equal(HttpStatusCode.NotFound, (await ops.PostAsync($"/v1/webhooks/deliveries/{deliveryId}/replay", null, Token)).StatusCode);
    }

    [Theory]
    [InlineData("ftp://example.com/hook")]
    [InlineData("https://user:password@example.com/hook")]
    [InlineData("/relative/hook")]
    public async Task A_callback_url_that_cannot_be_used_is_a_400_naming_it_and_nothing_is_stored(string url)
    {
        using var client = GenerationClient.For(pinglass.App);
        using var response = await client.PostAsync(GenerationClient.OnePhoto, ("styles", "professional-headshot"), ("callbackUrl", url));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>(Token);
        Assert.True(problem.GetProperty("errors").TryGetProperty("callbackUrl", out _), problem.ToString());
    }
}
