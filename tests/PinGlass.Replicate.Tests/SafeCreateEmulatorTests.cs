using System.Diagnostics;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using PinGlass.Replicate.Client;
using PinGlass.Replicate.Errors;
using PinGlass.Replicate.Health;
using PinGlass.Replicate.Providers;
using PinGlass.Replicate.Resilience;

namespace PinGlass.Replicate.Tests;

/// <summary>
/// One prediction per portrait through <see cref="SafeCreate"/> against the emulator with its faults: throttled, answered 503 before
/// or after the prediction was made, answers lost. Never a billed duplicate; what a lost answer made is adopted.
/// </summary>
public sealed class SafeCreateEmulatorTests
{
    private const string FluxPulid = "bytedance/flux-pulid";

    /// <summary>Nothing listens there; the emulator's webhooks fail quietly while the URL still carries each attempt's marker.</summary>
    private const string WebhookUrl = "http://127.0.0.1:9/hooks/replicate";

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private static PortraitRequest Portrait(int index, int faces = 1) =>
        new($"a studio portrait, take {index}", [.. Enumerable.Repeat(EmulatorServer.Face, faces)],
            new PortraitOptions { Width = 256, Height = 256, OutputFormat = OutputFormat.Jpg }, index);

    private static Task<TestHost> StartAsync(EmulatorServer emulator, params (string Key, string? Value)[] settings) =>
        TestHost.StartAsync(emulator.BaseAddress, new Dictionary<string, string?>(settings.Select(s => KeyValuePair.Create(s.Key, s.Value)))
        {
            ["Replicate:WebhookUrl"] = WebhookUrl,
        });

    /// <summary>A host over an emulator whose predictions all stay booting (nothing renders or ends while a test looks), and flux-pulid's input.</summary>
    private static async Task<(TestHost Host, PortraitProvider Provider, JsonObject Input)> BootingAsync(EmulatorServer emulator)
    {
        var host = await StartAsync(emulator);
        await emulator.SetFaultsAsync(new { kind = "cold_start", duration = "10:00:00" });
        var provider = host.Get<ProviderChain>()[ProviderNames.FluxPulid];
        return (host, provider, provider.Map(Portrait(0)).Input);
    }

    private static JsonObject Seeded(JsonObject input, long seed)
    {
        var copy = input.DeepClone().AsObject();
        copy["seed"] = seed;
        return copy;
    }

    /// <summary>Creates the portrait's prediction on <paramref name="provider"/> as the pipeline does, and follows it to its end.</summary>
    private static async Task<(Prediction Prediction, int Retries, ProviderInput Input)> MakeAsync(TestHost host, string provider, PortraitRequest request)
    {
        var chosen = host.Get<ProviderChain>()[provider];
        var input = chosen.Map(request);
        var settings = host.Get<IOptions<ReplicateOptions>>().Value;
        var tally = RetryTally.Begin();
        var create = new CreatePredictionOptions(null, settings.CancelAfterFor(provider), settings.WebhookUrl, settings.WebhookUrl is null ? null : ["completed"]);
        Prediction prediction;
        while (true)
        {
            try
            {
                prediction = await host.Get<SafeCreate>().CreateAsync(chosen.Model, input.Input, create, Token);
                break;
            }
            catch (ReplicateException e) when (ErrorPolicy.IsRetryable(e.Category))
            {
                // Throttled or answered 5xx past the client's retries: SafeCreate has already looked for and adopted anything an ambiguous
                // answer made, so nothing was; sent again as a new attempt once the wait Replicate asked for has passed, as the
                // pipeline's next pass would (four 503s in a row for one of 20 portraits is a few percent of runs).
                await Task.Delay(e.RetryAfter ?? TimeSpan.FromMilliseconds(200), Token);
            }
        }

        while (!prediction.IsTerminal)
        {
            await Task.Delay(50, Token);
            try
            {
                prediction = await host.Client.GetPredictionAsync(prediction.Id, Token);
            }
            catch (ReplicateException e) when (ErrorPolicy.IsRetryable(e.Category))
            {
                // A poll that ran out of retries under the injected 429s is asked again, as the pipeline's reconciliation does.
            }
        }

        return (prediction, tally.Retries, input);
    }

