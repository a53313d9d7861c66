using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;

namespace PinGlass.ReplicateEmulator.Tests;

/// <summary>starting → processing → terminal, Prefer: wait, cancel, Cancel-After, and what the ledger bills for each.</summary>
public sealed class LifecycleTests(EmulatorFixture fixture) : IClassFixture<EmulatorFixture>
{
    private const decimal FluxPulidUsdPerSecond = 0.001400m;

    private readonly Emulator emulator = fixture.Emulator;

    [Fact]
    public async Task A_prediction_succeeds_with_timestamps_metrics_and_outputs_and_is_billed_for_its_predict_time()
    {
        var created = await emulator.CreateFluxPulidAsync(new() { ["num_outputs"] = 2 });
        var id = created.GetProperty("id").GetString()!;

        var done = await emulator.WaitForTerminalAsync(id);

        Assert.Equal("succeeded", done.GetProperty("status").GetString());
        var createdAt = done.GetProperty("created_at").GetDateTimeOffset();
        var startedAt = done.GetProperty("started_at").GetDateTimeOffset();
        var completedAt = done.GetProperty("completed_at").GetDateTimeOffset();
        Assert.True(createdAt <= startedAt && startedAt <= completedAt);
        var predictTime = done.GetProperty("metrics").GetProperty("predict_time").GetDouble();
        // Design latency: 10–20 s an image, in Replicate seconds whatever the time scale.
        Assert.InRange(predictTime, 20, 40);
        Assert.True(done.GetProperty("metrics").GetProperty("total_time").GetDouble() >= predictTime);
        Assert.Equal(2, done.GetProperty("output").GetArrayLength());
        Assert.Contains("Using seed:", done.GetProperty("logs").GetString());

        var entry = await LedgerEntryAsync(id);
        Assert.Equal("succeeded", entry.GetProperty("status").GetString());
        Assert.Equal(Math.Round((decimal)predictTime * FluxPulidUsdPerSecond, 12), entry.GetProperty("cost_usd").GetDecimal());
    }

    [Fact]
    public void A_cancel_that_finds_the_predict_time_run_but_the_runner_not_yet_woken_finds_it_succeeded()
    {
        // A busy machine wakes the runner late: the prediction is still processing when its planned time has run. On Replicate it would
        // have succeeded then; a cancel (here the compute guard's, which read it as overrunning) must find it so, billed for its plan.
        var services = emulator.Services;
        var clock = services.GetRequiredService<Clock>();
        var model = services.GetRequiredService<Models.ModelCatalog>().Find("bytedance", "flux-pulid")!;
        var plan = new Latency.LatencyPlan(TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(12), ColdStart: false);
        var prediction = new Predictions.Prediction($"late{Guid.NewGuid():N}"[..26], 0, model, "v", JsonDocument.Parse("{}").RootElement,
            "http://127.0.0.1", null, null, clock.UtcNow - TimeSpan.FromSeconds(2), null, plan);
        // Started a wall second ago: at 100× that is 100 Replicate seconds, past its 12.
        Assert.True(prediction.TryStart(clock.UtcNow - TimeSpan.FromSeconds(1), "Using seed: 1\n"));
        prediction.Rendered = ["http://127.0.0.1/files/late.webp"];

        services.GetRequiredService<Predictions.PredictionRunner>().Cancel(prediction);

        Assert.Equal("succeeded", prediction.Status);
        Assert.Equal(["http://127.0.0.1/files/late.webp"], prediction.OutputUrls);

        // Still within its time, a cancel cancels.
        var running = new Predictions.Prediction($"run{Guid.NewGuid():N}"[..26], 0, model, "v", JsonDocument.Parse("{}").RootElement,
            "http://127.0.0.1", null, null, clock.UtcNow, null, plan with { PredictTime = TimeSpan.FromHours(1) });
        Assert.True(running.TryStart(clock.UtcNow, "Using seed: 1\n"));
        running.Rendered = ["http://127.0.0.1/files/running.webp"];
        services.GetRequiredService<Predictions.PredictionRunner>().Cancel(running);
        Assert.Equal("canceled", running.Status);
        Assert.Empty(running.OutputUrls);
    }

