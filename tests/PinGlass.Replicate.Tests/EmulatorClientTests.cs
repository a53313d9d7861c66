using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PinGlass.Replicate.Client;
using PinGlass.Replicate.Errors;

namespace PinGlass.Replicate.Tests;

/// <summary>The typed client against the emulator: every operation, and the errors the real API gives.</summary>
public sealed class EmulatorClientTests
{
    private static readonly ModelRef FluxPulid = ModelRef.Parse(new ReplicateOptions().Models["flux-pulid"].Model);
    private static readonly ModelRef Kontext = ModelRef.Parse("black-forest-labs/flux-kontext-pro");

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private static JsonObject SmallPulid(string prompt = "portrait") => new()
    {
        ["main_face_image"] = EmulatorServer.Face, ["prompt"] = prompt, ["width"] = 256, ["height"] = 256, ["output_format"] = "jpg",
    };

    [Fact]
    public async Task Predictions_are_created_polled_listed_and_canceled()
    {
        await using var emulator = await EmulatorServer.StartAsync();
        await using var host = await TestHost.StartAsync(emulator.BaseAddress);
        var client = host.Client;
        var started = DateTimeOffset.UtcNow.AddMinutes(-1);

        // A deadline far off even at the emulator's 100× (5 min was 3 s of wall time, which a loaded machine's cold start and rendering
        // outlasted: the prediction was canceled at its deadline).
        var created = await client.CreatePredictionAsync(FluxPulid, SmallPulid(), new(Wait: TimeSpan.FromSeconds(60), CancelAfter: TimeSpan.FromHours(24)), Token);
        var prediction = created;
        while (!prediction.IsTerminal)
        {
            await Task.Delay(50, Token);
            prediction = await client.GetPredictionAsync(created.Id, Token);
        }

        Assert.Equal(PredictionStatus.Succeeded, prediction.Status);
        Assert.Equal("bytedance/flux-pulid", prediction.Model);
        Assert.NotNull(created.Deadline);
        Assert.True(prediction.CompletedAt > prediction.CreatedAt);
        Assert.True(prediction.Metrics!.PredictTime > 0);
        Assert.StartsWith("http", Assert.Single(prediction.OutputUrls), StringComparison.Ordinal);

        var official = await client.CreatePredictionAsync(Kontext, new JsonObject { ["prompt"] = "p", ["input_image"] = EmulatorServer.Face }, null, Token);
        Assert.Equal(PredictionStatus.Starting, official.Status);
        var canceled = await client.CancelPredictionAsync(official.Id, Token);
        Assert.Equal(PredictionStatus.Canceled, canceled.Status);

        var page = await client.ListPredictionsAsync(createdAfter: started, cancellationToken: Token);
        Assert.Equal([official.Id, created.Id], page.Results.Select(p => p.Id));
        Assert.Null(page.Next);
    }

    [Fact]
    public async Task Files_webhook_secret_and_models_are_read()
    {
        await using var emulator = await EmulatorServer.StartAsync();
        await using var host = await TestHost.StartAsync(emulator.BaseAddress);
        var client = host.Client;

        var bytes = Convert.FromBase64String(EmulatorServer.Face[(EmulatorServer.Face.IndexOf(',', StringComparison.Ordinal) + 1)..]);
        var file = await client.UploadFileAsync(new MemoryStream(bytes), "face.png", "image/png", Token);
        Assert.Equal(("face.png", bytes.Length), (file.Name, file.Size));

        var fromFile = await client.CreatePredictionAsync(FluxPulid, new JsonObject { ["main_face_image"] = file.Urls.Get, ["width"] = 256, ["height"] = 256 },
            new(Wait: TimeSpan.FromSeconds(60)), Token);
        Assert.NotEqual(PredictionStatus.Failed, fromFile.Status);

        Assert.StartsWith("whsec_", await client.GetWebhookSecretAsync(Token), StringComparison.Ordinal);
        Assert.True((await client.GetModelAsync(Kontext, Token)).IsOfficial);
    }

    [Fact]
    public async Task A_refused_input_is_a_validation_error_with_its_fields_and_is_sent_once()
    {
        await using var emulator = await EmulatorServer.StartAsync();
        await using var host = await TestHost.StartAsync(emulator.BaseAddress);
        var input = SmallPulid();
        input["width"] = 5000;

        var error = await Assert.ThrowsAsync<ReplicateException>(() => host.Client.CreatePredictionAsync(FluxPulid, input, null, Token));

        Assert.Equal((ErrorCategory.Validation, 422), (error.Category, error.StatusCode));
        Assert.Contains(error.InvalidFields, f => f.Field == "input.width");
        Assert.Single(host.Requests.All);
    }