    [Fact]
    public async Task Under_429s_and_503s_every_portrait_is_made_once_and_retry_after_is_honoured()
    {
        await using var emulator = await EmulatorServer.StartAsync();
        await using var host = await StartAsync(emulator, ("REPLICATE_MAX_RETRIES", "3"));
        await emulator.SetFaultsAsync(
            new { kind = "rate_limit", model = FluxPulid, probability = 0.3, duration = "00:00:00.010" },
            // Half the 503s come after the prediction was made: only looking before creating again avoids a billed duplicate.
            new { kind = "server_error", model = FluxPulid, status = 503, probability = 0.05 },
            new { kind = "server_error", model = FluxPulid, status = 503, probability = 0.05, after_processing = true });

        var results = await Task.WhenAll(Enumerable.Range(0, 20).Select(i => MakeAsync(host, ProviderNames.FluxPulid, Portrait(i))));

        Assert.All(results, r => Assert.Equal(PredictionStatus.Succeeded, r.Prediction.Status));
        Assert.True(await emulator.InjectedAsync("rate_limit") > 0);
        Assert.True(results.Sum(r => r.Retries) > 0);

        // Exactly one billed prediction per portrait, and it is the one delivered: never a duplicate.
        var ledger = await emulator.LedgerAsync(20);
        Assert.All(ledger, e => Assert.Equal("succeeded", e.Status));
        Assert.Equal(results.Select(r => r.Prediction.Id).Order(), ledger.Select(e => e.Id).Order());

        // After a 429 the same portrait's next create waited at least the Retry-After the emulator asked for.
        var throttledCreates = 0;
        foreach (var creates in host.Requests.Creates.GroupBy(c => (JsonNode.Parse(c.Body!)!["input"]!["prompt"]!.GetValue<string>(), c.PathAndQuery)))
        {
            var ordered = creates.OrderBy(c => c.SentAt).ToList();
            foreach (var (throttled, next) in ordered.Zip(ordered.Skip(1)).Where(pair => pair.First.Status == 429))
            {
                throttledCreates++;
                Assert.True(Stopwatch.GetElapsedTime(throttled.AnsweredAt, next.SentAt) >= throttled.RetryAfter!.Value - TimeSpan.FromMilliseconds(20),
                    $"A create was sent again {Stopwatch.GetElapsedTime(throttled.AnsweredAt, next.SentAt)} after a 429 asking for {throttled.RetryAfter}.");
            }
        }

        Assert.True(throttledCreates > 0);
    }

