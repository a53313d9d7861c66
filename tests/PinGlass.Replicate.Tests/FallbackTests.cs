using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Text.Json.Nodes;
using PinGlass.Replicate.Errors;
using PinGlass.Replicate.Fallback;
using PinGlass.Replicate.Health;
using PinGlass.Replicate.Providers;
using PinGlass.Replicate.Resilience;

namespace PinGlass.Replicate.Tests;

/// <summary>The acceptance scenarios: the whole chain against the emulator with its faults.</summary>
public sealed class FallbackTests
{
    private const string FluxPulid = "bytedance/flux-pulid";
    private const string Kontext = "black-forest-labs/flux-kontext-pro";
    private const string Nsfw = "NSFW content detected. Try running it again, or try a different prompt.";

    /// <summary>Nothing listens there; the emulator's webhooks fail quietly while the URL still carries each attempt's marker.</summary>
    private const string WebhookUrl = "http://127.0.0.1:9/hooks/replicate";

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private static GenerationRequest Portrait(int index, int faces = 1) =>
        new($"a studio portrait, take {index}", [.. Enumerable.Repeat(EmulatorServer.Face, faces)],
            new GenerationOptions { Width = 256, Height = 256, OutputFormat = OutputFormat.Jpg }, index);

    private static Task<TestHost> StartAsync(EmulatorServer emulator, params (string Key, string? Value)[] settings) =>
        TestHost.StartAsync(emulator.BaseAddress, new Dictionary<string, string?>(settings.Select(s => KeyValuePair.Create(s.Key, s.Value)))
        {
            ["Replicate:WebhookUrl"] = WebhookUrl,
        });

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

        var results = await Task.WhenAll(Enumerable.Range(0, 20).Select(i => host.Get<FallbackChain>().GenerateAsync(Portrait(i), Token)));

        Assert.All(results, r => Assert.True(r.Success, r.Error?.Message));
        Assert.Equal(Enumerable.Range(0, 20), results.Select(r => r.PromptIndex));
        Assert.True(await emulator.InjectedAsync("rate_limit") > 0);
        Assert.True(results.Sum(r => r.RetryCount) > 0);

        // Exactly one billed prediction per portrait, and it is the one delivered: never a duplicate.
        var ledger = await emulator.LedgerAsync(20);
        Assert.All(ledger, e => Assert.Equal("succeeded", e.Status));
        Assert.Equal(results.Select(r => r.PredictionId!).Order(), ledger.Select(e => e.Id).Order());

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
    public async Task Creates_answered_503_are_looked_for_and_sent_again_without_duplicates()
    {
        await using var emulator = await EmulatorServer.StartAsync();
        await using var host = await StartAsync(emulator);
        await emulator.SetFaultsAsync(new { kind = "server_error", model = FluxPulid, status = 503, probability = 1.0, count = 3 });

        var result = await host.Get<FallbackChain>().GenerateAsync(Portrait(0), Token);

        Assert.True(result.Success, result.Error?.Message);
        Assert.Equal((FluxPulid, 3), (result.Model!.Split(':')[0], result.RetryCount));
        // 503, look, create again: every retry after an ambiguous answer is preceded by a look at what exists.
        Assert.Equal(["POST", "GET", "POST", "GET", "POST", "GET", "POST"],
            host.Requests.All.Where(r => r.IsCreate || r.PathAndQuery.StartsWith("/v1/predictions?", StringComparison.Ordinal)).Select(r => r.Method));
        Assert.Equal([result.PredictionId], (await emulator.LedgerAsync(1)).Select(e => e.Id));
    }

    [Fact]
    public async Task A_create_answered_503_after_its_prediction_was_made_is_adopted_not_repeated()
    {
        await using var emulator = await EmulatorServer.StartAsync();
        await using var host = await StartAsync(emulator);
        await emulator.SetFaultsAsync(new { kind = "server_error", model = FluxPulid, status = 503, count = 1, after_processing = true });

        var result = await host.Get<FallbackChain>().GenerateAsync(Portrait(0), Token);

        Assert.True(result.Success, result.Error?.Message);
        Assert.Single(host.Requests.Creates);
        Assert.Equal([result.PredictionId], (await emulator.LedgerAsync(1)).Select(e => e.Id));
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

        var result = await host.Get<FallbackChain>().GenerateAsync(Portrait(0), Token);

        Assert.True(result.Success, result.Error?.Message);
        Assert.Single(host.Requests.Creates);
        Assert.Equal([result.PredictionId], (await emulator.LedgerAsync(1)).Select(e => e.Id));
    }

