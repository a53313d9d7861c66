using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using PinGlass.Generations;
using PinGlass.Generations.Persistence;
using PinGlass.Replicate.Resilience;

namespace PinGlass.AppHost.Tests;

/// <summary>
/// The reconciliation job's search for creates whose senders died. Apart from the other store tests because it makes a prediction on
/// the shared emulator, so it takes its turn with the other classes that do: another class's injected fault would be spent on it.
/// </summary>
[Collection(SharedEmulator.Collection)]
public sealed class LapsedCreatesTests(PinGlassApp pinglass)
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Creates_whose_senders_died_are_looked_for_once_the_generation_ends_what_one_made_is_billed_and_no_reservation_stays()
    {
        await using var stores = await GenerationStoresTests.ConnectAsync(pinglass);
        using var client = GenerationClient.For(pinglass.App);
        var id = await GenerationStoresTests.NewGenerationAsync(stores);
        var rows = new List<PredictionRow>();
        foreach (var index in new[] { 0, 1, 2 })
        {
            await stores.Portraits.ClaimAsync(id, index, Token);
            rows.Add((await stores.Ledger.BeginAsync(id, index, 1, "flux-pulid", "bytedance/flux-pulid", 0, 0.0336m, Token)).Row!);
        }

        // Portraits 0 and 1: their senders claimed the create, recorded its input and died, and their leases have run out; 0's create
        // had gone out. 2's sender is alive and holds its lease.
        foreach (var (row, input) in new[] { (rows[0], Input(0)), (rows[1], Input(1)) })
        {
            var held = await stores.Ledger.ClaimCreateAsync(row.Marker, TimeSpan.FromSeconds(-1), Token);
            Assert.True(await stores.Ledger.RecordInputAsync(row.Marker, held!.Value, InputFingerprint.Of(input), Token));
        }

        Assert.NotNull(await stores.Ledger.ClaimCreateAsync(rows[2].Marker, TimeSpan.FromMinutes(5), Token));
        var made = await CreateOnEmulatorAsync(client, Input(0));

        // Not closed unsearched when the generation stops; the pipeline itself resumes them while it runs.
        Assert.False(await stores.Ledger.AbandonUnsentAsync(id, "deadline", "stopped", Token));
        Assert.Equal([rows[0].Marker, rows[1].Marker], (await stores.Ledger.LapsedCreatesAsync(id, Token)).Select(r => r.Marker));
        Assert.DoesNotContain(await stores.Ledger.LapsedCreatesAsync(null, Token), r => r.GenerationId == id);

        // Once it has ended (its portraits ended first, as the finalizer ends them), the reconciliation job looks: 0's prediction is
        // adopted and cancelled or taken in, its cost recorded as Replicate billed it; 1 made nothing and releases its reservation; 2 is
        // its sender's still.
        foreach (var index in new[] { 0, 1, 2 })
        {
            Assert.True(await stores.Portraits.FailAsync(id, index, null, PortraitStatus.Failed, "deadline", "The deadline passed.", Token));
        }

        await stores.Generations.FinishAsync(id, GenerationStatus.Failed, "ended", Token);
        var settled = await Poll.UntilAsync(() => stores.Ledger.PredictionsAsync(id, Token),
            r => r[0].Status is not PredictionState.Creating and not PredictionState.Starting and not PredictionState.Processing
                 && r[1].Status == PredictionState.NotCreated, TimeSpan.FromSeconds(60));
        Assert.Equal(made, settled[0].PredictionId);
        Assert.Contains(settled[0].Status, new[] { PredictionState.Cancelled, PredictionState.Succeeded });
        Assert.Equal((PredictionState.NotCreated, 0m), (settled[1].Status, settled[1].Reserved));
        Assert.Equal((PredictionState.Creating, 0.0336m), (settled[2].Status, settled[2].Reserved));
        var billed = (await client.LedgerAsync()).Single(e => e.Id == made).Cost;
        Assert.Equal(decimal.Round(billed, 2), decimal.Round(settled[0].Cost, 2));
        var generation = (await stores.Generations.GetAsync(id, Token))!;
        Assert.Equal((0.0336m, settled[0].Cost), (generation.Reserved, generation.Spent));
    }

    /// <summary>An attempt's input: its seed makes it the attempt's own, as the pipeline's per-attempt seed does.</summary>
    private static JsonObject Input(int seed)
    {
        // A JPEG: the PNG's data URL (1 MB) is over the 256 kB Replicate takes.
        using var astronaut = PinGlass.Fixtures.Samples.Astronaut();
        var face = Convert.ToBase64String(PinGlass.Fixtures.Samples.Encode(astronaut, "jpeg"));
        return new JsonObject
        {
            ["prompt"] = "a studio portrait", ["main_face_image"] = $"data:image/jpeg;base64,{face}", ["width"] = 256, ["height"] = 256, ["seed"] = seed,
        };
    }

    /// <summary>A prediction as a sender that died would have left it: created on the emulator with the attempt's input, its answer lost.</summary>
    private static async Task<string> CreateOnEmulatorAsync(GenerationClient client, JsonObject input)
    {
        using var model = new HttpRequestMessage(HttpMethod.Get, "/v1/models/bytedance/flux-pulid");
        model.Headers.Authorization = new("Bearer", ReplicateEndpoint.EmulatorToken);
        using var modelResponse = await client.Emulator.SendAsync(model, Token);
        var version = (await modelResponse.EnsureSuccessStatusCode().Content.ReadFromJsonAsync<JsonElement>(Token))
            .GetProperty("latest_version").GetProperty("id").GetString();
        // A community model is created by its version.
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/predictions")
        {
            // Nothing listens on port 9: the webhook is lost, and only a search finds the prediction.
            Content = JsonContent.Create(new
            {
                version,
                input,
                webhook = "http://127.0.0.1:9/hooks/replicate",
                webhook_events_filter = new[] { "completed" },
            }),
        };
        request.Headers.Authorization = new("Bearer", ReplicateEndpoint.EmulatorToken);
        using var response = await client.Emulator.SendAsync(request, Token);
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<JsonElement>(Token)).GetProperty("id").GetString()!;
    }
}
