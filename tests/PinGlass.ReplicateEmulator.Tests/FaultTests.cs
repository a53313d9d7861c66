using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace PinGlass.ReplicateEmulator.Tests;

/// <summary>Every fault kind, set at run time through /_emulator/faults (and once through configuration); each is counted.</summary>
public sealed class FaultTests(EmulatorFixture fixture) : IClassFixture<EmulatorFixture>, IAsyncLifetime
{
    private const string Pulid = "bytedance/flux-pulid";

    private readonly Emulator emulator = fixture.Emulator;
    private WebhookReceiver receiver = null!;

    public async ValueTask InitializeAsync() => receiver = await WebhookReceiver.StartAsync();

    public async ValueTask DisposeAsync()
    {
        await emulator.SetFaultsAsync();
        await receiver.DisposeAsync();
    }

    [Fact]
    public async Task Rate_limit_fault_starts_a_429_burst_for_that_model_only()
    {
        await emulator.SetFaultsAsync(new { kind = "rate_limit", model = Pulid, count = 1, duration = "01:00:00" });
        var before = await emulator.InjectedAsync("rate_limit");

        var (first, problem) = await emulator.PostAsync("/v1/predictions", new { version = Emulator.FluxPulid, input = new { main_face_image = Emulator.SmallFaceDataUrl } });
        var (second, _) = await emulator.PostAsync("/v1/predictions", new { version = Emulator.FluxPulid, input = new { main_face_image = Emulator.SmallFaceDataUrl } });
        var (other, _) = await emulator.PostAsync("/v1/models/black-forest-labs/flux-kontext-pro/predictions", new { input = new { prompt = "x" } });

        Assert.Equal(HttpStatusCode.TooManyRequests, first.StatusCode);
        Assert.Matches(@"^Request was throttled\. Your rate limit resets in ~\d+s\.$", problem.GetProperty("detail").GetString());
        Assert.Null(first.Headers.RetryAfter); // the wait is in the text alone, as Replicate documents it
        Assert.Equal(HttpStatusCode.TooManyRequests, second.StatusCode);
        Assert.Equal(HttpStatusCode.Created, other.StatusCode);
        Assert.Equal(before + 2, await emulator.InjectedAsync("rate_limit"));
    }

    [Theory]
    [InlineData(500)]
    [InlineData(502)]
    [InlineData(503)]
    public async Task Server_error_fault_answers_the_status(int status)
    {
        await emulator.SetFaultsAsync(new { kind = "server_error", status, count = 1 });

        var (response, body) = await emulator.GetAsync("/v1/predictions");
        var (after, _) = await emulator.GetAsync("/v1/predictions");

        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal(status, body.GetProperty("status").GetInt32());
        Assert.Equal(HttpStatusCode.OK, after.StatusCode);
    }

