using System.Text.Json;
using PinGlass.Benchmarks;

namespace PinGlass.ReplicateEmulator.Tests;

/// <summary>A generation-sized load (23 concurrent predictions) and a heavy one (500), time-scaled, without errors.</summary>
public sealed class LoadTests
{
    [Fact]
    public async Task A_generation_of_23_concurrent_predictions_succeeds_and_the_ledger_adds_up_to_the_cent()
    {
        await using var emulator = await Emulator.StartAsync(new Dictionary<string, string?> { ["ReplicateEmulator:TimeScale"] = "1000" });
        await using var load = await EmulatorLoad.StartAsync();
        var face = await EmulatorLoad.UploadFaceAsync(emulator.Client, Emulator.FixturePath("astronaut.png"), TestContext.Current.CancellationToken);

        // flux-pulid's defaults: 896×1152 webp.
        var result = await load.RunAsync(emulator.Client, 23, new { main_face_image = face, prompt = "studio headshot" }, 1000,
            TestContext.Current.CancellationToken);

        Assert.Empty(result.Errors);
        Assert.Equal(23, result.Predictions.Count(p => p.Status == "succeeded"));
        var (_, ledger) = await emulator.GetAsync("/_emulator/ledger", emulator.Anonymous);
        var entries = ledger.GetProperty("entries").EnumerateArray().ToArray();
        Assert.Equal(23, entries.Length);
        var expected = entries.Sum(e => Math.Round((decimal)e.GetProperty("predict_time").GetDouble(), 6) * 0.001400m);
        Assert.Equal(Math.Round(expected, 2), Math.Round(ledger.GetProperty("total_usd").GetDecimal(), 2));
        Assert.Equal(expected, ledger.GetProperty("total_usd").GetDecimal());
    }

    [Fact]
    public async Task A_heavy_load_of_500_concurrent_predictions_succeeds()
    {
        await using var emulator = await Emulator.StartAsync(new Dictionary<string, string?> { ["ReplicateEmulator:TimeScale"] = "1000" });
        await using var load = await EmulatorLoad.StartAsync();
        var face = await EmulatorLoad.UploadFaceAsync(emulator.Client, Emulator.FixturePath("astronaut.png"), TestContext.Current.CancellationToken);

        var result = await load.RunAsync(emulator.Client, 500, new { main_face_image = face, width = 256, height = 256, output_format = "jpg" }, 1000,
            TestContext.Current.CancellationToken);

        Assert.Empty(result.Errors);
        Assert.Equal(500, result.Predictions.Count(p => p.Status == "succeeded"));
        Assert.Equal(500, result.Predictions.Select(p => p.Id).Distinct().Count());
        var (_, list) = await emulator.GetAsync("/v1/predictions");
        Assert.Equal(100, list.GetProperty("results").GetArrayLength());
        Assert.Equal(JsonValueKind.String, list.GetProperty("next").ValueKind);
    }
}
