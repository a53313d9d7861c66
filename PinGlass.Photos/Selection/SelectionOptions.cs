using System.ComponentModel.DataAnnotations;
using PinGlass.Photos.Faces;

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

    /// <summary>
    /// The largest face must be this many times the area of the next one (FaceChain uses 4), or twice when the next is at the edge
    /// of the frame; a second detection of the same face does not count (<see cref="FaceChoice"/>).
    /// </summary>
    [Range(1.0, 100.0)]
    public double DominanceRatio { get; set; } = 4;

    /// <summary>Face side in original pixels below which the provider would be given an upscaled blur.</summary>
    [Range(16, 1024)]
    public int MinFaceSide { get; set; } = 64;

    /// <summary>Sharpness measure (0–1) below which a photo is too blurry.</summary>
    [Range(0.0, 1.0)]
    public double MinSharpness { get; set; } = 0.04;

    /// <summary>
    /// Two photos are one shot uploaded twice when their descriptors are this close (a JPEG re-encode moves them 0.07–0.15, a
    /// mirror 0.32–0.41, as the calibration harness prints)...
    /// </summary>
    [Range(0.0, 0.5)]
    public double NearDuplicateDistance { get; set; } = 0.22;

    /// <summary>...and their 32×32 grey thumbnails differ by less than this many grey levels on average (a re-encode: under 1;
    /// a 10 % exposure change, a crop or a blur: more).</summary>
    [Range(0.0, 64.0)]
    public double NearDuplicateGreyLevels { get; set; } = 3;

    /// <summary>Side of the square face crop sent to the provider (flux-pulid works at 1024).</summary>
    [Range(256, 2048)]
    public int ProviderCropSide { get; set; } = 1024;

    /// <summary>The faces confident enough to compare, largest first. References and portraits are held to the same rules.</summary>
    public IReadOnlyList<DetectedFace> ConfidentFaces(FaceAnalysis analysis) =>
        [.. analysis.Faces.Where(f => f.Score >= MinDetectionScore).OrderByDescending(f => f.Box.Area)];

    /// <summary>The face <paramref name="analysis"/> is about, or why there is none (<see cref="FaceChoice"/>).</summary>
    public FaceChoice Choose(FaceAnalysis analysis) => FaceChoice.Of(analysis, ConfidentFaces(analysis), DominanceRatio);
}
