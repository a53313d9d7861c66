using System.ComponentModel.DataAnnotations;

namespace PinGlass.Photos.Selection;

/// <summary>Rejection limits and how many references are kept. Section <c>Photos:Selection</c>.</summary>
public sealed class SelectionOptions
{
    public const string Section = "Photos:Selection";

    /// <summary>References kept and rotated (the design's top 5).</summary>
    [Range(1, 20)]
    public int Keep { get; set; } = 5;

    /// <summary>Detections below this score are ignored: descriptors of weak detections are not comparable (field lesson 9).</summary>
    [Range(0.1, 1.0)]
    public double MinDetectionScore { get; set; } = 0.5;

    /// <summary>The largest face must be this many times the area of the next one (FaceChain uses 4).</summary>
    [Range(1.0, 100.0)]
    public double DominanceRatio { get; set; } = 4;

    /// <summary>Face side in original pixels below which the provider would be given an upscaled blur.</summary>
    [Range(16, 1024)]
    public int MinFaceSide { get; set; } = 96;

    /// <summary>Sharpness measure (0–1) below which a photo is too blurry.</summary>
    [Range(0.0, 1.0)]
    public double MinSharpness { get; set; } = 0.15;

    /// <summary>Descriptor distance under which two photos are the same shot.</summary>
    [Range(0.0, 0.5)]
    public double NearDuplicateDistance { get; set; } = 0.06;

    /// <summary>Side of the square face crop sent to the provider (flux-pulid works at 1024).</summary>
    [Range(256, 2048)]
    public int ProviderCropSide { get; set; } = 1024;
}
