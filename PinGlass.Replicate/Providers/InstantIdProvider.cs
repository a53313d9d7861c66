using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;

namespace PinGlass.Replicate.Providers;

/// <summary>
/// grandlineai/instant-id-photorealistic, the tertiary: no seed, an identity strength (<c>ip_adapter_scale</c>) of 0–1
/// (replicate-api.md §7.3), and, by its cog <c>predict.py</c>, an output that takes the reference's shape (short side 1024, long side
/// 1280, floored to multiples of 64: 1280×1280 for PinGlass's square crops), always a JPEG; its <c>width</c>/<c>height</c> size only
/// its face detector, left at the model's own 640.
/// </summary>
public sealed class InstantIdProvider(IOptions<ReplicateOptions> options) : PortraitProvider(ProviderNames.InstantId, options)
{
    /// <summary>PinGlass's default idWeight (1.0) lands on the model's default ip_adapter_scale (0.8).</summary>
    private const double IdWeightToAdapterScale = 0.8;

    protected override void MapInto(JsonObject input, PortraitRequest request, List<string> adaptations)
    {
        var options = request.Options;
        input["image"] = request.FaceImages[0];

        adaptations.Add($"{options.Width}×{options.Height} was not applied: the model makes its output in the reference's shape (1280×1280 for a square reference).");

        input["num_inference_steps"] = options.Steps;
        input["guidance_scale"] = options.GuidanceScale;

        var adapterScale = Math.Min(1, options.IdWeight * IdWeightToAdapterScale);
        input["ip_adapter_scale"] = adapterScale;
        if (adapterScale < options.IdWeight * IdWeightToAdapterScale)
        {
            adaptations.Add($"idWeight {options.IdWeight} is beyond the model's strongest identity setting; ip_adapter_scale 1 was used.");
        }

        if (options.Seed is not null)
        {
            adaptations.Add("seed was not applied: the model has no seed input, so the result is not reproducible.");
        }

        if (options.OutputFormat != OutputFormat.Jpg)
        {
            adaptations.Add($"{FormatName(options.OutputFormat)} is not offered; the output is jpg.");
        }
    }
}
