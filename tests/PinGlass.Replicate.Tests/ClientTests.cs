using System.Text.Json.Nodes;
using PinGlass.Replicate.Client;
using PinGlass.Replicate.Errors;

namespace PinGlass.Replicate.Tests;

/// <summary>The client against a stub answering for Replicate: headers, error bodies, and what is and is not retried.</summary>
public sealed class ClientTests
{
    private static readonly Uri Api = new("https://api.replicate.test/");
    private static readonly ModelRef Community = ModelRef.Parse("bytedance/flux-pulid:8baa7ef2255075b46f4d91cd238c21d31181b3e6a864463f967960bb0112525b");
    private static readonly ModelRef Official = ModelRef.Parse("black-forest-labs/flux-kontext-pro");

    private const string Created = """{"id":"p1","model":"bytedance/flux-pulid","version":"8baa","status":"starting","created_at":"2024-10-04T18:15:05.494Z","urls":{"get":"https://api.replicate.test/v1/predictions/p1"}}""";

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public static TheoryData<int, string, ErrorCategory> Errors => new()
    {
        { 401, """{"title":"Unauthenticated","detail":"You did not pass a valid authentication token","status":401}""", ErrorCategory.Authentication },
        { 402, """{"title":"Billing required","detail":"You need to set up billing to run this model.","status":402}""", ErrorCategory.Billing },
        { 404, """{"detail":"The requested resource could not be found.","status":404}""", ErrorCategory.NotFound },
        { 422, """{"detail":"- input.output_format: output_format must be one of the following: \"jpg\", \"png\"\n","status":422,"title":"Input validation failed","invalid_fields":[{"type":"enum","field":"input.output_format","description":"output_format must be one of the following: \"jpg\", \"png\""}]}""", ErrorCategory.Validation },
    };

