using System.Net;
using System.Text.Json;
using Azure.Storage.Blobs;
using PinGlass.Generations.Clients;
using PinGlass.Platform;
using PinGlass.Platform.Storage;

namespace PinGlass.AppHost.Tests;

/// <summary>
/// Quotas and limits (#14 item 2), each client with limits of its own: requests per minute counted in Redis, generations running
/// per end user and a daily spend cap checked in PostgreSQL under the client's lock, so concurrent requests cannot pass one together.
/// Every refusal is a 429 problem naming its limit, with Retry-After, and stores nothing.
/// </summary>
[Collection(SharedEmulator.Collection)]
public sealed class QuotaTests(PinGlassApp pinglass)
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_client_past_its_requests_per_minute_is_answered_429_until_the_minute_ends_and_other_clients_are_not()
    {
        var (key, _) = await NewClientAsync(new ClientLimitsOverride(RequestsPerMinute: 5, null, null));
        using var limited = GenerationClient.For(pinglass.App, key);
        using var demo = GenerationClient.For(pinglass.App);

        // The window starts with the first request: the refusal a few seconds later says when it ends, not a whole minute.
        Assert.Equal(HttpStatusCode.OK, (await limited.Api.GetAsync("/v1/styles", Token)).StatusCode);
        await Task.Delay(TimeSpan.FromSeconds(3), Token);
        for (var i = 1; i < 5; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await limited.Api.GetAsync("/v1/styles", Token)).StatusCode);
        }

        using var refused = await limited.Api.GetAsync("/v1/styles", Token);
        await AssertLimitAsync(refused, "requests_per_minute", TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(58));
        Assert.Equal(HttpStatusCode.OK, (await demo.Api.GetAsync("/v1/styles", Token)).StatusCode);
    }

    [Fact]
    public async Task Concurrent_generations_cannot_pass_a_users_running_limit_or_the_clients_daily_cap_together()
    {
        // One generation a user at a time, and $1.50 a day. Alice's runs its first portrait, then waits a minute before its second: it is
        // still running while the others ask, and holds its whole $1.00 of the day's cap.
        var (key, client) = await NewClientAsync(new ClientLimitsOverride(null, GenerationsPerUser: 1, DailySpendCap: 1.50m));
        using var alice = GenerationClient.For(pinglass.App, key, "alice");
        using var bob = GenerationClient.For(pinglass.App, key, "bob");
        await using var stores = await Stores.ConnectAsync(pinglass.App);
        var photosBefore = await PhotoBlobsAsync(stores.Blobs);

        var tries = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => PostAsync(alice, ("styles", "professional-headshot,golden-hour"),
            ("batchSize", "1"), ("batchDelayMs", "60000"), ("budget", "1.00"))));
        var accepted = tries.Where(t => t.Status == HttpStatusCode.Accepted).Select(t => t.Body.GetProperty("id").GetGuid()).ToList();
        try
        {
            var id = Assert.Single(accepted);
            foreach (var (status, body, retryAfter) in tries.Where(t => t.Status != HttpStatusCode.Accepted))
            {
                Assert.Equal((HttpStatusCode.TooManyRequests, "generations_per_user", TimeSpan.FromSeconds(30)),
                    (status, body.GetProperty("limit").GetString(), retryAfter));
            }

            // Bob is another user, but the day's cap holds Alice's whole budget while her generation runs; it may end under budget.
            var overCap = await PostAsync(bob, ("styles", "professional-headshot"), ("budget", "0.60"));
            Assert.Equal((HttpStatusCode.TooManyRequests, "daily_spend_cap", TimeSpan.FromSeconds(30)),
                (overCap.Status, overCap.Body.GetProperty("limit").GetString(), overCap.RetryAfter));
            // A budget over the whole cap can never fit: no Retry-After.
            var never = await PostAsync(bob, ("styles", "professional-headshot"), ("budget", "2.00"));
            Assert.Equal((HttpStatusCode.UnprocessableEntity, "daily_spend_cap", (TimeSpan?)null), (never.Status, never.Body.GetProperty("limit").GetString(), never.RetryAfter));
        }
        finally
        {
            foreach (var started in accepted)
            {
                await alice.Api.PostAsync($"/v1/generations/{started}/cancel", null, Token);
            }
        }

        // Once hers has ended, only what it cost (at most its budget) counts: $0.50 fits beside it.
        var aliceId = accepted.Single();
        await alice.WaitAsync(aliceId);
        var fits = await PostAsync(bob, ("styles", "professional-headshot"), ("budget", "0.50"));
        Assert.True(fits.Status == HttpStatusCode.Accepted, fits.Body.ToString());
        var bobs = fits.Body.GetProperty("id").GetGuid();
        await bob.Api.PostAsync($"/v1/generations/{bobs}/cancel", null, Token);
        await bob.WaitAsync(bobs);

        var written = await stores.QueryAsync($"SELECT g.id FROM generation_jobs g JOIN clients c ON c.id = g.client_id WHERE c.name = '{client}'",
            r => r.GetGuid(0));
        Assert.Equal(new[] { aliceId, bobs }.Order(), written.Order());
        // The two refused after their photos were analysed left no reference crops behind: every new one belongs to a written generation.
        var orphans = await Poll.UntilAsync(async () =>
        {
            var added = (await PhotoBlobsAsync(stores.Blobs)).Except(photosBefore).Select(name => Guid.ParseExact(name[..32], "N")).Distinct().ToList();
            var known = added.Count == 0 ? [] : await stores.QueryAsync(
                $"SELECT id FROM generation_jobs WHERE id IN ({string.Join(",", added.Select(g => $"'{g}'"))})", r => r.GetGuid(0));
            return added.Except(known).ToList();
        }, o => o.Count == 0, TimeSpan.FromSeconds(30));
        Assert.Empty(orphans);
    }

    private async Task<(string Key, string Name)> NewClientAsync(ClientLimitsOverride limits)
    {
        await using var stores = await Stores.ConnectAsync(pinglass.App);
        var clients = new ClientStore(stores.Database, TimeProvider.System);
        var name = $"quota-test-{Guid.NewGuid():N}";
        var (_, key) = await clients.CreateKeyAsync(name, operatorClient: false, Token);
        Assert.True(await clients.SetLimitsAsync(name, limits, Token));
        return (key, name);
    }

    /// <summary>Posts one photo; an upload the faces service could not take now (503) is sent again after its Retry-After, as an app would.</summary>
    private static async Task<(HttpStatusCode Status, JsonElement Body, TimeSpan? RetryAfter)> PostAsync(GenerationClient client,
        params (string Name, string Value)[] fields)
    {
        for (var attempt = 1; ; attempt++)
        {
            using var response = await client.PostAsync(GenerationClient.OnePhoto, fields);
            if (response.StatusCode == HttpStatusCode.ServiceUnavailable && attempt < 5 && response.Headers.RetryAfter?.Delta is { } wait)
            {
                await Task.Delay(wait, Token);
                continue;
            }

            return (response.StatusCode, JsonDocument.Parse(await response.Content.ReadAsStringAsync(Token)).RootElement.Clone(), response.Headers.RetryAfter?.Delta);
        }
    }

    private static async Task AssertLimitAsync(HttpResponseMessage response, string limit, TimeSpan shortest, TimeSpan longest)
    {
        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(limit, JsonDocument.Parse(await response.Content.ReadAsStringAsync(Token)).RootElement.GetProperty("limit").GetString());
        Assert.InRange(response.Headers.RetryAfter?.Delta ?? TimeSpan.Zero, shortest, longest);
    }

    private static async Task<HashSet<string>> PhotoBlobsAsync(BlobServiceClient blobs)
    {
        var names = new HashSet<string>();
        await foreach (var blob in blobs.GetBlobContainerClient(BlobContainers.Photos).GetBlobsAsync(cancellationToken: Token))
        {
            names.Add(blob.Name);
        }

        return names;
    }
}