    [Fact]
    public async Task With_the_primary_down_portraits_fall_back_and_the_open_circuit_skips_it()
    {
        await using var emulator = await EmulatorServer.StartAsync();
        await using var host = await StartAsync(emulator,
            ("Replicate:GenerationTimeout", "00:00:05"),
            ("Replicate:CircuitBreaker:MinimumThroughput", "2"),
            ("Replicate:CircuitBreaker:BreakDuration", "00:10:00"));
        await emulator.SetFaultsAsync(new { kind = "model_down", model = FluxPulid, probability = 1.0 });
        var chain = host.Get<FallbackChain>();

        var first = await Task.WhenAll(chain.GenerateAsync(Portrait(0), Token), chain.GenerateAsync(Portrait(1), Token));

        Assert.All(first, r =>
        {
            Assert.True(r.Success, r.Error?.Message);
            Assert.StartsWith(Kontext, r.Model, StringComparison.Ordinal);
            Assert.Equal([(ProviderNames.FluxPulid, AttemptOutcome.Failed, ErrorCategory.Timeout), (ProviderNames.FluxKontextPro, AttemptOutcome.Succeeded, null)],
                r.Attempts.Select(a => (a.Provider, a.Outcome, a.Category)));
        });
        Assert.True(host.Get<ModelCircuitBreakers>().IsOpen(FluxPulid));

        var later = await chain.GenerateAsync(Portrait(2), Token);

        Assert.True(later.Success);
        Assert.Equal([AttemptOutcome.SkippedCircuitOpen, AttemptOutcome.Succeeded], later.Attempts.Select(a => a.Outcome));
        Assert.Equal(2, host.Requests.Creates.Count(c => c.PathAndQuery == "/v1/predictions"));

        // The primary's predictions never started and were canceled: nothing billed for them.
        var ledger = await emulator.LedgerAsync(5);
        Assert.All(ledger.Where(e => e.Model == FluxPulid), e => Assert.Equal(("canceled", 0m), (e.Status, e.Cost)));
        Assert.Equal(3, ledger.Count(e => e.Model == Kontext && e.Status == "succeeded"));
    }