    [Theory]
    [MemberData(nameof(Errors))]
    public async Task Client_errors_are_categorised_and_never_retried(int status, string body, ErrorCategory category)
    {
        var stub = new StubHandler((_, _) => StubHandler.Json(status, body));
        await using var host = await TestHost.StartAsync(Api, primary: stub);

        var get = await Assert.ThrowsAsync<ReplicateException>(() => host.Client.GetPredictionAsync("p1", Token));
        var create = await Assert.ThrowsAsync<ReplicateException>(() =>
            host.Get<Resilience.SafeCreate>().CreateAsync(Community, new JsonObject(), new(), Token));

        Assert.Equal(2, stub.Count);
        Assert.Equal((category, status), (get.Category, get.StatusCode));
        Assert.Equal(category, create.Category);
        Assert.Equal(JsonNode.Parse(body)!["detail"]!.GetValue<string>().TrimEnd(), get.Problem!.Detail!.TrimEnd());
        Assert.DoesNotContain(TestHost.Token, get.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Validation_errors_carry_their_invalid_fields()
    {
        var stub = new StubHandler((_, _) => StubHandler.Json(422, Errors.Select(r => r.Data.Item2).First(b => b.Contains("invalid_fields", StringComparison.Ordinal))));
        await using var host = await TestHost.StartAsync(Api, primary: stub);

        var error = await Assert.ThrowsAsync<ReplicateException>(() => host.Client.CreatePredictionAsync(Official, new JsonObject(), null, Token));

        var field = Assert.Single(error.InvalidFields);
        Assert.Equal(("enum", "input.output_format"), (field.Type, field.Field));
        Assert.Equal("Input validation failed", error.Problem!.Title);
    }

    [Theory]
    [InlineData(429, ErrorCategory.RateLimit)]
    [InlineData(500, ErrorCategory.ServerError)]
    [InlineData(502, ErrorCategory.ServerError)]
    [InlineData(503, ErrorCategory.ModelOverloaded)]
    [InlineData(504, ErrorCategory.ServerError)]
    public async Task Transient_errors_on_a_get_are_retried_up_to_the_limit(int status, ErrorCategory category)
    {
        var stub = new StubHandler((_, _) => StubHandler.Json(status, """{"detail":"busy"}"""));
        await using var host = await TestHost.StartAsync(Api, new Dictionary<string, string?> { ["REPLICATE_MAX_RETRIES"] = "2" }, stub);

        var error = await Assert.ThrowsAsync<ReplicateException>(() => host.Client.GetPredictionAsync("p1", Token));

        Assert.Equal(category, error.Category);
        Assert.Equal(3, stub.Count);
    }

    [Fact]
    public async Task A_get_recovers_after_a_transient_error()
    {
        var stub = new StubHandler((_, n) => n == 1 ? StubHandler.Json(503, "{}") : StubHandler.Json(200, Created));
        await using var host = await TestHost.StartAsync(Api, primary: stub);

        Assert.Equal("p1", (await host.Client.GetPredictionAsync("p1", Token)).Id);
        Assert.Equal(2, stub.Count);
    }

    [Fact]
    public async Task A_broken_connection_is_a_network_error()
    {
        var stub = new StubHandler((_, _) => throw new HttpRequestException("reset"));
        await using var host = await TestHost.StartAsync(Api, new Dictionary<string, string?> { ["REPLICATE_MAX_RETRIES"] = "1" }, stub);

        var error = await Assert.ThrowsAsync<ReplicateException>(() => host.Client.GetPredictionAsync("p1", Token));

        Assert.Equal(ErrorCategory.NetworkError, error.Category);
        Assert.Equal(2, stub.Count);
    }

    [Fact]
    public async Task An_unanswered_attempt_is_a_timeout()
    {
        await using var host = await TestHost.StartAsync(Api, new Dictionary<string, string?>
        {
            ["REPLICATE_MAX_RETRIES"] = "0",
            ["Replicate:AttemptTimeout"] = "00:00:00.050",
        }, new HangingHandler());

        var error = await Assert.ThrowsAsync<ReplicateException>(() => host.Client.GetPredictionAsync("p1", Token));

        Assert.Equal(ErrorCategory.Timeout, error.Category);
    }

    [Fact]
    public async Task A_community_model_is_created_by_version_with_wait_and_deadline_headers()
    {
        var stub = new StubHandler((_, _) => StubHandler.Json(201, Created));
        await using var host = await TestHost.StartAsync(Api, primary: stub);

        await host.Client.CreatePredictionAsync(Community, new JsonObject { ["prompt"] = "p" },
            new(TimeSpan.FromSeconds(12.2), TimeSpan.FromSeconds(5415), new Uri("https://pinglass.test/hooks/replicate"), ["completed"]), Token);

        var request = host.Requests.All.Single();
        Assert.Equal(("POST", "/v1/predictions"), (request.Method, request.PathAndQuery));
        var body = JsonNode.Parse(request.Body!)!;
        Assert.Equal(Community.Version, body["version"]!.GetValue<string>());
        Assert.Equal("p", body["input"]!["prompt"]!.GetValue<string>());
        Assert.Equal("https://pinglass.test/hooks/replicate", body["webhook"]!.GetValue<string>());
        Assert.Equal("completed", body["webhook_events_filter"]![0]!.GetValue<string>());
        Assert.Equal("wait=13", Assert.Single(stub.Last!.Headers.GetValues("Prefer")));
        Assert.Equal("1h30m15s", Assert.Single(stub.Last.Headers.GetValues("Cancel-After")));
        Assert.Equal(("Bearer", TestHost.Token), (stub.Last.Headers.Authorization!.Scheme, stub.Last.Headers.Authorization.Parameter));
    }

    [Fact]
    public async Task An_official_model_is_created_by_its_models_path()
    {
        var stub = new StubHandler((_, _) => StubHandler.Json(201, Created));
        await using var host = await TestHost.StartAsync(Api, primary: stub);

        await host.Client.CreatePredictionAsync(Official, new JsonObject { ["prompt"] = "p" }, null, Token);

        var request = host.Requests.All.Single();
        Assert.Equal("/v1/models/black-forest-labs/flux-kontext-pro/predictions", request.PathAndQuery);
        Assert.False(JsonNode.Parse(request.Body!)!.AsObject().ContainsKey("version"));
        Assert.False(stub.Last!.Headers.Contains("Prefer"));
    }

    [Theory]
    [InlineData(1, "5s")]
    [InlineData(5, "5s")]
    [InlineData(60, "1m")]
    [InlineData(3600, "1h")]
    [InlineData(3661, "1h1m1s")]
    public void Cancel_after_uses_replicates_duration_form(int seconds, string header) =>
        Assert.Equal(header, ReplicateClient.FormatDuration(TimeSpan.FromSeconds(seconds)));

    [Fact]
    public async Task Listing_follows_only_the_path_and_query_of_a_cursor()
    {
        var stub = new StubHandler((_, _) => StubHandler.Json(200, """{"next":null,"previous":null,"results":[]}"""));
        await using var host = await TestHost.StartAsync(Api, primary: stub);

        await host.Client.ListPredictionsAsync("https://elsewhere.test/v1/predictions?cursor=cD0yMDIy", cancellationToken: Token);
        await host.Client.ListPredictionsAsync(createdAfter: new DateTimeOffset(2024, 1, 2, 3, 4, 5, TimeSpan.Zero), cancellationToken: Token);
        await host.Client.ListPredictionsAsync(createdAfter: new DateTimeOffset(2024, 1, 2, 3, 4, 5, TimeSpan.Zero),
            createdBefore: new DateTimeOffset(2024, 1, 2, 3, 9, 5, TimeSpan.Zero), cancellationToken: Token);

        Assert.Equal(["https://api.replicate.test/v1/predictions?cursor=cD0yMDIy",
            "https://api.replicate.test/v1/predictions?created_after=2024-01-02T03%3A04%3A05.0000000Z",
            "https://api.replicate.test/v1/predictions?created_after=2024-01-02T03%3A04%3A05.0000000Z&created_before=2024-01-02T03%3A09%3A05.0000000Z"],
            host.Requests.All.Select(r => Api.GetLeftPart(UriPartial.Authority) + r.PathAndQuery));
    }

    [Fact]
    public async Task Retry_after_in_the_body_is_read_when_the_header_is_missing()
    {
        var stub = new StubHandler((_, _) => StubHandler.Json(429, """{"detail":"Request was throttled.","status":429,"retry_after":5}"""));
        await using var host = await TestHost.StartAsync(Api, new Dictionary<string, string?> { ["REPLICATE_MAX_RETRIES"] = "0" }, stub);

        var error = await Assert.ThrowsAsync<ReplicateException>(() => host.Client.CreatePredictionAsync(Official, new JsonObject(), null, Token));

        Assert.Equal(TimeSpan.FromSeconds(5), error.RetryAfter);
    }

    [Theory]
    [InlineData("{\"detail\":\"Request was throttled. Your rate limit resets in ~30s.\",\"status\":429}", 30)]
    [InlineData("{\"detail\":\"Request was throttled. Expected available in 1 second.\"}", 1)]
    public async Task A_wait_stated_only_in_the_throttles_text_is_read(string body, int seconds)
    {
        var stub = new StubHandler((_, _) => StubHandler.Json(429, body));
        await using var host = await TestHost.StartAsync(Api, new Dictionary<string, string?> { ["REPLICATE_MAX_RETRIES"] = "0" }, stub);

        var error = await Assert.ThrowsAsync<ReplicateException>(() => host.Client.CreatePredictionAsync(Official, new JsonObject(), null, Token));

        Assert.Equal(TimeSpan.FromSeconds(seconds), error.RetryAfter);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("Request was throttled.")]
    [InlineData("Your rate limit resets in ~s.")]
    public void A_throttle_text_without_a_wait_states_none(string? detail) => Assert.Null(ReplicateClient.WaitInText(detail));
}
