using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;

namespace PinGlass.Replicate.Providers;

/// <summary>
/// grandlineai/instant-id-photorealistic, the tertiary: sizes 512–2048, no seed, no output format (always png), and an identity
/// strength (<c>ip_adapter_scale</c>) of 0–1 (replicate-api.md §7.3).
/// </summary>
public sealed class InstantIdProvider(IOptions<ReplicateOptions> options) : PortraitProvider(ProviderNames.InstantId, options)
{
    private const int MinSize = 512;
    private const int MaxSize = 2048;

    /// <summary>PinGlass's default idWeight (1.0) lands on the model's default ip_adapter_scale (0.8).</summary>
    private const double IdWeightToAdapterScale = 0.8;

    protected override void MapInto(JsonObject input, PortraitRequest request, List<string> adaptations)
    {
        var options = request.Options;
        input["image"] = request.FaceImages[0];

        // Scale up so the short side reaches the model's minimum, keeping the shape where the maximum allows.
        var scale = Math.Max(1, (double)MinSize / Math.Min(options.Width, options.Height));
        var (width, height) = (Math.Min(MaxSize, (int)Math.Round(options.Width * scale)), Math.Min(MaxSize, (int)Math.Round(options.Height * scale)));
        input["width"] = width;
        input["height"] = height;
        if ((width, height) != (options.Width, options.Height))
        {
            adaptations.Add($"{options.Width}×{options.Height} was raised to {width}×{height}: the model's sizes are {MinSize}–{MaxSize}.");
        }

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

        if (options.OutputFormat != OutputFormat.Png)
        {
            adaptations.Add($"{FormatName(options.OutputFormat)} is not offered; the output is png.");
        }
    }
}
