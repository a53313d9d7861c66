using System.ComponentModel.DataAnnotations;

namespace PinGlass.Photos.Intake;

/// <summary>Upload limits, checked before an image is decoded. Section <c>Photos:Intake</c>.</summary>
public sealed class IntakeOptions : IValidatableObject
{
    public const string Section = "Photos:Intake";

    /// <summary>Bytes per file; a 48 MP phone JPEG is about 15 MB.</summary>
    [Range(1024, 200_000_000)]
    public int MaxBytes { get; set; } = 30_000_000;

    /// <summary>Pixels per image, read from the header before decoding: stops decompression bombs.</summary>
    [Range(10_000, 200_000_000)]
    public long MaxPixels { get; set; } = 50_000_000;

    /// <summary>Files per upload at most; the product asks for 10–20. Files past it are not read.</summary>
    [Range(1, 100)]
    public int MaxFiles { get; set; } = 20;

    /// <summary>Files per upload at least: the design's 10.</summary>
    [Range(1, 100)]
    public int MinFiles { get; set; } = 10;

    /// <summary>Shortest side below which a photo is too small to be a useful reference.</summary>
    [Range(64, 4096)]
    public int MinSide { get; set; } = 256;

    /// <summary>
    /// Longest side of the working copy kept for analysis and scoring. The provider crop is cut from the original,
    /// so this only bounds memory: 20 working copies at 1536 px take about 140 MB.
    /// </summary>
    [Range(512, 4096)]
    public int WorkingMaxSide { get; set; } = 1536;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (MinFiles > MaxFiles)
        {
            yield return new ValidationResult($"{Section}:MinFiles cannot be above MaxFiles.", [nameof(MinFiles), nameof(MaxFiles)]);
        }
    }

    /// <summary>Why an upload of <paramref name="sent"/> files cannot be used as it is; null when its count is within the limits.</summary>
    public string? CountProblem(int sent) => sent < MinFiles || sent > MaxFiles
        ? $"Send {MinFiles}–{MaxFiles} photos of yourself as files; {sent} {(sent == 1 ? "was" : "were")} sent."
        : null;
}
