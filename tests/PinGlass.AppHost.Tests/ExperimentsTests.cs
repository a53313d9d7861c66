using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using PinGlass.Fixtures;
using PinGlass.Generations.Clients;
using PinGlass.Generations.Experiments;
using PinGlass.Generations.Styles;
using PinGlass.Platform;

namespace PinGlass.AppHost.Tests;

/// <summary>
/// Experiments (#19 items 1 and 4), end to end on the emulator: users are assigned arms deterministically, an arm's settings reach
/// its generations' predictions, weights and stops act at run time, and an arm whose model fails 30 % of its predictions is found worse
/// than the control at 95 % confidence (60 predictions that succeed on each side, the arm's failures F ~ Bin(60, 0.3) on top: the
/// difference's interval excludes 0 unless F ≤ 4, a chance of 1·10⁻⁵). Each experiment is scoped to a client of this test's own, so the suite's other generations are
/// in no arm; and stopped at the end, as only one runs at a time.
/// </summary>
[Collection(SharedEmulator.Collection)]
public sealed class ExperimentsTests(PinGlassApp pinglass)
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    /// <summary>Twenty styles: the known-effect arms' 60 portraits each leave its detection a miss chance near 10⁻⁵ (README).</summary>
    private static readonly string Twenty = string.Join(',', StyleCatalog.Load().All.Take(20).Select(s => s.Id));

    [Fact]
    public async Task An_arm_whose_model_fails_30_percent_more_is_found_worse_at_95_percent_confidence()
    {
        var (ops, clientKey, clientId) = await ClientsAsync("experiment-effect");
        var key = $"effect-{Guid.NewGuid():N}"[..30];
        var arms = new[] { new Arm("control", 50, new ArmSettings()), new Arm("kontext", 50, new ArmSettings { Provider = "flux-kontext-pro" }) };
        await CreateAsync(ops, key, "experiment-effect", arms);
        using var client = GenerationClient.For(pinglass.App, clientKey);
        try
        {
            // A safety verdict: the portrait falls back to flux-pulid, and the model's circuit (which would send later portraits of the arm
            // elsewhere) does not count it.
            await client.SetFaultsAsync("""
                [{"kind":"prediction_failed","model":"black-forest-labs/flux-kontext-pro","probability":0.3,
                  "error":"NSFW content detected. Try running it again, or try a different prompt."}]
                """);
            // Three users of each arm, found as the Api assigns them.
            var users = Enumerable.Range(0, 200).Select(i => $"effect-user-{i}")
                .GroupBy(u => ExperimentAssignment.Assign(key, clientId, u, arms)!.Name)
                .SelectMany(g => g.Take(3).Select(u => (Arm: g.Key, User: u))).ToList();
            Assert.Equal(6, users.Count);
            var started = new List<(string Arm, string User, Guid Id)>();
            foreach (var (arm, user) in users)
            {
                using var forUser = GenerationClient.For(pinglass.App, clientKey, user);
                started.Add((arm, user, await forUser.StartAsync(("styles", Twenty), ("budget", "4"))));
            }

            foreach (var (arm, user, id) in started)
            {
                using var forUser = GenerationClient.For(pinglass.App, clientKey, user);
                var generation = await forUser.WaitAsync(id, TimeSpan.FromMinutes(5));
                Assert.Equal((key, arm), (generation.GetProperty("experiment").GetProperty("key").GetString(), generation.GetProperty("experiment").GetProperty("arm").GetString()));
                // Each portrait's first prediction went to the arm's provider.
                Assert.All(generation.GetProperty("portraits").EnumerateArray(), p => Assert.Equal(arm == "control" ? "flux-pulid" : "flux-kontext-pro",
                    p.GetProperty("attempts")[0].GetProperty("provider").GetString()));
            }
        }
        finally
        {
            await client.SetFaultsAsync("[]");
            await ops.PostAsync($"/v1/experiments/{key}/stop", null, Token);
        }

        var view = await ops.GetFromJsonAsync<JsonElement>($"/v1/experiments/{key}", Token);
        var control = view.GetProperty("arms")[0];
        var kontext = view.GetProperty("arms")[1];
        Assert.Equal(3, control.GetProperty("generations").GetInt64());
        Assert.Equal(3, kontext.GetProperty("generations").GetInt64());
        Assert.Equal(1.0, control.GetProperty("predictionSuccess").GetProperty("value").GetDouble());
        var difference = kontext.GetProperty("versusControl").GetProperty("predictionSuccess");
        Assert.True(difference.GetProperty("significant").GetBoolean(), view.ToString());
        Assert.True(difference.GetProperty("high").GetDouble() < 0, view.ToString());
        // Every outcome is given with its interval.
        foreach (var outcome in new[] { "portraitSuccess", "predictionSuccess", "costPerPortrait", "latencySeconds", "identityDistance", "flaggedRate" })
        {
            Assert.True(control.GetProperty(outcome).GetProperty("n").GetInt64() > 0, outcome);
        }

        var cost = control.GetProperty("costPerPortrait");
        Assert.True(cost.GetProperty("low").GetDouble() < cost.GetProperty("value").GetDouble() && cost.GetProperty("value").GetDouble() < cost.GetProperty("high").GetDouble(),
            cost.ToString());
        Assert.False(view.GetProperty("running").GetBoolean());
    }

    [Fact]
    public async Task Arms_are_reweighted_and_stopped_at_run_time_and_only_operators_run_experiments()
    {
        var (ops, clientKey, _) = await ClientsAsync("experiment-weights");
        var key = $"weights-{Guid.NewGuid():N}"[..30];
        await CreateAsync(ops, key, "experiment-weights", [new Arm("a", 1, new ArmSettings()), new Arm("b", 0, new ArmSettings { Steps = 4 })]);
        try
        {
            using var other = GenerationClient.For(pinglass.App);
            Assert.Equal(HttpStatusCode.Forbidden, (await other.Api.GetAsync($"/v1/experiments/{key}", Token)).StatusCode);
            // One experiment runs at a time.
            using var second = await ops.PostAsJsonAsync("/v1/experiments", new { key = key + "-2", arms = new[] { new { name = "x", weight = 1 }, new { name = "y", weight = 1 } } }, Token);
            Assert.Equal(HttpStatusCode.Conflict, second.StatusCode);

            Assert.Equal("a", await ArmOfNewGenerationAsync(clientKey, "weights-user"));
            using var reweighted = await ops.PutAsJsonAsync($"/v1/experiments/{key}/arms/b", new { weight = 1 }, Token);
            Assert.Equal(HttpStatusCode.OK, reweighted.StatusCode);
            using var stopped = await ops.PutAsJsonAsync($"/v1/experiments/{key}/arms/a", new { weight = 0 }, Token);
            Assert.Equal(HttpStatusCode.OK, stopped.StatusCode);
            Assert.Equal("b", await ArmOfNewGenerationAsync(clientKey, "weights-user"));
            Assert.Equal(HttpStatusCode.NotFound, (await ops.PutAsJsonAsync($"/v1/experiments/{key}/arms/c", new { weight = 1 }, Token)).StatusCode);
            Assert.Equal(HttpStatusCode.BadRequest, (await ops.PutAsJsonAsync($"/v1/experiments/{key}/arms/a", new { weight = -1 }, Token)).StatusCode);
            // A body that says no weight does not stop the arm.
            Assert.Equal(HttpStatusCode.BadRequest, (await ops.PutAsJsonAsync($"/v1/experiments/{key}/arms/b", new { }, Token)).StatusCode);
            Assert.Equal("b", await ArmOfNewGenerationAsync(clientKey, "weights-user"));
        }
        finally
        {
            Assert.Equal(HttpStatusCode.OK, (await ops.PostAsync($"/v1/experiments/{key}/stop", null, Token)).StatusCode);
        }

        Assert.Null(await ArmOfNewGenerationAsync(clientKey, "weights-user"));
        Assert.Equal(HttpStatusCode.NotFound, (await ops.PostAsync($"/v1/experiments/{key}/stop", null, Token)).StatusCode);
    }

    [Fact]
    public async Task The_multi_reference_arm_sends_several_references_at_once_and_is_judged_by_identity_scores()
    {
        var (ops, clientKey, clientId) = await ClientsAsync("experiment-multi");
        var key = $"multi-{Guid.NewGuid():N}"[..30];
        var arms = new[] { new Arm("single", 50, new ArmSettings()), new Arm("multi", 50, new ArmSettings { MultiReference = true }) };
        await CreateAsync(ops, key, "experiment-multi", arms);
        try
        {
            var users = Enumerable.Range(0, 100).Select(i => $"multi-user-{i}").GroupBy(u => ExperimentAssignment.Assign(key, clientId, u, arms)!.Name)
                .ToDictionary(g => g.Key, g => g.First());
            foreach (var (arm, user) in users)
            {
                using var forUser = GenerationClient.For(pinglass.App, clientKey, user);
                // The whole fixture upload: several reference faces to send at once.
                var id = await forUser.StartAsync(GenerationClient.Photos, ("styles", "professional-headshot,golden-hour,film-noir"));
                var generation = await forUser.WaitAsync(id);
                Assert.All(generation.GetProperty("portraits").EnumerateArray(), p => Assert.Equal(arm == "multi" ? "flux-multi-pulid" : "flux-pulid",
                    p.GetProperty("attempts")[0].GetProperty("provider").GetString()));
            }

            var view = await ops.GetFromJsonAsync<JsonElement>($"/v1/experiments/{key}", Token);
            foreach (var arm in view.GetProperty("arms").EnumerateArray())
            {
                var identity = arm.GetProperty("identityDistance");
                Assert.True(identity.GetProperty("n").GetInt64() >= 2, view.ToString());
                Assert.True(identity.GetProperty("low").GetDouble() < identity.GetProperty("value").GetDouble()
                    && identity.GetProperty("value").GetDouble() < identity.GetProperty("high").GetDouble(), view.ToString());
            }

            Assert.Equal(JsonValueKind.Number, view.GetProperty("arms")[1].GetProperty("versusControl").GetProperty("identityDistance").GetProperty("value").ValueKind);
        }
        finally
        {
            await ops.PostAsync($"/v1/experiments/{key}/stop", null, Token);
        }
    }

    [Fact]
    public async Task An_experiment_by_preference_gives_a_users_next_generations_the_arm_their_feedback_favours()
    {
        var (ops, clientKey, _) = await ClientsAsync("experiment-preference");
        var key = $"prefer-{Guid.NewGuid():N}"[..30];
        using (var created = await ops.PostAsJsonAsync("/v1/experiments", new
        {
            key,
            client = "experiment-preference",
            assignment = "preference",
            arms = new[] { new { name = "x", weight = 1 }, new { name = "y", weight = 1 } },
        }, Token))
        {
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        }

        try
        {
            var user = $"prefer-user-{Guid.NewGuid():N}";
            using var client = GenerationClient.For(pinglass.App, clientKey, user);
            var first = await client.StartAsync(("styles", "professional-headshot"));
            var generation = await client.WaitAsync(first);
            GenerationClient.AssertStatus("completed", generation);
            var disliked = generation.GetProperty("experiment").GetProperty("arm").GetString()!;
            var other = disliked == "x" ? "y" : "x";
            using (var feedback = await client.Api.PostAsJsonAsync($"/v1/generations/{first}/portraits/0/feedback", new { kind = "dislike" }, Token))
            {
                Assert.Equal(HttpStatusCode.OK, feedback.StatusCode);
            }

            var preferences = await client.Api.GetFromJsonAsync<JsonElement>($"/v1/users/{user}/preferences", Token);
            Assert.Equal(key, preferences.GetProperty("experiment").GetString());
            Assert.Equal([other, disliked], preferences.GetProperty("arms").EnumerateArray().Select(a => a.GetProperty("id").GetString()));

            // The favoured arm (Beta(3, 3) against the disliked one's Beta(3, 4)) is chosen but with probability 0.2, and then a draw
            // still gives it to it six times in ten: 0.92 a generation. Twenty give it fewer than twelve with a chance near 10⁻⁵.
            var arms = new List<string?>();
            for (var i = 0; i < 20; i++)
            {
                arms.Add(await ArmOfNewGenerationAsync(clientKey, user));
            }

            Assert.True(arms.Count(a => a == other) >= 12, string.Join(",", arms));
        }
        finally
        {
            await ops.PostAsync($"/v1/experiments/{key}/stop", null, Token);
        }
    }

    private async Task<string?> ArmOfNewGenerationAsync(string clientKey, string user)
    {
        using var client = GenerationClient.For(pinglass.App, clientKey, user);
        var id = await client.StartAsync(("styles", "professional-headshot"));
        var generation = await client.GetAsync(id);
        await client.Api.PostAsync($"/v1/generations/{id}/cancel", null, Token);
        return generation.GetProperty("experiment") is { ValueKind: JsonValueKind.Object } experiment ? experiment.GetProperty("arm").GetString() : null;
    }

    private async Task<(HttpClient Ops, string ClientKey, Guid ClientId)> ClientsAsync(string client)
    {
        await using var stores = await Stores.ConnectAsync(pinglass.App);
        var clients = new ClientStore(stores.Database, TimeProvider.System);
        var (_, operatorKey) = await clients.CreateKeyAsync("experiment-ops", operatorClient: true, Token);
        var (_, clientKey) = await clients.CreateKeyAsync(client, operatorClient: false, Token);
        var clientId = (await stores.QueryAsync($"SELECT id FROM clients WHERE name = '{client}'", r => r.GetGuid(0))).Single();
        return (pinglass.App.CreateHttpClient(ResourceNames.Api).ActingFor(operatorKey, user: null), clientKey, clientId);
    }

    private static async Task CreateAsync(HttpClient ops, string key, string client, IReadOnlyList<Arm> arms)
    {
        using var created = await ops.PostAsJsonAsync("/v1/experiments", new
        {
            key,
            description = "A test's",
            client,
            arms = arms.Select(a => new { name = a.Name, weight = a.Weight, settings = a.Settings }),
        }, Token);
        Assert.True(created.StatusCode == HttpStatusCode.Created, await created.Content.ReadAsStringAsync(Token));
    }
}
