using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;

namespace PinGlass.ReplicateEmulator.Tests;

/// <summary>Behaviours that need their own emulator configuration: rate limit, retention, upload size, pagination.</summary>
public sealed class SmallLimitsTests
{
    [Fact]
    public async Task Creating_past_the_rate_limit_is_429_with_the_real_body_and_its_wait_in_the_text_alone()
    {
        await using var emulator = await Emulator.StartAsync(new Dictionary<string, string?> { ["ReplicateEmulator:CreateRateLimitPerMinute"] = "2" });
        var body = new { version = Emulator.FluxPulid, input = new { main_face_image = Emulator.SmallFaceDataUrl, width = 256, height = 256 } };

        var (first, _) = await emulator.PostAsync("/v1/predictions", body);
        var (second, _) = await emulator.PostAsync("/v1/predictions", body);
        var (third, problem) = await emulator.PostAsync("/v1/predictions", body);

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal("1", first.Headers.GetValues("ratelimit-remaining").Single());
        Assert.Equal(HttpStatusCode.Created, second.StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, third.StatusCode);
        Assert.Matches(@"^Request was throttled\. Your rate limit resets in ~\d+s\.$", problem.GetProperty("detail").GetString());
        Assert.Equal(429, problem.GetProperty("status").GetInt32());
        Assert.Null(third.Headers.RetryAfter);
        // Other endpoints have their own budget.
        var (list, _) = await emulator.GetAsync("/v1/predictions");
        Assert.Equal(HttpStatusCode.OK, list.StatusCode);
    }

