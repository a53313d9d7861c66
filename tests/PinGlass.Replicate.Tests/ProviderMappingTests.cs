using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using PinGlass.Replicate.Providers;

namespace PinGlass.Replicate.Tests;

public sealed class ProviderMappingTests
{
    private const string Face = "data:image/png;base64,AAAA";
    private static readonly IOptions<ReplicateOptions> Options = Microsoft.Extensions.Options.Options.Create(new ReplicateOptions());

    private static PortraitRequest Request(PortraitOptions? options = null, int faces = 1) =>
        new("a studio portrait", [.. Enumerable.Range(0, faces).Select(i => $"{Face}{i}")], options ?? new PortraitOptions());

    private static JsonObject MapOnly(PortraitProvider provider, PortraitRequest request) => provider.Map(request).Input;

    [Fact]
    public void Flux_pulid_takes_every_option_as_it_is()
    {
        var options = new PortraitOptions { Width = 768, Height = 1024, Steps = 12, IdWeight = 2.5, GuidanceScale = 7, Seed = 42, OutputFormat = OutputFormat.Webp };

        var mapped = new FluxPulidProvider(Options).Map(Request(options) with { NegativePrompt = "blurry" });

        Assert.Equal("""{"prompt":"a studio portrait","negative_prompt":"blurry","main_face_image":"data:image/png;base64,AAAA0","width":768,"height":1024,"num_steps":12,"guidance_scale":7,"id_weight":2.5,"output_format":"webp","output_quality":95,"num_outputs":1,"seed":42}""",
            mapped.Input.ToJsonString());
        Assert.Empty(mapped.Adaptations);
    }

    [Theory]
    [InlineData(OutputFormat.Jpg, 95)]
    [InlineData(OutputFormat.Webp, 95)]
    [InlineData(OutputFormat.Png, null)]
    public void Flux_pulid_asks_for_quality_95_where_the_format_has_a_quality(OutputFormat format, int? quality) =>
        Assert.Equal(quality, MapOnly(new FluxPulidProvider(Options), Request(new PortraitOptions { OutputFormat = format }))["output_quality"]?.GetValue<int>());

    [Fact]
    public void Flux_pulid_leaves_the_seed_out_when_none_is_given() =>
        Assert.False(MapOnly(new FluxPulidProvider(Options), Request()).ContainsKey("seed"));

    [Fact]
    public void A_single_face_provider_says_it_used_only_the_first_face()
    {
        var mapped = new FluxPulidProvider(Options).Map(Request(faces: 3));

        Assert.Equal($"{Face}0", mapped.Input["main_face_image"]!.GetValue<string>());
        Assert.Contains(mapped.Adaptations, a => a.Contains("first 1 of 3", StringComparison.Ordinal));
    }

    [Fact]
    public void Multi_pulid_places_up_to_four_faces_and_the_options_its_version_confirms()
    {
        var mapped = new FluxMultiPulidProvider(Options).Map(Request(new PortraitOptions { Seed = 7, Steps = 12 }, faces: 4));

        Assert.Equal("""{"prompt":"a studio portrait","id_one_image":"data:image/png;base64,AAAA0","id_two_image":"data:image/png;base64,AAAA1","id_three_image":"data:image/png;base64,AAAA2","id_four_image":"data:image/png;base64,AAAA3","width":896,"height":1152,"num_steps":12}""",
            mapped.Input.ToJsonString());
        Assert.Contains(mapped.Adaptations, a => a.StartsWith("idWeight, guidanceScale, seed and outputFormat were not sent", StringComparison.Ordinal));
    }

    [Fact]
    public void Multi_pulid_with_two_faces_sends_only_those() =>
        Assert.False(MapOnly(new FluxMultiPulidProvider(Options), Request(faces: 2)).ContainsKey("id_three_image"));

