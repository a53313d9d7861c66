using Microsoft.Extensions.DependencyInjection;
using PinGlass.Replicate.Client;
using PinGlass.Replicate.Errors;
using PinGlass.Replicate.Providers;
using PinGlass.Replicate.Resilience;

namespace PinGlass.Replicate.Tests;

/// <summary>The order a portrait tries the providers in, the circuit a model's failures open, and how a prediction's end is judged.</summary>
public sealed class ProviderChainTests
{
    private static IServiceProvider Services(params (string Key, string? Value)[] settings) =>
        TestHost.Build(new Dictionary<string, string?>(settings.Select(s => KeyValuePair.Create(s.Key, s.Value)))
        {
            ["Replicate:ApiToken"] = TestHost.Token,
            ["Replicate:BaseUrl"] = "http://127.0.0.1:9/",
        }).Services;

    private static string[] Chain(IServiceProvider services, int faces) =>
        [.. services.GetRequiredService<ProviderChain>().For(faces).Select(p => p.Name)];

    [Fact]
    public void The_primary_comes_first_then_the_design_s_fallbacks()
    {
        Assert.Equal([ProviderNames.FluxPulid, ProviderNames.FluxKontextPro, ProviderNames.InstantId], Chain(Services(), 5));
        Assert.Equal([ProviderNames.InstantId, ProviderNames.FluxPulid, ProviderNames.FluxKontextPro],
            Chain(Services(("REPLICATE_PRIMARY_MODEL", "instant-id")), 5));
    }

    [Fact]
    public void Without_fallback_only_the_primary_is_tried() =>
        Assert.Equal([ProviderNames.FluxPulid], Chain(Services(("REPLICATE_ENABLE_FALLBACK", "false")), 5));

    [Fact]
    public void The_multi_reference_provider_leads_when_switched_on_and_there_are_several_faces()
    {
        var services = Services(("Replicate:EnableMultiReference", "true"));

        Assert.Equal([ProviderNames.FluxMultiPulid, ProviderNames.FluxPulid, ProviderNames.FluxKontextPro, ProviderNames.InstantId], Chain(services, 5));
        Assert.Equal([ProviderNames.FluxPulid, ProviderNames.FluxKontextPro, ProviderNames.InstantId], Chain(services, 1));
        Assert.DoesNotContain(ProviderNames.FluxMultiPulid, Chain(Services(), 5));
    }

    [Fact]
    public async Task Failures_that_say_something_about_the_model_open_its_circuit_and_others_do_not()
    {
        var services = Services(("Replicate:CircuitBreaker:MinimumThroughput", "2"), ("Replicate:CircuitBreaker:BreakDuration", "00:10:00"));
        var breakers = services.GetRequiredService<ModelCircuitBreakers>();

        await breakers.RecordAsync("a/refused", ErrorCategory.Validation);
        await breakers.RecordAsync("a/refused", ErrorCategory.Safety);
        await breakers.RecordAsync("a/timing-out", ErrorCategory.Timeout);
        await breakers.RecordAsync("a/timing-out", ErrorCategory.ModelError);

        Assert.False(breakers.IsOpen("a/refused"));
        Assert.True(breakers.IsOpen("a/timing-out"));
        await breakers.RecordAsync("a/timing-out", null); // an outcome arriving while open is not an error
    }

    [Fact]
    public async Task An_open_circuit_no_one_sends_to_counts_as_closed_once_its_break_has_passed()
    {
        // Polly moves an open circuit on only when its pipeline runs; a model nobody sends to because it is open would stay open.
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow);
        var services = TestHost.Build(new Dictionary<string, string?>
        {
            ["Replicate:ApiToken"] = TestHost.Token,
            ["Replicate:BaseUrl"] = "http://127.0.0.1:9/",
            ["Replicate:CircuitBreaker:MinimumThroughput"] = "2",
            ["Replicate:CircuitBreaker:BreakDuration"] = "00:00:30",
        }, builder => builder.Services.AddSingleton<TimeProvider>(time)).Services;
        var breakers = services.GetRequiredService<ModelCircuitBreakers>();
        await breakers.RecordAsync("a/down", ErrorCategory.ServerError);
        await breakers.RecordAsync("a/down", ErrorCategory.ServerError);

        Assert.True(breakers.IsOpen("a/down"));
        time.Advance(TimeSpan.FromSeconds(29));
        Assert.True(breakers.IsOpen("a/down"));
        time.Advance(TimeSpan.FromSeconds(2));
        Assert.False(breakers.IsOpen("a/down"));
    }

    [Fact]
    public void A_per_image_prediction_is_billed_for_its_image_even_after_replicate_removed_its_output()
    {
        var kontext = Services().GetRequiredService<ProviderChain>()[ProviderNames.FluxKontextPro];
        var output = System.Text.Json.JsonDocument.Parse("[\"https://x/1.png\"]").RootElement;

        Assert.Equal(0.04m, kontext.CostOf(new Prediction("p1", "m/m", "v", PredictionStatus.Succeeded, Output: output)));
        Assert.Equal(0.04m, kontext.CostOf(new Prediction("p1", "m/m", "v", PredictionStatus.Succeeded, DataRemoved: true)));
        Assert.Equal(0m, kontext.CostOf(new Prediction("p1", "m/m", "v", PredictionStatus.Failed, DataRemoved: true)));
    }

    public static TheoryData<string, string?, int, ErrorCategory?> Ends => new()
    {
        { PredictionStatus.Succeeded, null, 1, null },
        { PredictionStatus.Succeeded, null, 0, ErrorCategory.ModelError },
        { PredictionStatus.Failed, "NSFW content detected. Try running it again, or try a different prompt.", 0, ErrorCategory.Safety },
        { PredictionStatus.Failed, "CUDA out of memory.", 0, ErrorCategory.ModelError },
        { PredictionStatus.Aborted, null, 0, ErrorCategory.Timeout },
        { PredictionStatus.Canceled, null, 0, ErrorCategory.ModelError },
    };

    [Theory]
    [MemberData(nameof(Ends))]
    public void A_prediction_s_end_is_judged_in_one_place(string status, string? error, int outputs, ErrorCategory? category)
    {
        var prediction = new Prediction("p1", "m/m", "v", status,
            Output: outputs == 0 ? null : System.Text.Json.JsonDocument.Parse("[\"https://x/1.png\"]").RootElement, Error: error);

        Assert.Equal(category, ErrorPolicy.Classify(prediction).Category);
    }
}
