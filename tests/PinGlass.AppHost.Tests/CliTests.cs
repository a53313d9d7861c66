using System.Text.Json;
using PinGlass.Cli;
using PinGlass.Cli.Commands;
using PinGlass.Fixtures;
using PinGlass.Platform;
using Spectre.Console;

namespace PinGlass.AppHost.Tests;

/// <summary>
/// <c>pinglass</c>, the command line, against the AppHost's Api as a person or a script runs it: generate (photos from a folder, the
/// portraits saved), status, watch, retry, cancel, styles, costs; its exit codes and its <c>--json</c> output.
/// </summary>
[Collection(SharedEmulator.Collection)]
public sealed class CliTests(PinGlassApp pinglass) : IDisposable
{
    private readonly DirectoryInfo work = Directory.CreateTempSubdirectory("pinglass-cli-");

    /// <summary>The end user every call of one test is for: another user's generation is a 404.</summary>
    private readonly string user = $"cli-{Guid.NewGuid():N}";

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    /// <summary>Runs the command line in this process with a plain, non-interactive console; returns its exit code and what it printed.</summary>
    private async Task<(int Code, string Output)> RunAsync(params string[] args)
    {
        using var output = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No, ColorSystem = ColorSystemSupport.NoColors, Interactive = InteractionSupport.No, Out = new AnsiConsoleOutput(output),
        });
        console.Profile.Width = 200;
        var api = pinglass.App.GetEndpoint(ResourceNames.Api, "http").AbsoluteUri;
        string[] connection = args.Contains("--key") ? ["--api", api] : ["--api", api, "--key", ApiClients.DemoKey, "--user", user];
        var code = await PinGlassCli.RunAsync([.. args, .. connection], console, Token);
        return (code, output.ToString());
    }

    private string Photos()
    {
        var folder = work.CreateSubdirectory("photos");
        foreach (var photo in GenerationClient.OnePhoto)
        {
            File.WriteAllBytes(Path.Combine(folder.FullName, photo.FileName), photo.Content.ToArray());
        }

        File.WriteAllText(Path.Combine(folder.FullName, "notes.txt"), "not a photo: left out of the upload");
        return folder.FullName;
    }

    [Fact]
    public async Task Generate_saves_every_portrait_and_status_watch_and_retry_follow_it()
    {
        var folder = Path.Combine(work.FullName, "portraits");
        var (code, output) = await RunAsync("generate", Photos(), "--styles", "film-noir,pop-art,watercolor", "--out", folder, "--json");

        Assert.True(code == ExitCodes.Ok, output);
        var result = JsonDocument.Parse(output).RootElement;
        var id = result.GetProperty("created").GetProperty("id").GetGuid();
        Assert.Equal(("completed", 3, 3), (result.GetProperty("summary").GetProperty("status").GetString(),
            result.GetProperty("summary").GetProperty("delivered").GetInt32(), result.GetProperty("summary").GetProperty("total").GetInt32()));
        Assert.True(result.GetProperty("summary").GetProperty("cost").GetDecimal() > 0);
        // The photo report of the upload, and the portraits on disk: every one a whole image, named for its index and style.
        Assert.Equal("astronaut.png", Assert.Single(result.GetProperty("created").GetProperty("photos").EnumerateArray()).GetProperty("fileName").GetString());
        var saved = result.GetProperty("files").EnumerateArray().Select(f => new FileInfo(f.GetString()!)).OrderBy(f => f.Name).ToList();
        Assert.Equal(["00-film-noir", "01-pop-art", "02-watercolor"], saved.Select(f => Path.GetFileNameWithoutExtension(f.Name)));
        Assert.All(saved, f => Assert.True(IsImage(File.ReadAllBytes(f.FullName)), f.Name));

        (code, output) = await RunAsync("status", id.ToString(), "--json");
        Assert.Equal(ExitCodes.Ok, code);
        Assert.Equal(3, JsonDocument.Parse(output).RootElement.GetProperty("portraits").GetArrayLength());

        // For a person: a table of the portraits and the summary.
        (code, output) = await RunAsync("status", id.ToString());
        Assert.Equal(ExitCodes.Ok, code);
        Assert.Contains("completed: 3/3 portraits", output, StringComparison.Ordinal);
        Assert.Contains("pop-art", output, StringComparison.Ordinal);

        // One portrait made again, followed to its end line by line as JSON.
        (code, output) = await RunAsync("retry", id.ToString(), "1");
        Assert.True(code == ExitCodes.Ok, output);
        (code, output) = await RunAsync("watch", id.ToString(), "--json");
        Assert.True(code == ExitCodes.Ok, output);
        var events = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal("completed", events[^1].GetProperty("status").GetString());
        Assert.Equal(events.Select(e => e.GetProperty("version").GetInt64()).Order(), events.Select(e => e.GetProperty("version").GetInt64()));

        // An ended generation cannot be cancelled: the Api's 409 is a refusal, shown with its reason.
        (code, output) = await RunAsync("cancel", id.ToString());
        Assert.Equal(ExitCodes.Refused, code);
        Assert.Contains("The generation has ended", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_cancelled_generation_ends_the_watch_with_the_incomplete_exit_code()
    {
        // Every model boots for an hour: the generation is still running whenever the cancel comes, however loaded the machine.
        using var client = GenerationClient.For(pinglass.App);
        await client.SetFaultsAsync("""[{"kind":"cold_start","duration":"01:00:00"}]""");
        try
        {
            var (code, output) = await RunAsync("generate", Photos(), "--detach", "--json", "--styles", "film-noir,pop-art");
            Assert.True(code == ExitCodes.Ok, output);
            var id = JsonDocument.Parse(output).RootElement.GetProperty("id").GetGuid();

            (code, output) = await RunAsync("cancel", id.ToString(), "--json");
            Assert.True(code == ExitCodes.Ok, output);
            (code, output) = await RunAsync("watch", id.ToString());
            Assert.True(code == ExitCodes.Incomplete, output);
            Assert.Contains("cancelled: 0/2 portraits", output, StringComparison.Ordinal);
        }
        finally
        {
            await client.SetFaultsAsync("[]");
        }
    }

    [Fact]
    public async Task Styles_costs_and_the_exit_codes_of_mistakes()
    {
        var (code, output) = await RunAsync("styles", "--json");
        Assert.Equal(ExitCodes.Ok, code);
        Assert.Equal(23, JsonDocument.Parse(output).RootElement.GetArrayLength());

        (code, output) = await RunAsync("costs", "--from", "2026-01-01", "--to", "2026-01-02");
        Assert.True(code == ExitCodes.Ok, output);
        Assert.Contains("total", output, StringComparison.Ordinal);
        // No dates: the last seven days.
        (code, output) = await RunAsync("costs", "--json");
        Assert.True(code == ExitCodes.Ok, output);
        var week = JsonDocument.Parse(output).RootElement;
        Assert.Equal(TimeSpan.FromDays(7), week.GetProperty("to").GetDateTimeOffset() - week.GetProperty("from").GetDateTimeOffset());

        // The Api's field errors are shown by name.
        (code, output) = await RunAsync("costs", "--from", "yesterday");
        Assert.Equal(ExitCodes.Refused, code);
        Assert.Contains("from must be an ISO 8601 date", output, StringComparison.Ordinal);

        (code, output) = await RunAsync("generate", Path.Combine(work.FullName, "nowhere"));
        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains("There is no file or folder", output, StringComparison.Ordinal);

        (code, _) = await RunAsync("status", "not-a-guid");
        Assert.Equal(ExitCodes.Usage, code);

        (code, output) = await RunAsync("status", Guid.NewGuid().ToString());
        Assert.Equal(ExitCodes.Refused, code);
        Assert.Contains("No such generation", output, StringComparison.Ordinal);

        (code, output) = await RunAsync("styles", "--key", "pgk_not_a_key_of_anyone_0123456789abcdefghijklmnop");
        Assert.Equal(ExitCodes.Refused, code);
        Assert.Contains("401", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_operator_makes_limits_and_revokes_a_clients_key_and_a_client_cannot()
    {
        await using var stores = await Stores.ConnectAsync(pinglass.App);
        var (_, operatorKey) = await new PinGlass.Generations.Clients.ClientStore(stores.Database, TimeProvider.System)
            .CreateKeyAsync($"cli-operator-{Guid.NewGuid():N}", operatorClient: true, Token);
        var client = $"acme-{Guid.NewGuid():N}";

        var (code, output) = await RunAsync("keys", "create", client, "--json", "--key", operatorKey);
        Assert.True(code == ExitCodes.Ok, output);
        var made = JsonDocument.Parse(output).RootElement;
        var (keyId, key) = (made.GetProperty("info").GetProperty("id").GetGuid(), made.GetProperty("key").GetString()!);
        Assert.Equal(ExitCodes.Ok, (await RunAsync("styles", "--json", "--key", key)).Code);

        (code, output) = await RunAsync("keys", "list", client, "--json", "--key", operatorKey);
        Assert.Equal(ExitCodes.Ok, code);
        var listed = Assert.Single(JsonDocument.Parse(output).RootElement.EnumerateArray());
        Assert.Equal((keyId, key[..8] + "…"), (listed.GetProperty("id").GetGuid(), listed.GetProperty("hint").GetString()));
        Assert.DoesNotContain(key, output, StringComparison.Ordinal);
        // Every client's keys: this one among them, and the operator's own.
        (code, output) = await RunAsync("keys", "list", "--json", "--key", operatorKey);
        Assert.Equal(ExitCodes.Ok, code);
        Assert.Contains(JsonDocument.Parse(output).RootElement.EnumerateArray(), k => k.GetProperty("id").GetGuid() == keyId);
        Assert.Contains(JsonDocument.Parse(output).RootElement.EnumerateArray(), k => k.GetProperty("operator").GetBoolean());

        // Out of bounds: the Api names the field; within them, set.
        (code, output) = await RunAsync("keys", "limits", client, "--requests-per-minute", "0", "--key", operatorKey);
        Assert.Equal(ExitCodes.Refused, code);
        Assert.Contains("requests per minute must be 1–1000000", output, StringComparison.Ordinal);
        (code, output) = await RunAsync("keys", "limits", client, "--requests-per-minute", "120", "--json", "--key", operatorKey);
        Assert.True(code == ExitCodes.Ok, output);
        Assert.Equal(120, JsonDocument.Parse(output).RootElement.GetProperty("requestsPerMinute").GetInt32());

        Assert.Equal(ExitCodes.Ok, (await RunAsync("keys", "revoke", keyId.ToString(), "--key", operatorKey)).Code);
        Assert.Equal(ExitCodes.Refused, (await RunAsync("styles", "--key", key)).Code);
        Assert.Equal(ExitCodes.Refused, (await RunAsync("keys", "revoke", keyId.ToString(), "--key", operatorKey)).Code);

        // A client that is no operator manages no keys: 403.
        (code, output) = await RunAsync("keys", "list");
        Assert.Equal(ExitCodes.Refused, code);
        Assert.Contains("403", output, StringComparison.Ordinal);
    }

    /// <summary>JPEG, PNG or WebP by its first bytes, and more than a header.</summary>
    private static bool IsImage(byte[] bytes) => bytes.Length > 1000 && (bytes is [0xFF, 0xD8, 0xFF, ..] || bytes is [0x89, 0x50, 0x4E, 0x47, ..]
        || bytes is [0x52, 0x49, 0x46, 0x46, _, _, _, _, 0x57, 0x45, 0x42, 0x50, ..]);

    public void Dispose() => work.Delete(recursive: true);
}