    [Theory]
    [InlineData(896, 1152, "4:5")]
    [InlineData(1024, 1024, "1:1")]
    [InlineData(1536, 864, "16:9")]
    [InlineData(768, 1152, "2:3")]
    [InlineData(1152, 896, "5:4")]
    [InlineData(1536, 256, "21:9")]
    [InlineData(256, 1536, "9:21")]
    [InlineData(1536, 768, "2:1")]
    [InlineData(864, 1152, "3:4")]
    public void Kontext_gets_the_nearest_aspect_ratio(int width, int height, string ratio)
    {
        var mapped = new FluxKontextProProvider(Options).Map(Request(new PortraitOptions { Width = width, Height = height }));

        Assert.Equal(ratio, mapped.Input["aspect_ratio"]!.GetValue<string>());
        Assert.False(mapped.Input.ContainsKey("width"));
        Assert.Contains(mapped.Adaptations, a => a.Contains($"aspect ratio {ratio}", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(OutputFormat.Png, "png", false)]
    [InlineData(OutputFormat.Jpg, "jpg", false)]
    [InlineData(OutputFormat.Webp, "png", true)]
    public void Kontext_offers_png_and_jpg_only(OutputFormat format, string sent, bool adapted)
    {
        var mapped = new FluxKontextProProvider(Options).Map(Request(new PortraitOptions { OutputFormat = format }));

        Assert.Equal(sent, mapped.Input["output_format"]!.GetValue<string>());
        Assert.Equal(adapted, mapped.Adaptations.Any(a => a.Contains("webp", StringComparison.Ordinal)));
    }

    [Fact]
    public void Kontext_keeps_the_seed_and_says_what_it_cannot_apply()
    {
        var mapped = new FluxKontextProProvider(Options).Map(Request(new PortraitOptions { Seed = 5 }));

        Assert.Equal(5, mapped.Input["seed"]!.GetValue<long>());
        Assert.Equal(2, mapped.Input["safety_tolerance"]!.GetValue<int>());
        Assert.Equal($"{Face}0", mapped.Input["input_image"]!.GetValue<string>());
        Assert.False(mapped.Input.ContainsKey("num_steps") || mapped.Input.ContainsKey("id_weight") || mapped.Input.ContainsKey("guidance_scale"));
        Assert.Contains(mapped.Adaptations, a => a.Contains("steps, idWeight and guidanceScale", StringComparison.Ordinal));
    }

    [Fact]
    public void Instant_id_is_sent_no_size_and_says_its_output_takes_the_references_shape()
    {
        var mapped = new InstantIdProvider(Options).Map(Request(new PortraitOptions { Width = 896, Height = 1152 }));

        Assert.False(mapped.Input.ContainsKey("width") || mapped.Input.ContainsKey("height"));
        Assert.Contains("896×1152 was not applied: the model makes its output in the reference's shape (1280×1280 for a square reference).", mapped.Adaptations);
    }

    [Theory]
    [InlineData(0, 0, false)]
    [InlineData(1.0, 0.8, false)]
    [InlineData(1.25, 1.0, false)]
    [InlineData(3, 1.0, true)]
    public void Instant_id_maps_id_weight_onto_its_adapter_scale(double idWeight, double scale, bool adapted)
    {
        var mapped = new InstantIdProvider(Options).Map(Request(new PortraitOptions { IdWeight = idWeight }));

        Assert.Equal(scale, mapped.Input["ip_adapter_scale"]!.GetValue<double>(), 9);
        Assert.Equal(adapted, mapped.Adaptations.Any(a => a.Contains("ip_adapter_scale", StringComparison.Ordinal)));
    }

    [Fact]
    public void Instant_id_has_no_seed_and_only_jpg()
    {
        var mapped = new InstantIdProvider(Options).Map(Request(new PortraitOptions { Seed = 9, OutputFormat = OutputFormat.Png, Steps = 15, GuidanceScale = 6 }));

        Assert.False(mapped.Input.ContainsKey("seed") || mapped.Input.ContainsKey("output_format"));
        Assert.Equal(15, mapped.Input["num_inference_steps"]!.GetValue<int>());
        Assert.Equal(6, mapped.Input["guidance_scale"]!.GetValue<double>());
        Assert.Equal($"{Face}0", mapped.Input["image"]!.GetValue<string>());
        Assert.Contains(mapped.Adaptations, a => a.Contains("seed", StringComparison.Ordinal));
        Assert.Contains(mapped.Adaptations, a => a.Contains("png is not offered; the output is jpg", StringComparison.Ordinal));
    }

    [Fact]
    public void Providers_read_their_models_from_configuration()
    {
        var options = new ReplicateOptions();
        options.Models[ProviderNames.FluxKontextPro].Model = "someone/other-kontext:abc123";

        var provider = new FluxKontextProProvider(Microsoft.Extensions.Options.Options.Create(options));

        Assert.Equal("someone/other-kontext", provider.Model.FullName);
        Assert.Equal("abc123", provider.Model.Version);
    }
}

public sealed class PortraitOptionsTests
{
    [Fact]
    public void The_defaults_are_the_designs_and_valid()
    {
        var options = new PortraitOptions();

        Assert.Equal((896, 1152, 20, 1.0, 4.0, null, OutputFormat.Jpg),
            (options.Width, options.Height, options.Steps, options.IdWeight, options.GuidanceScale, options.Seed, options.OutputFormat));
        Assert.Empty(options.Validate());
    }

    public static TheoryData<PortraitOptions, string?> Ranges => new()
    {
        { new() { Width = 256, Height = 1536, Steps = 1, IdWeight = 0, GuidanceScale = 1, Seed = 0 }, null },
        { new() { Width = 1536, Height = 256, Steps = 20, IdWeight = 3, GuidanceScale = 10 }, null },
        { new() { Width = 255 }, "width" },
        { new() { Width = 1537 }, "width" },
        { new() { Height = 255 }, "height" },
        { new() { Height = 1537 }, "height" },
        { new() { Steps = 0 }, "steps" },
        { new() { Steps = 21 }, "steps" },
        { new() { IdWeight = -0.01 }, "idWeight" },
        { new() { IdWeight = 3.01 }, "idWeight" },
        { new() { IdWeight = double.NaN }, "idWeight" },
        { new() { GuidanceScale = 0.99 }, "guidanceScale" },
        { new() { GuidanceScale = 10.01 }, "guidanceScale" },
        { new() { Seed = -1 }, "seed" },
        { new() { OutputFormat = (OutputFormat)7 }, "outputFormat" },
    };

    [Theory]
    [MemberData(nameof(Ranges))]
    public void Every_range_is_checked(PortraitOptions options, string? field)
    {
        var errors = options.Validate();

        if (field is null)
        {
            Assert.Empty(errors);
        }
        else
        {
            Assert.StartsWith($"{field} must", Assert.Single(errors), StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("", 1, "data:image/png;base64,AA", "prompt")]
    [InlineData("p", 0, "data:image/png;base64,AA", "between 1 and 4")]
    [InlineData("p", 5, "data:image/png;base64,AA", "between 1 and 4")]
    [InlineData("p", 1, "file:///etc/passwd", "face images must")]
    public void Requests_need_a_prompt_and_one_to_four_face_urls(string prompt, int faces, string face, string error)
    {
        var request = new PortraitRequest(prompt, [.. Enumerable.Repeat(face, faces)], new PortraitOptions());

        Assert.Contains(request.Validate(), e => e.StartsWith(error, StringComparison.Ordinal));
    }
}