    [Fact]
    public async Task A_cold_boot_of_several_minutes_is_waited_out_where_a_deadline_of_the_run_alone_aborts_it()
    {
        await using var emulator = await EmulatorServer.StartAsync();
        // A run timeout of 5 s at a clock scale of 24 is 2 min of Replicate time (the emulator's 100× only makes the test quick); on top
        // of it flux-pulid's boot allowance, 5 min.
        await using var host = await StartAsync(emulator, ("Replicate:CancelAfter", null), ("Replicate:GenerationTimeout", "00:00:05"),
            ("Replicate:ClockScale", "24"));
        // Replicate: "In some cases this process can take several minutes" — a 4-minute boot for every prediction of the model.
        await emulator.SetFaultsAsync(new { kind = "cold_start", model = FluxPulid, duration = "00:04:00" });
        var settings = host.Get<IOptions<ReplicateOptions>>().Value;
        var provider = host.Get<ProviderChain>()[ProviderNames.FluxPulid];

        async Task<Prediction> RunAsync(TimeSpan cancelAfter, int index)
        {
            var prediction = await host.Client.CreatePredictionAsync(provider.Model, provider.Map(Portrait(index)).Input,
                new CreatePredictionOptions(CancelAfter: cancelAfter), Token);
            while (!prediction.IsTerminal)
            {
                await Task.Delay(50, Token);
                prediction = await host.Client.GetPredictionAsync(prediction.Id, Token);
            }

            return prediction;
        }

        var made = await Task.WhenAll(RunAsync(settings.CancelAfterFor(ProviderNames.FluxPulid), 0), RunAsync(TimeSpan.FromMinutes(2), 1));

        // The deadline of the run alone passes during the boot: aborted, not billed, but nothing made either (a fallback would pay).
        Assert.Equal((PredictionStatus.Succeeded, PredictionStatus.Aborted), (made[0].Status, made[1].Status));
        var ledger = await emulator.LedgerAsync(2);
        Assert.True(ledger.Single(e => e.Id == made[0].Id).Cost > 0);
        Assert.Equal(("aborted", 0m), ledger.Where(e => e.Id == made[1].Id).Select(e => (e.Status, e.Cost)).Single());
    }

    [Fact]
    public async Task Creates_answered_503_are_looked_for_and_sent_again_without_duplicates()
    {
        await using var emulator = await EmulatorServer.StartAsync();
        await using var host = await StartAsync(emulator);
        await emulator.SetFaultsAsync(new { kind = "server_error", model = FluxPulid, status = 503, probability = 1.0, count = 3 });

        var (prediction, retries, _) = await MakeAsync(host, ProviderNames.FluxPulid, Portrait(0));

        Assert.Equal((PredictionStatus.Succeeded, 3), (prediction.Status, retries));
        Assert.StartsWith(FluxPulid, prediction.Model, StringComparison.Ordinal);
        // 503, look, create again: every retry after an ambiguous answer is preceded by a look at what exists.
        Assert.Equal(["POST", "GET", "POST", "GET", "POST", "GET", "POST"],
            host.Requests.All.Where(r => r.IsCreate || r.PathAndQuery.StartsWith("/v1/predictions?", StringComparison.Ordinal)).Select(r => r.Method));
        Assert.Equal([prediction.Id], (await emulator.LedgerAsync(1)).Select(e => e.Id));
    }

