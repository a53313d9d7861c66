using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using PinGlass.AppHost;
using PinGlass.Platform;

namespace PinGlass.AppHost.Tests;

/// <summary>The Aspire dashboard's commands ops use: the emulator's fault scenarios and ledger, the Api's demo generation.</summary>
[Collection(SharedEmulator.Collection)]
public sealed class DashboardCommandsTests(PinGlassApp pinglass)
{
    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private Task<ExecuteCommandResult> RunAsync(string resource, string command) =>
        pinglass.App.Services.GetRequiredService<ResourceCommandService>().ExecuteCommandAsync(
            pinglass.App.Services.GetRequiredService<DistributedApplicationModel>().Resources.Single(r => r.Name == resource), command, Token);

    [Fact]
    public async Task Each_fault_scenario_replaces_the_emulators_rules_and_the_ledger_is_shown()
    {
        using var client = GenerationClient.For(pinglass.App);
        try
        {
            foreach (var (name, _, _, rules) in DashboardCommands.FaultScenarios)
            {
                var result = await RunAsync(ResourceNames.Replicate, name);
                Assert.True(result.Success, result.Message);
                var active = await client.Emulator.GetFromJsonAsync<JsonElement>("/_emulator/faults", Token);
                Assert.Equal(JsonDocument.Parse(rules).RootElement.GetArrayLength(), active.GetProperty("rules").GetArrayLength());
            }

            var ledger = await RunAsync(ResourceNames.Replicate, "ledger");
            Assert.True(ledger.Success, ledger.Message);
            var shown = JsonDocument.Parse(ledger.Data!.Value).RootElement;
            Assert.Equal(shown.GetProperty("predictions").GetInt32(), shown.GetProperty("entries").GetArrayLength());
            Assert.Contains("predictions billed", ledger.Message, StringComparison.Ordinal);
        }
        finally
        {
            await client.SetFaultsAsync("[]");
        }
    }

    [Fact]
    public async Task The_demo_generation_starts_a_generation_of_the_sample_photos_for_the_user_dashboard()
    {
        var result = await RunAsync(ResourceNames.Api, "demo-generation");

        Assert.True(result.Success, $"{result.Message} {result.Data?.Value}");
        var created = JsonDocument.Parse(result.Data!.Value).RootElement;
        var id = created.GetProperty("id").GetGuid();
        Assert.Contains(id.ToString(), result.Message, StringComparison.Ordinal);
        // Every sample photo was sent (samples/photos is the fixture upload): twelve of the person, and the three the report turns away.
        Assert.Equal(GenerationClient.Photos.Count, created.GetProperty("photos").GetArrayLength());
        using var dashboard = GenerationClient.For(pinglass.App, user: "dashboard");
        var generation = await dashboard.GetAsync(id);
        Assert.Equal(23, generation.GetProperty("portraits").GetArrayLength());
        // Its work is not this test's: stopped, so the machine is free for the next.
        using var cancel = await dashboard.Api.PostAsync($"/v1/generations/{id}/cancel", null, Token);
    }
}