    [Fact]
    public async Task A_fault_for_some_requests_leaves_the_others_alone()
    {
        await emulator.SetFaultsAsync(new { kind = "server_error", status = 503, count = 1, request = "POST /v1/predictions" });

        var (read, _) = await emulator.GetAsync("/v1/predictions");
        var (create, _) = await emulator.PostAsync("/v1/predictions", new { version = Emulator.FluxPulid, input = new { main_face_image = Emulator.SmallFaceDataUrl } });

        Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, create.StatusCode);
    }

    [Fact]
    public async Task Billing_required_fault_answers_creation_with_the_real_402()
    {
        await emulator.SetFaultsAsync(new { kind = "billing_required", model = Pulid });

        var (create, problem) = await emulator.PostAsync("/v1/predictions", new { version = Emulator.FluxPulid, input = new { main_face_image = Emulator.SmallFaceDataUrl } });
        var (list, _) = await emulator.GetAsync("/v1/predictions");

        Assert.Equal(HttpStatusCode.PaymentRequired, create.StatusCode);
        Assert.Equal("Billing required", problem.GetProperty("title").GetString());
        Assert.StartsWith("You need to set up billing to run this model.", problem.GetProperty("detail").GetString());
        Assert.Equal(HttpStatusCode.OK, list.StatusCode);
    }

    [Fact]
    public async Task Hang_fault_holds_the_request()
    {
        // 60 Replicate seconds at 100× is 0.6 s.
        await emulator.SetFaultsAsync(new { kind = "hang", duration = "00:01:00", count = 1 });
        var before = await emulator.InjectedAsync("hang");
        var clock = Stopwatch.StartNew();

        var (response, _) = await emulator.GetAsync("/v1/predictions");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(500), $"answered after {clock.Elapsed}");
        Assert.Equal(before + 1, await emulator.InjectedAsync("hang"));
    }

    [Fact]
    public async Task Server_error_after_processing_loses_the_answer_of_a_create_that_was_carried_out()
    {
        await emulator.SetFaultsAsync(new { kind = "server_error", model = Pulid, status = 503, count = 1, after_processing = true });
        var before = await emulator.InjectedAsync("server_error");
        var prompt = $"lost answer {Guid.NewGuid():N}";

        var (create, _) = await emulator.PostAsync("/v1/predictions", new { version = Emulator.FluxPulid, input = new { main_face_image = Emulator.SmallFaceDataUrl, prompt } });
        var made = await FindByPromptAsync(prompt);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, create.StatusCode);
        Assert.NotNull(made);
        Assert.Equal("succeeded", (await emulator.WaitForTerminalAsync(made.Value.GetProperty("id").GetString()!)).GetProperty("status").GetString());
        Assert.Equal(before + 1, await emulator.InjectedAsync("server_error"));
    }

    [Fact]
    public async Task Hang_after_processing_holds_the_answer_of_a_create_already_made()
    {
        // 5 Replicate minutes at 100× is 3 s.
        await emulator.SetFaultsAsync(new { kind = "hang", model = Pulid, duration = "00:05:00", count = 1, after_processing = true });
        var prompt = $"held answer {Guid.NewGuid():N}";

        var posting = emulator.PostAsync("/v1/predictions", new { version = Emulator.FluxPulid, input = new { main_face_image = Emulator.SmallFaceDataUrl, prompt } });
        JsonElement? made = null;
        while (made is null && !posting.IsCompleted)
        {
            made = await FindByPromptAsync(prompt);
        }

        Assert.NotNull(made);
        Assert.False(posting.IsCompleted, "the prediction should exist while its create is still unanswered");
        Assert.Equal(HttpStatusCode.Created, (await posting).Response.StatusCode);
    }

    [Fact]
    public async Task After_processing_is_refused_for_kinds_it_does_not_apply_to()
    {
        var response = await emulator.Anonymous.PutAsJsonAsync("/_emulator/faults", new[] { new { kind = "webhook_drop", after_processing = true } },
            TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("after_processing applies to server_error and hang only", (await Emulator.ReadAsync(response)).ToString());
    }

    private async Task<JsonElement?> FindByPromptAsync(string prompt)
    {
        var (_, list) = await emulator.GetAsync("/v1/predictions");
        return list.GetProperty("results").EnumerateArray()
            .Where(p => p.GetProperty("input").TryGetProperty("prompt", out var value) && value.GetString() == prompt)
            .Select(p => (JsonElement?)p)
            .FirstOrDefault();
    }

    [Fact]
    public async Task Prediction_failed_fault_fails_with_the_given_or_a_real_error_and_bills_the_time_run()
    {
        await emulator.SetFaultsAsync(new { kind = "prediction_failed", model = Pulid, error = "NSFW content detected. Try running it again, or try a different prompt.", count = 1 },
            new { kind = "prediction_failed", model = Pulid });

        var custom = await emulator.WaitForTerminalAsync((await emulator.CreateFluxPulidAsync()).GetProperty("id").GetString()!);
        var real = await emulator.WaitForTerminalAsync((await emulator.CreateFluxPulidAsync()).GetProperty("id").GetString()!);

        Assert.Equal("failed", custom.GetProperty("status").GetString());
        Assert.Equal("NSFW content detected. Try running it again, or try a different prompt.", custom.GetProperty("error").GetString());
        Assert.Equal(JsonValueKind.Null, custom.GetProperty("output").ValueKind);
        Assert.True(custom.GetProperty("metrics").GetProperty("predict_time").GetDouble() > 0);
        Assert.Contains(real.GetProperty("error").GetString(), Predictions.PredictionRunner.RealErrors);
        var (_, ledger) = await emulator.GetAsync("/_emulator/ledger", emulator.Anonymous);
        var entry = ledger.GetProperty("entries").EnumerateArray().Single(e => e.GetProperty("prediction_id").GetString() == custom.GetProperty("id").GetString());
        Assert.True(entry.GetProperty("cost_usd").GetDecimal() > 0);
    }

    [Fact]
    public async Task Model_down_fault_keeps_predictions_starting()
    {
        await emulator.SetFaultsAsync(new { kind = "model_down", model = Pulid });
        var id = (await emulator.CreateFluxPulidAsync()).GetProperty("id").GetString()!;
        // Warm predictions of other models finish meanwhile; this one never starts.
        var other = await emulator.PostAsync("/v1/models/black-forest-labs/flux-kontext-pro/predictions", new { input = new { prompt = "x" } });
        await emulator.WaitForTerminalAsync(other.Body.GetProperty("id").GetString()!);

        Assert.Equal("starting", (await emulator.GetPredictionAsync(id)).GetProperty("status").GetString());
        await emulator.PostAsync($"/v1/predictions/{id}/cancel", new { });
    }

    [Fact]
    public async Task Cold_start_fault_delays_the_start_by_its_duration()
    {
        await emulator.SetFaultsAsync(new { kind = "cold_start", model = Pulid, duration = "00:02:00", count = 1 });

        var done = await emulator.WaitForTerminalAsync((await emulator.CreateFluxPulidAsync()).GetProperty("id").GetString()!);

        var metrics = done.GetProperty("metrics");
        Assert.True(metrics.GetProperty("total_time").GetDouble() - metrics.GetProperty("predict_time").GetDouble() >= 120);
        Assert.True(done.GetProperty("started_at").GetDateTimeOffset() - done.GetProperty("created_at").GetDateTimeOffset() >= TimeSpan.FromSeconds(1.1));
    }

    [Fact]
    public async Task Slow_prediction_fault_computes_longer_and_a_cancel_bills_only_the_time_it_ran()
    {
        // flux-pulid computes 10–20 s; this one five minutes more (3 s of wall time at 100×). Cancelled once processing, it is billed
        // for what it ran, as Replicate bills a canceled prediction.
        await emulator.SetFaultsAsync(new { kind = "slow_prediction", model = Pulid, duration = "00:05:00", count = 1 });
        var id = (await emulator.CreateFluxPulidAsync()).GetProperty("id").GetString()!;
        await WaitUntilAsync(async () => (await emulator.GetPredictionAsync(id)).GetProperty("status").GetString() == "processing");
        await Task.Delay(TimeSpan.FromMilliseconds(400), TestContext.Current.CancellationToken); // 40 s of Replicate time: past any drawn time

        var (_, canceled) = await emulator.PostAsync($"/v1/predictions/{id}/cancel", new { });

        Assert.Equal("canceled", canceled.GetProperty("status").GetString());
        Assert.InRange(canceled.GetProperty("metrics").GetProperty("predict_time").GetDouble(), 30, 320);
        Assert.Equal(1, await emulator.InjectedAsync("slow_prediction"));
    }

    [Fact]
    public async Task Webhook_drop_fault_loses_the_delivery()
    {
        await emulator.SetFaultsAsync(new { kind = "webhook_drop", model = Pulid });
        var before = await emulator.InjectedAsync("webhook_drop");
        await emulator.CreateFluxPulidAsync(extra: new { webhook = receiver.Url("/dropped"), webhook_events_filter = new[] { "completed" } });

        await WaitUntilAsync(async () => await emulator.InjectedAsync("webhook_drop") > before);
        await Task.Delay(200, TestContext.Current.CancellationToken);

        Assert.Empty(receiver.For("/dropped"));
    }

    [Fact]
    public async Task Webhook_duplicate_fault_delivers_twice_with_the_same_id()
    {
        await emulator.SetFaultsAsync(new { kind = "webhook_duplicate", model = Pulid });
        await emulator.CreateFluxPulidAsync(extra: new { webhook = receiver.Url("/duplicated"), webhook_events_filter = new[] { "completed" } });

        var hooks = await receiver.WaitForAsync("/duplicated", 2);

        Assert.Equal(hooks[0].Id, hooks[1].Id);
        Assert.Equal(hooks[0].Body, hooks[1].Body);
    }

    [Fact]
    public async Task Webhook_delay_fault_delivers_late()
    {
        // 60 Replicate seconds at 100× is 0.6 s after completion.
        await emulator.SetFaultsAsync(new { kind = "webhook_delay", model = Pulid, duration = "00:01:00" });
        await emulator.CreateFluxPulidAsync(extra: new { webhook = receiver.Url("/delayed"), webhook_events_filter = new[] { "completed" } });

        var hook = (await receiver.WaitForAsync("/delayed", 1)).Single();

        Assert.True(hook.At - hook.Json.GetProperty("completed_at").GetDateTimeOffset() >= TimeSpan.FromMilliseconds(500));
    }

    [Fact]
    public async Task Webhook_reorder_fault_delivers_start_after_completed()
    {
        await emulator.SetFaultsAsync(new { kind = "webhook_reorder", model = Pulid });
        await emulator.CreateFluxPulidAsync(extra: new { webhook = receiver.Url("/reordered"), webhook_events_filter = new[] { "start", "completed" } });

        var hooks = await receiver.WaitForAsync("/reordered", 2);

        Assert.Equal(["succeeded", "processing"], hooks.Select(h => h.Status));
    }

    [Fact]
    public async Task A_reordered_delivery_with_nothing_after_it_is_still_sent_when_the_prediction_ends()
    {
        await emulator.SetFaultsAsync(new { kind = "webhook_reorder", model = Pulid });
        await emulator.CreateFluxPulidAsync(extra: new { webhook = receiver.Url("/held"), webhook_events_filter = new[] { "start" } });

        var hooks = await receiver.WaitForAsync("/held", 1);

        Assert.Equal("processing", hooks.Single().Status);
    }

    [Fact]
    public async Task Wrong_face_fault_shows_another_person()
    {
        await emulator.SetFaultsAsync(new { kind = "wrong_face", model = Pulid });

        using var image = await OutputAsync();

        // The other person (camera.png) is a grayscale photo; the user's face (astronaut.png) is in colour.
        Assert.True(ImageTests.Saturation(image) < 0.01);
        Assert.Equal(1, await emulator.InjectedAsync("wrong_face"));
    }

    [Fact]
    public async Task No_face_fault_gives_an_image_without_detail()
    {
        await emulator.SetFaultsAsync();
        using var normal = await OutputAsync();
        await emulator.SetFaultsAsync(new { kind = "no_face", model = Pulid });

        using var faceless = await OutputAsync();

        Assert.True(Detail(faceless) < 1.5, $"detail {Detail(faceless)}");
        Assert.True(Detail(normal) > 4 * Detail(faceless), $"normal {Detail(normal)}, faceless {Detail(faceless)}");
    }

    [Fact]
    public async Task Invalid_rules_are_rejected_and_rules_can_be_added_and_read()
    {
        var invalid = await emulator.Anonymous.PutAsJsonAsync("/_emulator/faults", new[] { new { kind = "meteor_strike", probability = 2.0 } }, TestContext.Current.CancellationToken);
        await emulator.SetFaultsAsync();
        var added = await emulator.Anonymous.PostAsJsonAsync("/_emulator/faults", new { kind = "server_error", model = "nobody/nothing", probability = 0.5 }, TestContext.Current.CancellationToken);
        var rules = (await Emulator.ReadAsync(added)).GetProperty("rules");

        Assert.Equal(HttpStatusCode.BadRequest, invalid.StatusCode);
        Assert.Equal(HttpStatusCode.OK, added.StatusCode);
        Assert.Equal("server_error", rules.EnumerateArray().Single().GetProperty("kind").GetString());
    }

    [Fact]
    public async Task Faults_from_configuration_apply_from_start_up()
    {
        await using var configured = await Emulator.StartAsync(new Dictionary<string, string?>
        {
            ["ReplicateEmulator:Faults:0:Kind"] = "server_error",
            ["ReplicateEmulator:Faults:0:Status"] = "503",
            ["ReplicateEmulator:Faults:0:Model"] = "black-forest-labs/flux-kontext-pro",
        });

        var (response, _) = await configured.PostAsync("/v1/models/black-forest-labs/flux-kontext-pro/predictions", new { input = new { prompt = "x" } });

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal(1, await configured.InjectedAsync("server_error"));
    }

    private async Task<Image<Rgb24>> OutputAsync()
    {
        var created = await emulator.CreateFluxPulidAsync(new() { ["main_face_image"] = Emulator.FaceDataUrl(), ["prompt"] = "portrait", ["output_format"] = "png" });
        var done = await emulator.WaitForTerminalAsync(created.GetProperty("id").GetString()!);
        return Image.Load<Rgb24>(await emulator.Anonymous.GetByteArrayAsync(done.GetProperty("output")[0].GetString(), TestContext.Current.CancellationToken));
    }

    /// <summary>Mean absolute difference between horizontal neighbours: edges, features, texture.</summary>
    private static double Detail(Image<Rgb24> image)
    {
        double sum = 0;
        long count = 0;
        for (var y = 0; y < image.Height; y += 2)
        {
            for (var x = 1; x < image.Width; x++)
            {
                var (a, b) = (image[x, y], image[x - 1, y]);
                sum += (Math.Abs(a.R - b.R) + Math.Abs(a.G - b.G) + Math.Abs(a.B - b.B)) / 3.0;
                count++;
            }
        }

        return sum / count;
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        var until = DateTime.UtcNow.AddSeconds(60);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < until, "condition not met in time");
            await Task.Delay(20, TestContext.Current.CancellationToken);
        }
    }
}