    [Fact]
    public async Task A_create_answered_503_after_its_prediction_was_made_is_adopted_not_repeated()
    {
        await using var emulator = await EmulatorServer.StartAsync();
        await using var host = await StartAsync(emulator);
        await emulator.SetFaultsAsync(new { kind = "server_error", model = FluxPulid, status = 503, count = 1, after_processing = true });

        var (prediction, _, _) = await MakeAsync(host, ProviderNames.FluxPulid, Portrait(0));

        Assert.Equal(PredictionStatus.Succeeded, prediction.Status);
        Assert.Single(host.Requests.Creates);
        Assert.Equal([prediction.Id], (await emulator.LedgerAsync(1)).Select(e => e.Id));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_create_whose_answer_was_lost_is_adopted_not_repeated(bool webhook)
    {
        await using var emulator = await EmulatorServer.StartAsync();
        await using var host = await StartAsync(emulator, ("Replicate:WebhookUrl", webhook ? WebhookUrl : null));
        var lost = 0;
        host.Requests.LoseResponse = request => request.Method == HttpMethod.Post && request.RequestUri!.AbsolutePath == "/v1/predictions"
                                                && Interlocked.Exchange(ref lost, 1) == 0;

        var (prediction, _, _) = await MakeAsync(host, ProviderNames.FluxPulid, Portrait(0));

        Assert.Equal(PredictionStatus.Succeeded, prediction.Status);
        Assert.Single(host.Requests.Creates);
        Assert.Equal([prediction.Id], (await emulator.LedgerAsync(1)).Select(e => e.Id));
    }

    [Fact]
    public async Task A_resumed_create_finds_its_prediction_behind_more_than_500_newer_ones_of_the_account()
    {
        // Replicate's 600 creates a minute would throttle the account's other predictions; the search is what is tested here.
        await using var emulator = await EmulatorServer.StartAsync(("ReplicateEmulator:CreateRateLimitPerMinute", "100000"));
        var (started, provider, input) = await BootingAsync(emulator);
        await using var host = started;
        var webhook = new Uri(WebhookUrl);
        var recordedAt = DateTimeOffset.UtcNow;

        // A worker sent the create and died; then the account made 600 more of the same model (other generations, other apps; their
        // seeds differ, as each attempt's does).
        var made = await host.Client.CreatePredictionAsync(provider.Model, Seeded(input, 1), new(Webhook: SafeCreate.Mark(webhook, "gen-7-1")), Token);
        foreach (var chunk in Enumerable.Range(0, 600).Chunk(50))
        {
            await Task.WhenAll(chunk.Select(i => host.Client.CreatePredictionAsync(provider.Model, Seeded(input, 2 + i),
                new(Webhook: SafeCreate.Mark(webhook, $"other-{i}")), Token)));
        }

        var adopted = await host.Get<SafeCreate>().CreateAsync(provider.Model, Seeded(input, 1), new(Webhook: webhook), Token,
            new CreateKey("gen-7-1", recordedAt, Resumed: true));

        Assert.Equal(made.Id, adopted.Id);
        Assert.Equal(601, host.Requests.Creates.Count);
        // Past the fifth page (where the old search stopped): seven pages of the window (one more if a slow GET was sent again), the
        // first bounded on both sides.
        var searches = host.Requests.All.Where(r => r.Method == "GET" && r.PathAndQuery.StartsWith("/v1/predictions?", StringComparison.Ordinal)).ToList();
        Assert.Equal(7, searches.Select(r => r.PathAndQuery).Distinct().Count());
        Assert.Contains("created_after=", searches[0].PathAndQuery, StringComparison.Ordinal);
        Assert.Contains("created_before=", searches[0].PathAndQuery, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_lapsed_create_is_only_looked_for_what_it_made_is_found_and_nothing_is_ever_sent()
    {
        await using var emulator = await EmulatorServer.StartAsync();
        var (started, provider, input) = await BootingAsync(emulator);
        await using var host = started;
        var webhook = new Uri(WebhookUrl);
        var recordedAt = DateTimeOffset.UtcNow;

        // The sender of gen-9-1 died after its create went out; the sender of gen-9-2 died before. Each is looked for by the input it
        // recorded, the webhook URL is not read.
        var made = await host.Client.CreatePredictionAsync(provider.Model, Seeded(input, 91), new(Webhook: SafeCreate.Mark(webhook, "gen-9-2")), Token);
        var safeCreate = host.Get<SafeCreate>();
        var found = await safeCreate.FindMadeAsync(provider.Model, InputFingerprint.Of(Seeded(input, 91)), new CreateKey("gen-9-1", recordedAt, Resumed: true), Token);
        var none = await safeCreate.FindMadeAsync(provider.Model, InputFingerprint.Of(Seeded(input, 92)), new CreateKey("gen-9-2", recordedAt, Resumed: true), Token);

        Assert.Equal(made.Id, found?.Id);
        Assert.Null(none);
        Assert.Single(host.Requests.Creates); // the test's own: a search never creates

        // A hold another worker has taken over: nothing is even looked for.
        var searches = host.Requests.All.Count;
        await Assert.ThrowsAsync<CreateTakenOverException>(() => safeCreate.FindMadeAsync(provider.Model, InputFingerprint.Of(Seeded(input, 91)),
            new CreateKey("gen-9-1", recordedAt, Resumed: true, _ => Task.FromResult(false)), Token));
        Assert.Equal(searches, host.Requests.All.Count);
    }

    [Fact]
    public async Task A_wrong_token_is_refused_at_once_and_not_sent_again()
    {
        await using var emulator = await EmulatorServer.StartAsync();
        await using var host = await StartAsync(emulator, ("Replicate:ApiToken", "r8_wrong"));

        var refused = await Assert.ThrowsAsync<ReplicateException>(() => MakeAsync(host, ProviderNames.FluxPulid, Portrait(0)));

        Assert.Equal(ErrorCategory.Authentication, refused.Category);
        Assert.Single(host.Requests.All);
    }

    [Fact]
    public async Task A_provider_whose_model_is_gone_fails_its_probe()
    {
        await using var emulator = await EmulatorServer.StartAsync();
        await using var host = await StartAsync(emulator, ("REPLICATE_PRIMARY_MODEL", "instant-id"),
            ("Replicate:Models:instant-id:Model", "grandlineai/instant-id-retired:03914a0c3326bf44383d0cd84b06822618af879229ce5d1d53bef38d93b68279"));

        var reports = await host.Get<ProviderHealthProbe>().ProbeAllAsync(Token);

        Assert.Equal([(ProviderNames.FluxKontextPro, true), (ProviderNames.FluxPulid, true), (ProviderNames.InstantId, false)],
            reports.Select(r => (r.Provider, r.Healthy)).Order());
        Assert.Equal(ErrorCategory.NotFound, reports.Single(r => !r.Healthy).Category);
    }

    [Fact]
    public async Task A_throttled_probe_is_not_a_failed_one()
    {
        await using var emulator = await EmulatorServer.StartAsync();
        await using var host = await StartAsync(emulator);
        await emulator.SetFaultsAsync(new { kind = "rate_limit", model = FluxPulid, duration = "00:10:00" });

        var reports = await host.Get<ProviderHealthProbe>().ProbeAllAsync(Token);

        // The API answered (429: slow down) and the model is there: the provider is waited for by the create limit, not skipped.
        Assert.Equal([(ProviderNames.FluxKontextPro, true), (ProviderNames.FluxPulid, true), (ProviderNames.InstantId, true)],
            reports.Select(r => (r.Provider, r.Healthy)).Order());
        Assert.Contains(host.Requests.All, r => r.Status == 429 && r.PathAndQuery.Contains("flux-pulid", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Instant_id_makes_a_portrait_and_says_what_it_adapted()
    {
        await using var emulator = await EmulatorServer.StartAsync();
        await using var host = await StartAsync(emulator, ("REPLICATE_PRIMARY_MODEL", "instant-id"));

        var (prediction, _, input) = await MakeAsync(host, ProviderNames.InstantId,
            Portrait(0) with { Options = new PortraitOptions { Width = 256, Height = 256, Seed = 1 } });

        Assert.Equal(PredictionStatus.Succeeded, prediction.Status);
        Assert.StartsWith("grandlineai/instant-id-photorealistic", prediction.Model, StringComparison.Ordinal);
        Assert.Contains(input.Adaptations, a => a.Contains("256×256 was not applied", StringComparison.Ordinal));
        Assert.Contains(input.Adaptations, a => a.Contains("seed", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_multi_reference_provider_takes_several_faces()
    {
        await using var emulator = await EmulatorServer.StartAsync();
        await using var host = await StartAsync(emulator, ("Replicate:EnableMultiReference", "true"));

        var (prediction, _, input) = await MakeAsync(host, ProviderNames.FluxMultiPulid, Portrait(0, faces: 3));

        Assert.Equal(PredictionStatus.Succeeded, prediction.Status);
        Assert.StartsWith("mattheum/flux-multi-pulid-controlnet", prediction.Model, StringComparison.Ordinal);
        Assert.Equal(3, new[] { "id_one_image", "id_two_image", "id_three_image", "id_four_image" }.Count(input.Input.ContainsKey));
    }
}
