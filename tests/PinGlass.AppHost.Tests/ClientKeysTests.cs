using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using PinGlass.Fixtures;
using PinGlass.Generations.Clients;
using PinGlass.Platform;

namespace PinGlass.AppHost.Tests;

/// <summary>
/// Client applications call the Api with their API keys, for their own end users (#14 item 1): no key, no call; another client's or
/// user's generation is the same 404 as one that does not exist; keys are stored as hashes, revocable, and record their last use; costs
/// are the caller's own, the company's only for an operator key.
/// </summary>
[Collection(SharedEmulator.Collection)]
public sealed class ClientKeysTests(PinGlassApp pinglass)
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_call_without_a_valid_key_is_a_401_problem_and_health_and_webhooks_stay_open()
    {
        using var api = pinglass.App.CreateHttpClient(ResourceNames.Api);
        await using var stores = await Stores.ConnectAsync(pinglass.App);
        var (_, revoked) = await RevokedKeyAsync(stores);
        // An end user of this test's own: other tests write generations meanwhile.
        var user = $"no-key-{Guid.NewGuid():N}";

        foreach (var authorization in new string?[] { null, "Basic dXNlcjpwYXNz", "Bearer", "Bearer pgk_not_a_key", $"Bearer {new string('k', 1_000)}",
                     $"Bearer {revoked}" })
        {
            foreach (var (method, path) in new[] { ("GET", "/v1/styles"), ("GET", $"/v1/generations/{Guid.NewGuid()}"), ("GET", "/v1/costs"), ("POST", "/v1/generations") })
            {
                using var request = new HttpRequestMessage(new HttpMethod(method), path);
                if (authorization is not null)
                {
                    request.Headers.TryAddWithoutValidation("Authorization", authorization);
                }

                request.Headers.Add(EndUsers.Header, user);
                if (method == "POST")
                {
                    request.Content = GenerationForm.Create(GenerationClient.OnePhoto, []);
                }

                using var response = await api.SendAsync(request, Token);
                var what = $"{method} {path} with {authorization?[..Math.Min(authorization.Length, 30)] ?? "no key"}";
                Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, $"{what}: {(int)response.StatusCode}");
                Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
                Assert.Equal("Bearer", response.Headers.WwwAuthenticate.Single().Scheme);
                Assert.Equal("An API key is required", (await response.Content.ReadFromJsonAsync<JsonElement>(Token)).GetProperty("title").GetString());
            }
        }

        Assert.Equal(0L, (await stores.QueryAsync($"SELECT count(*) FROM generation_jobs WHERE user_id = '{user}'", r => r.GetInt64(0))).Single());
        // Liveness and readiness are the orchestrator's; Replicate's webhooks are authenticated by their signature (an unsigned one is a
        // 401 of the receiver's own, not a key challenge).
        Assert.Equal(HttpStatusCode.OK, (await api.GetAsync("/alive", Token)).StatusCode);
        using var webhook = await api.PostAsync("/v1/webhooks/replicate", new StringContent("{}", Encoding.UTF8, "application/json"), Token);
        Assert.Equal(HttpStatusCode.Unauthorized, webhook.StatusCode);
        Assert.Equal("The webhook does not verify", (await webhook.Content.ReadFromJsonAsync<JsonElement>(Token)).GetProperty("title").GetString());
        Assert.Empty(webhook.Headers.WwwAuthenticate);
    }

    [Fact]
    public async Task A_generation_is_seen_and_touched_only_by_its_client_and_user_and_is_otherwise_the_404_of_a_missing_one()
    {
        await using var stores = await GenerationStoresTests.ConnectAsync(pinglass);
        var id = await GenerationStoresTests.NewGenerationAsync(stores); // the demo client's test user's
        var (_, otherKey) = await new ClientStore(stores.Database, TimeProvider.System).CreateKeyAsync("another-app", operatorClient: false, Token);
        using var owner = GenerationClient.For(pinglass.App);
        using var otherUser = GenerationClient.For(pinglass.App, user: "someone-else");
        using var otherClient = GenerationClient.For(pinglass.App, otherKey);

        Assert.Equal(HttpStatusCode.OK, (await owner.Api.GetAsync($"/v1/generations/{id}", Token)).StatusCode);
        var missing = await ProblemAsync(owner.Api, HttpMethod.Get, $"/v1/generations/{Guid.NewGuid()}");
        foreach (var stranger in new[] { otherUser, otherClient })
        {
            foreach (var (method, path) in new[]
                     {
                         (HttpMethod.Get, $"/v1/generations/{id}"), (HttpMethod.Get, $"/v1/generations/{id}/events"),
                         (HttpMethod.Get, $"/v1/generations/{id}/portraits/0"), (HttpMethod.Post, $"/v1/generations/{id}/cancel"),
                         (HttpMethod.Post, $"/v1/generations/{id}/portraits/0/retry"), (HttpMethod.Get, $"/v1/costs/generations/{id}"),
                     })
            {
                var problem = await ProblemAsync(stranger.Api, method, path);
                Assert.True(problem.Status == HttpStatusCode.NotFound, $"{method} {path}: {(int)problem.Status}");
                Assert.Equal(missing.Title, problem.Title);
            }
        }

        // Nothing a stranger sent changed it: still running, not asked to stop.
        Assert.Equal(0L, (await stores.Database.CreateCommand($"SELECT count(*) FROM generation_jobs WHERE id = '{id}' AND cancel_requested_at IS NOT NULL")
            .ExecuteScalarAsync(Token))!);

        // A call about a user's data names the user, once and well-formed.
        using var anonymous = GenerationClient.For(pinglass.App, user: null);
        foreach (var user in new[] { null, "", "two words", new string('u', 129) })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"/v1/generations/{id}");
            if (user is not null)
            {
                request.Headers.TryAddWithoutValidation(EndUsers.Header, user);
            }

            using var response = await anonymous.Api.SendAsync(request, Token);
            Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"user '{user}': {(int)response.StatusCode}");
            Assert.Contains(EndUsers.Header, (await response.Content.ReadFromJsonAsync<JsonElement>(Token)).GetProperty("title").GetString());
        }
    }

    [Fact]
    public async Task A_key_is_kept_only_as_its_hash_records_its_last_use_and_once_revoked_opens_nothing()
    {
        await using var stores = await Stores.ConnectAsync(pinglass.App);
        var clients = new ClientStore(stores.Database, TimeProvider.System);
        using var output = new StringWriter();
        Assert.Equal(0, await KeysCommand.Parse(["keys", "create", "revocable-app"])!.RunAsync(clients, output, Token));
        var lines = output.ToString().Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries);
        var key = lines[1];
        var keyId = Guid.Parse(lines[0].Split(' ')[1]);
        Assert.StartsWith(ApiKeys.Prefix, key);
        Assert.True(key.Length >= 40, key);

        // The row holds the SHA-256 and a hint, never the key.
        var stored = await stores.QueryAsync($"SELECT key_hash, hint, last_used_at FROM api_keys WHERE id = '{keyId}'",
            r => (Hash: (byte[])r[0], Hint: r.GetString(1), Used: r.IsDBNull(2)));
        Assert.Equal(SHA256.HashData(Encoding.UTF8.GetBytes(key)), stored.Single().Hash);
        Assert.True(stored.Single().Used);
        Assert.DoesNotContain(key, stored.Single().Hint, StringComparison.Ordinal);
        var dump = await stores.QueryAsync("SELECT api_keys::text FROM api_keys", r => r.GetString(0));
        Assert.DoesNotContain(dump, row => row.Contains(key[ApiKeys.Prefix.Length..], StringComparison.Ordinal));

        using var api = pinglass.App.CreateHttpClient(ResourceNames.Api).ActingFor(key);
        Assert.Equal(HttpStatusCode.OK, (await api.GetAsync("/v1/styles", Token)).StatusCode);
        Assert.Contains(await clients.KeysAsync("revocable-app", Token), k => k.Id == keyId && k.LastUsedAt is not null && k.RevokedAt is null);

        // The list shows each key's client's own limits, the defaults where none was set.
        Assert.Equal(0, await KeysCommand.Parse(["keys", "limits", "revocable-app", "--requests-per-minute", "77"])!.RunAsync(clients, output, Token));
        output.GetStringBuilder().Clear();
        Assert.Equal(0, await KeysCommand.Parse(["keys", "list", "revocable-app"])!.RunAsync(clients, output, Token));
        Assert.Contains($"{keyId}  revocable-app", output.ToString(), StringComparison.Ordinal);
        Assert.Contains("limits: 77 requests a minute, default generations running per user, default USD a day", output.ToString(), StringComparison.Ordinal);

        output.GetStringBuilder().Clear();
        Assert.Equal(0, await KeysCommand.Parse(["keys", "revoke", keyId.ToString()])!.RunAsync(clients, output, Token));
        Assert.Equal(HttpStatusCode.Unauthorized, (await api.GetAsync("/v1/styles", Token)).StatusCode);
        Assert.Equal(1, await KeysCommand.Parse(["keys", "revoke", keyId.ToString()])!.RunAsync(clients, output, Token));
        Assert.Equal(2, await KeysCommand.Parse(["keys", "create"])!.RunAsync(clients, output, Token));
        Assert.Null(KeysCommand.Parse(["--urls", "http://localhost:5000"]));
    }

    [Fact]
    public async Task Costs_are_the_calling_clients_own_and_the_company_view_needs_an_operator_key()
    {
        await using var stores = await Stores.ConnectAsync(pinglass.App);
        var clients = new ClientStore(stores.Database, TimeProvider.System);
        var (_, spender) = await clients.CreateKeyAsync("spending-app", operatorClient: false, Token);
        var (_, idle) = await clients.CreateKeyAsync("idle-app", operatorClient: false, Token);
        var (_, operatorKey) = await clients.CreateKeyAsync("company-operators", operatorClient: true, Token);
        using var client = GenerationClient.For(pinglass.App, spender);
        var id = await client.StartAsync(("styles", "professional-headshot"));
        GenerationClient.AssertStatus("completed", await client.WaitAsync(id));
        var generationCosts = await client.Api.GetFromJsonAsync<JsonElement>($"/v1/costs/generations/{id}", Token);
        var spent = generationCosts.GetProperty("totalCost").GetDecimal();
        Assert.True(spent > 0);

        var from = DateTimeOffset.UtcNow.AddHours(-1).ToString("O");
        async Task<decimal> TotalAsync(string key)
        {
            using var api = pinglass.App.CreateHttpClient(ResourceNames.Api).ActingFor(key, user: null);
            var report = await api.GetFromJsonAsync<JsonElement>($"/v1/costs?from={Uri.EscapeDataString(from)}", Token);
            return report.GetProperty("total").GetProperty("totalCost").GetDecimal();
        }

        // The spending client's period is its one generation; the idle one's nothing. The company's holds both of these and every other
        // client's, read last: other tests spend meanwhile, and only add to it.
        Assert.Equal(spent, await TotalAsync(spender));
        Assert.Equal(0m, await TotalAsync(idle));
        var demo = await TotalAsync(ApiClients.DemoKey);
        Assert.True(await TotalAsync(operatorKey) >= spent + demo);
    }

    private static async Task<(Guid Id, string Key)> RevokedKeyAsync(Stores stores)
    {
        var clients = new ClientStore(stores.Database, TimeProvider.System);
        var (info, key) = await clients.CreateKeyAsync("revoked-app", operatorClient: false, Token);
        Assert.True(await clients.RevokeAsync(info.Id, Token));
        return (info.Id, key);
    }

    private static async Task<(HttpStatusCode Status, string? Title)> ProblemAsync(HttpClient api, HttpMethod method, string path)
    {
        using var response = await api.SendAsync(new HttpRequestMessage(method, path), Token);
        var body = await response.Content.ReadAsStringAsync(Token);
        return (response.StatusCode, body.Length > 0 && response.Content.Headers.ContentType?.MediaType == "application/problem+json"
            ? JsonDocument.Parse(body).RootElement.GetProperty("title").GetString()
            : body);
    }
}