    [Fact]
    public async Task An_nsfw_failure_falls_back_and_counts_the_cost_of_both()
    {
        await using var emulator = await EmulatorServer.StartAsync();
        await using var host = await StartAsync(emulator);
        await emulator.SetFaultsAsync(new { kind = "prediction_failed", model = FluxPulid, probability = 1.0, error = Nsfw });
        var measured = new System.Collections.Concurrent.ConcurrentQueue<(string Instrument, string? Provider, string? Outcome)>();
        using var listener = new MeterListener();
        var meters = host.Get<IMeterFactory>();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Scope == meters && instrument.Name.StartsWith("pinglass.replicate.", StringComparison.Ordinal))
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, _, tags, _) => measured.Enqueue((instrument.Name,
            Tag(tags, "provider"), Tag(tags, "outcome"))));
        listener.Start();

        var result = await host.Get<FallbackChain>().GenerateAsync(Portrait(0), Token);

        Assert.True(result.Success);
        Assert.Equal([(ProviderNames.FluxPulid, ErrorCategory.Safety), (ProviderNames.FluxKontextPro, (ErrorCategory?)null)],
            result.Attempts.Select(a => (a.Provider, a.Category)));
        Assert.Equal(0.04m + result.Attempts[0].Cost, result.Cost);
        Assert.Contains(result.Adaptations, a => a.Contains("aspect ratio 1:1", StringComparison.Ordinal));
        Assert.Equal(0, result.Attempts[0].Retries);
        Assert.Equal([("pinglass.replicate.attempts", ProviderNames.FluxPulid, "Failed"), ("pinglass.replicate.fallbacks", ProviderNames.FluxPulid, null),
            ("pinglass.replicate.attempts", ProviderNames.FluxKontextPro, "Succeeded")], measured);
    }

    private static string? Tag(ReadOnlySpan<KeyValuePair<string, object?>> tags, string name)
    {
        foreach (var tag in tags)
        {
            if (tag.Key == name)
            {
                return tag.Value?.ToString();
            }
        }

        return null;
    }

    [Fact]
    public async Task Without_fallback_a_failure_is_the_result()
    {
        await using var emulator = await EmulatorServer.StartAsync();
        await using var host = await StartAsync(emulator, ("REPLICATE_ENABLE_FALLBACK", "false"));
        await emulator.SetFaultsAsync(new { kind = "prediction_failed", model = FluxPulid, probability = 1.0, error = "CUDA out of memory." });

        var result = await host.Get<FallbackChain>().GenerateAsync(Portrait(3), Token);

        Assert.False(result.Success);
        Assert.Equal((ErrorCategory.ModelError, 3, (string?)null), (result.Error!.Category, result.PromptIndex, result.Url));
        Assert.Single(result.Attempts);
    }

    [Fact]
    public async Task A_wrong_token_ends_the_chain_at_once()
    {
        await using var emulator = await EmulatorServer.StartAsync();
        await using var host = await StartAsync(emulator, ("Replicate:ApiToken", "r8_wrong"));

        var result = await host.Get<FallbackChain>().GenerateAsync(Portrait(0), Token);

        Assert.Equal(ErrorCategory.Authentication, result.Error!.Category);
        Assert.Single(result.Attempts);
        Assert.Single(host.Requests.All);
    }

    [Fact]
    public async Task Invalid_options_are_refused_before_any_call()
    {
        await using var emulator = await EmulatorServer.StartAsync();
        await using var host = await StartAsync(emulator);

        var result = await host.Get<FallbackChain>().GenerateAsync(Portrait(0) with { Options = new GenerationOptions { Steps = 50 } }, Token);

        Assert.Equal(ErrorCategory.Validation, result.Error!.Category);
        Assert.Contains("steps", result.Error.Message, StringComparison.Ordinal);
        Assert.Empty(result.Attempts);
        Assert.Empty(host.Requests.All);
    }

    [Fact]
    public async Task A_provider_whose_probe_failed_is_skipped()
    {
        await using var emulator = await EmulatorServer.StartAsync();
        await using var host = await StartAsync(emulator, ("REPLICATE_PRIMARY_MODEL", "instant-id"),
            ("Replicate:Models:instant-id:Model", "grandlineai/instant-id-retired:03914a0c3326bf44383d0cd84b06822618af879229ce5d1d53bef38d93b68279"));

        var reports = await host.Get<ProviderHealthProbe>().ProbeAllAsync(Token);
        var result = await host.Get<FallbackChain>().GenerateAsync(Portrait(0), Token);

        Assert.Equal([(ProviderNames.FluxPulid, true), (ProviderNames.FluxKontextPro, true), (ProviderNames.InstantId, false)],
            reports.Select(r => (r.Provider, r.Healthy)).OrderBy(r => r.Provider == ProviderNames.InstantId).ThenBy(r => r.Provider != ProviderNames.FluxPulid));
        Assert.True(result.Success);
        Assert.Equal([(ProviderNames.InstantId, AttemptOutcome.SkippedUnhealthy), (ProviderNames.FluxPulid, AttemptOutcome.Succeeded)],
            result.Attempts.Select(a => (a.Provider, a.Outcome)));
    }

    [Fact]
    public async Task Instant_id_as_primary_makes_a_portrait_and_says_what_it_adapted()
    {
        await using var emulator = await EmulatorServer.StartAsync();
        await using var host = await StartAsync(emulator, ("REPLICATE_PRIMARY_MODEL", "instant-id"));

        var result = await host.Get<FallbackChain>().GenerateAsync(Portrait(0) with { Options = new GenerationOptions { Width = 256, Height = 256, Seed = 1 } }, Token);

        Assert.True(result.Success, result.Error?.Message);
        Assert.StartsWith("grandlineai/instant-id-photorealistic", result.Model, StringComparison.Ordinal);
        Assert.Contains(result.Adaptations, a => a.Contains("512×512", StringComparison.Ordinal));
        Assert.Contains(result.Adaptations, a => a.Contains("seed", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_multi_reference_provider_takes_several_faces_when_switched_on()
    {
        await using var emulator = await EmulatorServer.StartAsync();
        await using var host = await StartAsync(emulator, ("Replicate:EnableMultiReference", "true"));

        var several = await host.Get<FallbackChain>().GenerateAsync(Portrait(0, faces: 3), Token);
        var one = await host.Get<FallbackChain>().GenerateAsync(Portrait(1), Token);

        Assert.True(several.Success, several.Error?.Message);
        Assert.StartsWith("mattheum/flux-multi-pulid-controlnet", several.Model, StringComparison.Ordinal);
        Assert.StartsWith(FluxPulid, one.Model, StringComparison.Ordinal);
    }
}
