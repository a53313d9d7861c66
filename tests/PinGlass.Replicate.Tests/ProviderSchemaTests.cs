using System.Text.Json;
using Microsoft.Extensions.Options;
using PinGlass.Replicate.Providers;
using PinGlass.ReplicateEmulator.Models;

namespace PinGlass.Replicate.Tests;

/// <summary>
/// What each provider sends, checked against the published schema of the version PinGlass pins (the emulator's copy): Replicate
/// ignores an input the version does not have without a word (#15 items 4 and 5: flux-kontext-pro's <c>negative_prompt</c>, the
/// multi-face fields of a flux-multi-pulid version that has none), and refuses one out of its range.
/// </summary>
public sealed class ProviderSchemaTests
{
    private static readonly IOptions<ReplicateOptions> Options = Microsoft.Extensions.Options.Options.Create(new ReplicateOptions());

    private static readonly PortraitProvider[] All =
        [new FluxPulidProvider(Options), new FluxKontextProProvider(Options), new InstantIdProvider(Options), new FluxMultiPulidProvider(Options)];

    public static TheoryData<string> Providers => [.. All.Select(p => p.Name)];

    [Theory]
    [MemberData(nameof(Providers))]
    public void Every_input_a_provider_sends_is_one_its_pinned_version_publishes_and_within_its_range(string name)
    {
        var provider = All.Single(p => p.Name == name);
        var request = new PortraitRequest("a studio portrait", [.. Enumerable.Range(0, 4).Select(i => $"https://example.com/face-{i}.jpg")],
            new PortraitOptions { Seed = 42, OutputFormat = OutputFormat.Webp, Steps = PortraitOptions.MaxSteps }) { NegativePrompt = "blurry" };
        var schema = new ModelCatalog().ResolveVersion(Options.Value.Models[name].Model, out _)!.InputSchema;

        var input = JsonSerializer.SerializeToElement(provider.Map(request).Input);

        var published = schema.GetProperty("properties").EnumerateObject().Select(p => p.Name).ToHashSet();
        Assert.All(input.EnumerateObject(), field => Assert.Contains(field.Name, published));
        Assert.Empty(InputValidator.Validate(schema, input));
    }

    [Fact]
    public void A_negative_prompt_kontext_pro_cannot_take_is_left_out_and_said_so()
    {
        var mapped = new FluxKontextProProvider(Options).Map(new PortraitRequest("a studio portrait", ["https://example.com/face.jpg"], new PortraitOptions())
            { NegativePrompt = "blurry" });

        Assert.False(mapped.Input.ContainsKey("negative_prompt"));
        Assert.Contains("The negative prompt was not applied: flux-kontext-pro has no negative_prompt input.", mapped.Adaptations);
    }
}