    [Fact]
    public async Task A_wrong_token_is_an_authentication_error_sent_once_and_never_shown()
    {
        const string secret = "r8_not_the_emulators_token";
        await using var emulator = await EmulatorServer.StartAsync();
        await using var host = await TestHost.StartAsync(emulator.BaseAddress, new Dictionary<string, string?> { ["Replicate:ApiToken"] = secret });

        var error = await Assert.ThrowsAsync<ReplicateException>(() => host.Client.GetPredictionAsync("abc", Token));

        Assert.Equal((ErrorCategory.Authentication, 401), (error.Category, error.StatusCode));
        Assert.Single(host.Requests.All);
        Assert.DoesNotContain(secret, error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_community_model_by_its_models_path_is_not_found()
    {
        await using var emulator = await EmulatorServer.StartAsync();
        await using var host = await TestHost.StartAsync(emulator.BaseAddress);

        var error = await Assert.ThrowsAsync<ReplicateException>(() =>
            host.Client.CreatePredictionAsync(FluxPulid with { Version = null }, SmallPulid(), null, Token));

        Assert.Equal(ErrorCategory.NotFound, error.Category);
    }

    [Fact]
    public async Task Service_defaults_do_not_stack_a_second_handler_on_the_client()
    {
        await using var emulator = await EmulatorServer.StartAsync();
        await using var host = await TestHost.StartAsync(emulator.BaseAddress);
        var created = await host.Client.CreatePredictionAsync(FluxPulid, SmallPulid(), null, Token);
        await emulator.SetFaultsAsync(new { kind = "server_error", status = 503, probability = 1.0 });

        var get = await Assert.ThrowsAsync<ReplicateException>(() => host.Client.GetPredictionAsync(created.Id, Token));
        var create = await Assert.ThrowsAsync<ReplicateException>(() => host.Client.CreatePredictionAsync(FluxPulid, SmallPulid(), null, Token));

        Assert.Equal((ErrorCategory.ModelOverloaded, ErrorCategory.ModelOverloaded), (get.Category, create.Category));
        // One handler: 1 + REPLICATE_MAX_RETRIES gets, and the create exactly once. A stacked standard handler would multiply both.
        Assert.Equal(4, host.Requests.All.Count(r => r.Method == "GET"));
        Assert.Equal(2, host.Requests.Creates.Count);
    }

    [Fact]
    public async Task The_default_base_url_finds_the_emulator_through_service_discovery()
    {
        await using var emulator = await EmulatorServer.StartAsync();
        // What the AppHost's reference to the replicate resource gives a service; BaseUrl stays https+http://replicate.
        await using var host = await TestHost.StartAsync(emulator.BaseAddress, new Dictionary<string, string?>
        {
            ["Replicate:BaseUrl"] = null,
            ["services:replicate:http:0"] = emulator.BaseAddress.AbsoluteUri,
        });

        Assert.Equal("https+http://replicate/", host.Get<IOptions<ReplicateOptions>>().Value.BaseUrl.AbsoluteUri);
        Assert.True((await host.Client.GetModelAsync(Kontext, Token)).IsOfficial);
    }

    [Fact]
    public async Task The_token_never_reaches_the_logs()
    {
        const string secret = "r8_secret_that_must_not_leak";
        var logs = new CapturingLoggerProvider();
        await using var emulator = await EmulatorServer.StartAsync();
        await using var host = await TestHost.StartAsync(emulator.BaseAddress, new Dictionary<string, string?> { ["Replicate:ApiToken"] = secret },
            configure: builder =>
            {
                builder.Logging.SetMinimumLevel(LogLevel.Trace);
                builder.Logging.AddProvider(logs);
            });

        var provider = host.Get<Providers.ProviderChain>()[Providers.ProviderNames.FluxPulid];
        var input = provider.Map(new("p", [EmulatorServer.Face], new Providers.PortraitOptions { Width = 256, Height = 256 })).Input;
        var refused = await Assert.ThrowsAsync<ReplicateException>(() =>
            host.Get<Resilience.SafeCreate>().CreateAsync(provider.Model, input, new Client.CreatePredictionOptions(), Token));

        Assert.Equal(ErrorCategory.Authentication, refused.Category);
        Assert.Contains(logs.Lines, l => l.Contains("Authorization", StringComparison.Ordinal));
        Assert.DoesNotContain(logs.Lines, l => l.Contains(secret, StringComparison.Ordinal));
        Assert.DoesNotContain(secret, refused.ToString(), StringComparison.Ordinal);
    }
}
