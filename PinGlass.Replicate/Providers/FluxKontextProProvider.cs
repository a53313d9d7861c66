using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;

namespace PinGlass.Replicate.Providers;

/// <summary>
/// black-forest-labs/flux-kontext-pro, the secondary (an official model, run by its models path). It takes an aspect ratio, not a
/// size; png or jpg only; and has no negative prompt, steps, identity weight or guidance (replicate-api.md §7.2). Its safety tolerance
/// is at most 2 with an input image.
/// </summary>
public sealed class FluxKontextProProvider(IOptions<ReplicateOptions> options) : PortraitProvider(ProviderNames.FluxKontextPro, options)
{
    /// <summary>The model's aspect ratios, <c>match_input_image</c> left out: PinGlass always asks for a shape.</summary>
    private static readonly string[] AspectRatios = ["1:1", "16:9", "9:16", "4:3", "3:4", "3:2", "2:3", "4:5", "5:4", "21:9", "9:21", "2:1", "1:2"];

    protected override bool TakesNegativePrompt => false;

    /// <summary>The most a request with an input image may ask for.</summary>
    private const int SafetyTolerance = 2;

    protected override void MapInto(JsonObject input, PortraitRequest request, List<string> adaptations)
    {
        var options = request.Options;
        input["input_image"] = request.FaceImages[0];
        var ratio = NearestAspectRatio(options.Width, options.Height);
        input["aspect_ratio"] = ratio;
        adaptations.Add($"{options.Width}×{options.Height} was sent as aspect ratio {ratio}; the model picks the size.");

        var format = options.OutputFormat == OutputFormat.Webp ? OutputFormat.Png : options.OutputFormat;
        input["output_format"] = FormatName(format);
        if (format != options.OutputFormat)
        {
            adaptations.Add("webp is not offered; the output is png.");
        }

        input["safety_tolerance"] = SafetyTolerance;
        if (options.Seed is { } seed)
        {
            input["seed"] = seed;
        }

        adaptations.Add("steps, idWeight and guidanceScale were not applied: the model has no such inputs.");
    }

    /// <summary>The ratio closest to width/height, compared on a log scale so 2:1 and 1:2 are equally far from 1:1.</summary>
    internal static string NearestAspectRatio(int width, int height)
    {
        var wanted = Math.Log((double)width / height);
        return AspectRatios.MinBy(r => Math.Abs(Math.Log(Ratio(r)) - wanted))!;
    }

    private static double Ratio(string aspect)
    {
        var parts = aspect.Split(':');
        return double.Parse(parts[0], CultureInfo.InvariantCulture) / double.Parse(parts[1], CultureInfo.InvariantCulture);
    }
}