    [Fact]
    public async Task Processing_is_observed_between_starting_and_succeeded()
    {
        var created = await emulator.CreateFluxPulidAsync();
        var id = created.GetProperty("id").GetString()!;

        var processing = await emulator.WaitForAsync(id, p => p.GetProperty("status").GetString() != "starting");

        Assert.Contains(processing.GetProperty("status").GetString(), new[] { "processing", "succeeded" });
        Assert.NotEqual(JsonValueKind.Undefined, processing.GetProperty("started_at").ValueKind);
    }

    [Fact]
    public async Task Prefer_wait_answers_processing_with_the_outputs_inline_as_replicate_did_and_a_get_then_reads_it_succeeded()
    {
        // At 10× the 60 s hold is 6 s of wall time, and always-on flux-kontext-pro takes 6–12 s (0.6–1.2 s): a wide margin
        // even on a loaded machine.
        await using var slower = await Emulator.StartAsync(new Dictionary<string, string?> { ["ReplicateEmulator:TimeScale"] = "10" });

        var (response, body) = await slower.PostAsync("/v1/models/black-forest-labs/flux-kontext-pro/predictions",
            new { input = new { prompt = "portrait", input_image = Emulator.SmallFaceDataUrl, output_format = "jpg" } }, ("Prefer", "wait"));

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal("wait", response.Headers.GetValues("Preference-Applied").Single());
        // Recorded from the real API (replicate-api.md §1.3): processing, the output a data URL, no timestamps of the run or metrics.
        Assert.Equal(("processing", ""), (body.GetProperty("status").GetString(), body.GetProperty("logs").GetString()));
        var output = body.GetProperty("output").GetString()!;
        Assert.StartsWith("data:image/jpeg;base64,", output, StringComparison.Ordinal);
        Assert.Equal([0xFF, 0xD8, 0xFF], Convert.FromBase64String(output[(output.IndexOf(',', StringComparison.Ordinal) + 1)..])[..3]);
        Assert.All(new[] { "started_at", "completed_at", "metrics" },
            field => Assert.True(!body.TryGetProperty(field, out var value) || value.ValueKind == JsonValueKind.Null, field));
        Contract.OpenApiContract.AssertValid(body, "/models/{model_owner}/{model_name}/predictions", "post", "201");

        var read = await slower.GetPredictionAsync(body.GetProperty("id").GetString()!);
        Assert.Equal("succeeded", read.GetProperty("status").GetString());
        Assert.StartsWith("http", read.GetProperty("output").GetString());
    }

    [Fact]
    public async Task Prefer_wait_that_runs_out_reports_starting_as_the_official_clients_expect()
    {
        var input = new { main_face_image = Emulator.SmallFaceDataUrl, width = 256, height = 256 };

        // wait=1 is 10 ms at 100×, far less than any flux-pulid prediction.
        var (response, body) = await emulator.PostAsync("/v1/predictions", new { version = Emulator.FluxPulid, input }, ("Prefer", "wait=1"));

        Assert.Equal("wait=1", response.Headers.GetValues("Preference-Applied").Single());
        Assert.Equal("starting", body.GetProperty("status").GetString());
        Assert.Equal(JsonValueKind.Null, body.GetProperty("output").ValueKind);
        Contract.OpenApiContract.AssertValid(body, "/predictions", "post", "201");
    }

    [Fact]
    public async Task Cancel_ends_a_prediction_as_canceled_and_bills_only_what_ran()
    {
        var created = await emulator.CreateFluxPulidAsync(new() { ["num_outputs"] = 4 });
        var id = created.GetProperty("id").GetString()!;
        await emulator.WaitForAsync(id, p => p.GetProperty("status").GetString() != "starting");

        var (response, canceled) = await emulator.PostAsync($"/v1/predictions/{id}/cancel", new { });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Contract.OpenApiContract.AssertValid(canceled, "/predictions/{prediction_id}/cancel", "post", "200");
        var status = canceled.GetProperty("status").GetString();
        if (status == "canceled")
        {
            Assert.Equal(JsonValueKind.Null, canceled.GetProperty("output").ValueKind);
            var predictTime = canceled.GetProperty("metrics").GetProperty("predict_time").GetDouble();
            Assert.InRange(predictTime, 0, 80);
            var entry = await LedgerEntryAsync(id);
            Assert.Equal(Math.Round((decimal)predictTime * FluxPulidUsdPerSecond, 12), entry.GetProperty("cost_usd").GetDecimal());
        }
        else
        {
            // On a very slow machine the 40–80 s (0.4–0.8 s of wall time) prediction may have finished first.
            Assert.Equal("succeeded", status);
        }

        var again = await emulator.GetPredictionAsync(id);
        Assert.Equal(status, again.GetProperty("status").GetString());
    }

