using System.Net;
using System.Text.Json;

namespace PinGlass.ReplicateEmulator.Tests;

/// <summary>Authentication, error bodies, rate-limit headers, and the version formats of prediction creation.</summary>
public sealed class ApiBasicsTests(EmulatorFixture fixture) : IClassFixture<EmulatorFixture>
{
    private readonly Emulator emulator = fixture.Emulator;

    [Fact]
    public async Task Missing_token_is_401_problem_with_replicates_body()
    {
        var response = await emulator.Anonymous.GetAsync("/v1/predictions", TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("""{"title":"Unauthenticated","detail":"You did not pass an authentication token","status":401}""",
            await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task Wrong_token_is_401_and_the_legacy_token_scheme_is_accepted()
    {
        using var wrong = new HttpRequestMessage(HttpMethod.Get, "/v1/predictions");
        wrong.Headers.TryAddWithoutValidation("Authorization", "Bearer r8_wrong");
        using var legacy = new HttpRequestMessage(HttpMethod.Get, "/v1/predictions");
        legacy.Headers.TryAddWithoutValidation("Authorization", $"Token {Emulator.Token}");

        var wrongResponse = await emulator.Anonymous.SendAsync(wrong, TestContext.Current.CancellationToken);
        var legacyResponse = await emulator.Anonymous.SendAsync(legacy, TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.Unauthorized, wrongResponse.StatusCode);
        Assert.Equal("""{"title":"Unauthenticated","detail":"You did not pass a valid authentication token","status":401}""",
            await wrongResponse.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        Assert.Equal(HttpStatusCode.OK, legacyResponse.StatusCode);
    }

    [Fact]
    public async Task Unknown_prediction_and_unknown_route_are_404_with_replicates_body()
    {
        var (prediction, body) = await emulator.GetAsync("/v1/predictions/doesnotexist00000000000000");
        var (route, _) = await emulator.GetAsync("/v1/no-such-thing");

        Assert.Equal(HttpStatusCode.NotFound, prediction.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, route.StatusCode);
        Assert.Equal("""{"detail":"The requested resource could not be found.","status":404}""", body.GetRawText());
    }

    [Fact]
    public async Task Create_answers_201_with_a_starting_prediction_and_rate_limit_headers()
    {
        var created = await emulator.CreateFluxPulidAsync();

        Assert.Equal("starting", created.GetProperty("status").GetString());
        Assert.Equal(26, created.GetProperty("id").GetString()!.Length);
        Assert.Equal("bytedance/flux-pulid", created.GetProperty("model").GetString());
        Assert.Equal(JsonValueKind.Null, created.GetProperty("output").ValueKind);
        Assert.Equal("", created.GetProperty("logs").GetString());
        Assert.False(created.GetProperty("data_removed").GetBoolean());
        Assert.StartsWith(emulator.BaseAddress.ToString().TrimEnd('/'), created.GetProperty("urls").GetProperty("get").GetString());

        var (response, _) = await emulator.PostAsync("/v1/predictions", new { version = Emulator.FluxPulid, input = new { main_face_image = Emulator.SmallFaceDataUrl, width = 256, height = 256 } });
        Assert.True(int.Parse(response.Headers.GetValues("ratelimit-remaining").Single(), System.Globalization.CultureInfo.InvariantCulture) < 600);
        Assert.Equal("1", response.Headers.GetValues("ratelimit-reset").Single());
    }

    [Theory]
    [InlineData("8baa7ef2255075b46f4d91cd238c21d31181b3e6a864463f967960bb0112525b", "bytedance/flux-pulid")]
    [InlineData("bytedance/flux-pulid:8baa7ef2255075b46f4d91cd238c21d31181b3e6a864463f967960bb0112525b", "bytedance/flux-pulid")]
    [InlineData("black-forest-labs/flux-kontext-pro", "black-forest-labs/flux-kontext-pro")]
    public async Task Version_is_accepted_in_its_three_formats(string version, string model)
    {
        var input = model == "bytedance/flux-pulid"
            ? (object)new { main_face_image = Emulator.SmallFaceDataUrl, width = 256, height = 256 }
            : new { prompt = "a portrait", input_image = Emulator.SmallFaceDataUrl };

        var (response, body) = await emulator.PostAsync("/v1/predictions", new { version, input });

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal(model, body.GetProperty("model").GetString());
    }

    [Fact]
    public async Task A_community_model_by_name_alone_is_an_invalid_version()
    {
        var (response, body) = await emulator.PostAsync("/v1/predictions", new { version = "bytedance/flux-pulid", input = new { main_face_image = Emulator.SmallFaceDataUrl } });

        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        Assert.Equal("""{"title":"Invalid version or not permitted","detail":"The specified version does not exist (or perhaps you don't have permission to use it?)","status":422}""",
            body.GetRawText());
    }

    [Fact]
    public async Task Official_model_route_runs_official_models_and_404s_community_ones()
    {
        var (official, body) = await emulator.PostAsync("/v1/models/black-forest-labs/flux-kontext-pro/predictions",
            new { input = new { prompt = "a portrait", input_image = Emulator.SmallFaceDataUrl } });
        var (community, problem) = await emulator.PostAsync("/v1/models/bytedance/flux-pulid/predictions",
            new { input = new { main_face_image = Emulator.SmallFaceDataUrl } });

        Assert.Equal(HttpStatusCode.Created, official.StatusCode);
        Assert.Equal("hidden", body.GetProperty("version").GetString());
        Contract.OpenApiContract.AssertValid(body, "/models/{model_owner}/{model_name}/predictions", "post", "201");
        Assert.Equal(HttpStatusCode.NotFound, community.StatusCode);
        Assert.Equal("The requested resource could not be found.", problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task Unknown_top_level_keys_are_422_with_the_real_text()
    {
        var (response, body) = await emulator.PostAsync("/v1/predictions", new { model = "bytedance/flux-pulid", input = new { } });

        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        Assert.Equal("- version is required\n- Additional property model is not allowed\n", body.GetProperty("detail").GetString());
        Assert.Equal("additional_property_not_allowed", body.GetProperty("invalid_fields")[1].GetProperty("type").GetString());
    }

    [Fact]
    public async Task Listing_created_after_an_instant_includes_a_prediction_created_at_it_and_created_before_excludes_it()
    {
        // The OpenAPI document: created_after "at or after this date-time", created_before "before this date-time".
        var created = await emulator.CreateFluxPulidAsync();
        var id = created.GetProperty("id").GetString();
        var at = Uri.EscapeDataString(created.GetProperty("created_at").GetString()!);

        var (_, after) = await emulator.GetAsync($"/v1/predictions?created_after={at}");
        var (_, before) = await emulator.GetAsync($"/v1/predictions?created_before={at}");

        Assert.Contains(after.GetProperty("results").EnumerateArray(), p => p.GetProperty("id").GetString() == id);
        Assert.DoesNotContain(before.GetProperty("results").EnumerateArray(), p => p.GetProperty("id").GetString() == id);
    }

    [Fact]
    public async Task A_listed_prediction_has_its_input_but_not_its_webhook_as_the_published_list_example_has_and_a_get_echoes_it()
    {
        // The OpenAPI document's predictions.list example and schemas_prediction_response name input, not webhook: a client that
        // finds its predictions there by the webhook URL finds nothing.
        var created = await emulator.CreateFluxPulidAsync(new() { ["seed"] = 424242 },
            new { webhook = "https://pinglass.test/hooks?pinglass_attempt=g-1-1", webhook_events_filter = new[] { "completed" } });
        var id = created.GetProperty("id").GetString()!;
        var at = Uri.EscapeDataString(created.GetProperty("created_at").GetString()!);

        var (_, page) = await emulator.GetAsync($"/v1/predictions?created_after={at}");
        var listed = Assert.Single(page.GetProperty("results").EnumerateArray(), p => p.GetProperty("id").GetString() == id);

        Assert.Equal(424242, listed.GetProperty("input").GetProperty("seed").GetInt32());
        Assert.False(listed.TryGetProperty("webhook", out _));
        Assert.False(listed.TryGetProperty("webhook_events_filter", out _));
        Assert.Equal("https://pinglass.test/hooks?pinglass_attempt=g-1-1", (await emulator.GetPredictionAsync(id)).GetProperty("webhook").GetString());
    }

    [Fact]
    public async Task Health_is_served()
    {
        var response = await emulator.Anonymous.GetAsync("/health", TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }
}