    [Fact]
    public async Task Every_other_endpoint_draws_on_one_shared_budget_not_one_each()
    {
        // Replicate publishes two limits: creating predictions, and all other endpoints together.
        await using var emulator = await Emulator.StartAsync(new Dictionary<string, string?> { ["ReplicateEmulator:RateLimitPerMinute"] = "2" });

        var (list, _) = await emulator.GetAsync("/v1/predictions");
        var (model, _) = await emulator.GetAsync("/v1/models/bytedance/flux-pulid");
        var (prediction, problem) = await emulator.GetAsync("/v1/predictions/doesnotexist00000000000000");

        Assert.Equal((HttpStatusCode.OK, HttpStatusCode.OK), (list.StatusCode, model.StatusCode));
        Assert.Equal(HttpStatusCode.TooManyRequests, prediction.StatusCode);
        Assert.Matches(@"^Request was throttled\. Your rate limit resets in ~\d+s\.$", problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task After_the_retention_period_data_is_removed_and_output_urls_are_gone()
    {
        // 30 Replicate minutes at 1000× is 1.8 s: time enough to read the output URL first.
        await using var emulator = await Emulator.StartAsync(new Dictionary<string, string?>
        {
            ["ReplicateEmulator:TimeScale"] = "1000",
            ["ReplicateEmulator:RetentionPeriod"] = "00:30:00",
        });
        var created = await emulator.CreateFluxPulidAsync();
        var id = created.GetProperty("id").GetString()!;
        var succeeded = await emulator.WaitForAsync(id, p => p.GetProperty("status").GetString() == "succeeded");
        var outputUrl = succeeded.GetProperty("output")[0].GetString()!;

        var removed = await emulator.WaitForAsync(id, p => p.GetProperty("data_removed").GetBoolean());

        Assert.Equal(JsonValueKind.Null, removed.GetProperty("output").ValueKind);
        Assert.Empty(removed.GetProperty("input").EnumerateObject());
        Assert.Equal("succeeded", removed.GetProperty("status").GetString());
        var download = await emulator.Anonymous.GetAsync(outputUrl, TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.NotFound, download.StatusCode);
    }

    [Fact]
    public async Task The_control_plane_ends_one_predictions_retention_at_once()
    {
        await using var emulator = await Emulator.StartAsync(new Dictionary<string, string?> { ["ReplicateEmulator:TimeScale"] = "1000" });
        var created = await emulator.CreateFluxPulidAsync();
        var id = created.GetProperty("id").GetString()!;
        var succeeded = await emulator.WaitForAsync(id, p => p.GetProperty("status").GetString() == "succeeded");
        var outputUrl = succeeded.GetProperty("output")[0].GetString()!;
        Assert.Equal(HttpStatusCode.OK, (await emulator.Anonymous.GetAsync(outputUrl, TestContext.Current.CancellationToken)).StatusCode);

        var expire = await emulator.Anonymous.PostAsync(new Uri(emulator.Client.BaseAddress!, $"/_emulator/predictions/{id}/expire"), null,
            TestContext.Current.CancellationToken);
        var unknown = await emulator.Anonymous.PostAsync(new Uri(emulator.Client.BaseAddress!, "/_emulator/predictions/nosuchprediction/expire"), null,
            TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.NoContent, expire.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        var (_, removed) = await emulator.GetAsync($"/v1/predictions/{id}");
        Assert.True(removed.GetProperty("data_removed").GetBoolean());
        Assert.Equal(JsonValueKind.Null, removed.GetProperty("output").ValueKind);
        Assert.Equal(HttpStatusCode.NotFound, (await emulator.Anonymous.GetAsync(outputUrl, TestContext.Current.CancellationToken)).StatusCode);
    }

    [Fact]
    public async Task An_upload_over_the_size_limit_is_413_with_the_real_body()
    {
        await using var emulator = await Emulator.StartAsync(new Dictionary<string, string?> { ["ReplicateEmulator:MaxFileBytes"] = "1000" });
        using var form = new MultipartFormDataContent { { new ByteArrayContent(new byte[2000]), "content", "big.bin" } };

        var response = await emulator.Client.PostAsync("/v1/files", form, TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var body = await Emulator.ReadAsync(response);
        Assert.Equal("""{"detail":"Files must be less than 100MB in size"}""", body.GetRawText());
        Contract.OpenApiContract.AssertValid(body, "/files", "post", "413");
    }

    [Fact]
    public async Task Predictions_are_listed_newest_first_100_a_page_with_absolute_cursor_urls()
    {
        await using var emulator = await Emulator.StartAsync(new Dictionary<string, string?> { ["ReplicateEmulator:TimeScale"] = "1000" });
        var ids = new List<string>();
        for (var i = 0; i < 130; i++)
        {
            ids.Add((await emulator.CreateFluxPulidAsync()).GetProperty("id").GetString()!);
        }

        var (_, first) = await emulator.GetAsync("/v1/predictions");
        Contract.OpenApiContract.AssertValid(first, "/predictions", "get", "200");
        var next = first.GetProperty("next").GetString()!;
        var (_, second) = await emulator.GetAsync(next);
        var previous = second.GetProperty("previous").GetString()!;
        var (_, back) = await emulator.GetAsync(previous);

        static string[] Ids(JsonElement page) => [.. page.GetProperty("results").EnumerateArray().Select(p => p.GetProperty("id").GetString()!)];
        ids.Reverse();
        Assert.Equal(ids.Take(100), Ids(first));
        Assert.Equal(JsonValueKind.Null, first.GetProperty("previous").ValueKind);
        Assert.StartsWith(emulator.BaseAddress + "v1/predictions?cursor=", next);
        Assert.Equal(ids.Skip(100), Ids(second));
        Assert.Equal(JsonValueKind.Null, second.GetProperty("next").ValueKind);
        Assert.Equal(Ids(first), Ids(back));
    }

    [Fact]
    public async Task Public_base_url_is_used_in_the_urls_handed_out()
    {
        await using var emulator = await Emulator.StartAsync(new Dictionary<string, string?> { ["ReplicateEmulator:PublicBaseUrl"] = "https://replicate.pinglass.test/" });

        var created = await emulator.CreateFluxPulidAsync();

        Assert.StartsWith("https://replicate.pinglass.test/v1/predictions/", created.GetProperty("urls").GetProperty("get").GetString());
    }

    [Fact]
    public async Task Invalid_configuration_stops_start_up()
    {
        var error = await Assert.ThrowsAnyAsync<Exception>(() => Emulator.StartAsync(new Dictionary<string, string?>
        {
            ["ReplicateEmulator:WebhookSecret"] = "not-a-secret",
        }));

        Assert.Contains("WebhookSecret", error.Message);
    }
}