    [Fact]
    public async Task Cancel_before_start_is_canceled_and_bills_nothing()
    {
        var created = await CreateNeverStartingAsync();
        var id = created.GetProperty("id").GetString()!;

        var (_, canceled) = await emulator.PostAsync($"/v1/predictions/{id}/cancel", new { });

        Assert.Equal("canceled", canceled.GetProperty("status").GetString());
        Assert.Equal(0m, (await LedgerEntryAsync(id)).GetProperty("cost_usd").GetDecimal());
    }

    [Fact]
    public async Task Cancel_after_passing_before_start_aborts_and_bills_nothing()
    {
        var created = await CreateNeverStartingAsync(("Cancel-After", "5s"));
        var id = created.GetProperty("id").GetString()!;
        Assert.True(created.GetProperty("deadline").GetDateTimeOffset() > created.GetProperty("created_at").GetDateTimeOffset());

        var aborted = await emulator.WaitForTerminalAsync(id);

        Assert.Equal("aborted", aborted.GetProperty("status").GetString());
        Assert.Equal(0m, (await LedgerEntryAsync(id)).GetProperty("cost_usd").GetDecimal());
    }

    [Fact]
    public async Task Cancel_after_passing_while_running_cancels_and_bills_the_time_run()
    {
        // At 10×: a forced 10 s cold start (1 s), the 30 s deadline (3 s), a 40–80 s predict time (ending after 5 s at the
        // earliest): seconds of margin on either side of the deadline, even on a loaded machine.
        await using var slower = await Emulator.StartAsync(new Dictionary<string, string?>
        {
            ["ReplicateEmulator:TimeScale"] = "10",
            ["ReplicateEmulator:Faults:0:Kind"] = "cold_start",
            ["ReplicateEmulator:Faults:0:Duration"] = "00:00:10",
        });
        var created = await slower.CreateFluxPulidAsync(new() { ["num_outputs"] = 4 }, null, ("Cancel-After", "30s"));
        var id = created.GetProperty("id").GetString()!;

        var canceled = await slower.WaitForTerminalAsync(id);

        Assert.Equal("canceled", canceled.GetProperty("status").GetString());
        var predictTime = canceled.GetProperty("metrics").GetProperty("predict_time").GetDouble();
        Assert.InRange(predictTime, 0.001, 40);
        var (_, ledger) = await slower.GetAsync("/_emulator/ledger", slower.Anonymous);
        Assert.Equal(Math.Round((decimal)predictTime * FluxPulidUsdPerSecond, 12), ledger.GetProperty("entries")[0].GetProperty("cost_usd").GetDecimal());
    }

    [Theory]
    [InlineData("2s")]
    [InlineData("soon")]
    public async Task Cancel_after_below_five_seconds_or_malformed_is_rejected(string value)
    {
        var (response, _) = await emulator.PostAsync("/v1/predictions",
            new { version = Emulator.FluxPulid, input = new { main_face_image = Emulator.SmallFaceDataUrl } }, ("Cancel-After", value));

        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
    }

    /// <summary>A flux-kontext-pro prediction whose model is down, so it stays starting.</summary>
    private async Task<JsonElement> CreateNeverStartingAsync(params (string, string)[] headers)
    {
        await emulator.SetFaultsAsync(new { kind = "model_down", model = "black-forest-labs/flux-kontext-pro" });
        try
        {
            var (_, created) = await emulator.PostAsync("/v1/models/black-forest-labs/flux-kontext-pro/predictions", new { input = new { prompt = "x" } }, headers);
            return created;
        }
        finally
        {
            await emulator.SetFaultsAsync();
        }
    }

    private async Task<JsonElement> LedgerEntryAsync(string id)
    {
        var (_, ledger) = await emulator.GetAsync("/_emulator/ledger", emulator.Anonymous);
        return ledger.GetProperty("entries").EnumerateArray().Single(e => e.GetProperty("prediction_id").GetString() == id);
    }
}
