using System.Net.Http.Json;
using System.Text.Json;
using PinGlass.Cli;
using Spectre.Console;

namespace PinGlass.AppHost;

/// <summary>
/// What ops do from the Aspire dashboard's resource list: on <c>replicate</c> (the emulator) switch its fault scenario and show its
/// billing ledger; on <c>api</c> start a demo generation on the sample photos, as the command line would.
/// </summary>
public static class DashboardCommands
{
    /// <summary>Fault scenarios: rules as the emulator's README documents them, replacing whatever rules were active.</summary>
    public static readonly IReadOnlyList<(string Name, string DisplayName, string Description, string Rules)> FaultScenarios =
    [
        ("faults-none", "Faults: none", "Replicate as on a good day: no injected fault.", "[]"),
        ("faults-flaky", "Faults: flaky", "10 % throttled, 10 % answered 503, 10 % failed predictions, a fifth of webhooks dropped or sent twice.",
            """[{"kind":"rate_limit","probability":0.1,"duration":"00:00:05"},{"kind":"server_error","status":503,"probability":0.1},{"kind":"prediction_failed","probability":0.1},{"kind":"webhook_drop","probability":0.2},{"kind":"webhook_duplicate","probability":0.2}]"""),
        ("faults-primary-outage", "Faults: primary model down", "Every create on bytedance/flux-pulid is answered 503: portraits fall back to the next model.",
            """[{"kind":"server_error","model":"bytedance/flux-pulid","status":503,"probability":1}]"""),
        ("faults-slow", "Faults: slow", "Half the predictions compute five times as long; the next flux-pulid prediction boots cold.",
            """[{"kind":"slow_prediction","probability":0.5},{"kind":"cold_start","model":"bytedance/flux-pulid","count":1}]"""),
    ];

    public static IResourceBuilder<ProjectResource> WithFaultScenarios(this IResourceBuilder<ProjectResource> emulator)
    {
        var endpoint = emulator.GetEndpoint("http");
        foreach (var (name, displayName, description, rules) in FaultScenarios)
        {
            emulator.WithCommand(name, displayName, async context =>
            {
                using var http = new HttpClient { BaseAddress = new Uri(endpoint.Url) };
                using var content = new StringContent(rules, System.Text.Encoding.UTF8, "application/json");
                using var response = await http.PutAsync("/_emulator/faults", content, context.CancellationToken);
                return response.IsSuccessStatusCode
                    ? CommandResults.Success()
                    : CommandResults.Failure($"The emulator answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(context.CancellationToken)}");
            }, new CommandOptions { Description = description, IconName = "Flash", UpdateState = WhileRunning });
        }

        return emulator.WithCommand("ledger", "Show the ledger", async context =>
        {
            using var http = new HttpClient { BaseAddress = new Uri(endpoint.Url) };
            var ledger = await http.GetFromJsonAsync<JsonElement>("/_emulator/ledger", context.CancellationToken);
            return CommandResults.Success($"{ledger.GetProperty("predictions")} predictions billed, ${ledger.GetProperty("total_usd")} in all",
                JsonSerializer.Serialize(ledger, new JsonSerializerOptions { WriteIndented = true }), CommandResultFormat.Json, displayImmediately: true);
        }, new CommandOptions { Description = "What the emulator billed, prediction by prediction, as Replicate's bill would.", IconName = "Receipt", UpdateState = WhileRunning });
    }

    /// <summary>Starts a generation of the sample photos with the demo client's key, for the end user <c>dashboard</c>.</summary>
    public static IResourceBuilder<ProjectResource> WithDemoGeneration(this IResourceBuilder<ProjectResource> api, IResourceBuilder<ParameterResource> key,
        string samples) => api.WithCommand("demo-generation", "Start a demo generation", async context =>
    {
        using var output = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No, ColorSystem = ColorSystemSupport.NoColors, Interactive = InteractionSupport.No, Out = new AnsiConsoleOutput(output),
        });
        var code = await PinGlassCli.RunAsync(["generate", samples, "--detach", "--json", "--api", api.GetEndpoint("http").Url,
            "--key", (await key.Resource.GetValueAsync(context.CancellationToken))!, "--user", "dashboard"], console, context.CancellationToken);
        if (code != 0)
        {
            return CommandResults.Failure($"pinglass generate exited {code}", output.ToString(), CommandResultFormat.Json);
        }

        var id = JsonDocument.Parse(output.ToString()).RootElement.GetProperty("id").GetString();
        return CommandResults.Success($"Generation {id} started for the user 'dashboard'; its trace carries pinglass.generation.id = {id}",
            output.ToString(), CommandResultFormat.Json, displayImmediately: false);
    }, new CommandOptions
    {
        Description = "Uploads samples/photos with the demo client's key and starts their 23 portraits (see the Traces page and Metrics).",
        IconName = "ImageMultiple",
        UpdateState = WhileRunning,
    });

    private static ResourceCommandState WhileRunning(UpdateCommandStateContext context) =>
        context.ResourceSnapshot.State?.Text == KnownResourceStates.Running ? ResourceCommandState.Enabled : ResourceCommandState.Disabled;
}
