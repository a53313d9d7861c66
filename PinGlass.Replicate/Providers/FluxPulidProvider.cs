using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;

namespace PinGlass.Replicate.Providers;

/// <summary>bytedance/flux-pulid, the primary: its inputs match PinGlass's options one to one (replicate-api.md §7.1).</summary>
public sealed class FluxPulidProvider(IOptions<ReplicateOptions> options) : PortraitProvider(ProviderNames.FluxPulid, options)
{
    /// <summary>The model's JPEG and WebP quality (its default is 80, which shows blocks in skin and hair); PNG ignores it.</summary>
    internal const int OutputQuality = 95;

    protected override void MapInto(JsonObject input, PortraitRequest request, List<string> adaptations)
    {
        input["main_face_image"] = request.FaceImages[0];
        var options = request.Options;
        input["width"] = options.Width;
        input["height"] = options.Height;
        input["num_steps"] = options.Steps;
        input["guidance_scale"] = options.GuidanceScale;
        input["id_weight"] = options.IdWeight;
        input["output_format"] = FormatName(options.OutputFormat);
        if (options.OutputFormat != OutputFormat.Png)
        {
            input["output_quality"] = OutputQuality;
        }

        input["num_outputs"] = 1;
        if (options.Seed is { } seed)
        {
            input["seed"] = seed;
        }
    }
}
