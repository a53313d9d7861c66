using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;

namespace PinGlass.Replicate.Providers;

/// <summary>
/// mattheum/flux-multi-pulid-controlnet, pinned to its version whose published schema has up to four identities
/// (<c>id_one_image</c> … <c>id_four_image</c>; the other published version has none): its confirmed generation fields are size and
/// steps (replicate-api.md §7.4). Used only when <c>Replicate:EnableMultiReference</c> is on.
/// </summary>
public sealed class FluxMultiPulidProvider(IOptions<ReplicateOptions> options) : PortraitProvider(ProviderNames.FluxMultiPulid, options)
{
    private static readonly string[] FaceFields = ["id_one_image", "id_two_image", "id_three_image", "id_four_image"];

    public override int MaxFaces => FaceFields.Length;

    protected override void MapInto(JsonObject input, PortraitRequest request, List<string> adaptations)
    {
        foreach (var (field, face) in FaceFields.Zip(request.FaceImages))
        {
            input[field] = face;
        }

        var options = request.Options;
        input["width"] = options.Width;
        input["height"] = options.Height;
        input["num_steps"] = options.Steps;
        // Replicate ignores inputs a version does not have: sent, they would look applied and not be.
        adaptations.Add("idWeight, guidanceScale, seed and outputFormat were not sent: the pinned version's published schema confirms no such inputs.");
    }
}
