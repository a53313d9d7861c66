namespace PinGlass.Replicate.Providers;

public enum OutputFormat
{
    Png,
    Jpg,
    Webp,
}

/// <summary>PinGlass's own generation settings; each provider maps them onto its model's inputs and says what it had to adapt.</summary>
public sealed record PortraitOptions
{
    public const int MinSize = 256;
    public const int MaxSize = 1536;
    public const int MaxSteps = 20;
    public const double MaxIdWeight = 3;
    public const double MinGuidance = 1;
    public const double MaxGuidance = 10;

    public int Width { get; init; } = 896;

    public int Height { get; init; } = 1152;

    public int Steps { get; init; } = 20;

    /// <summary>How strongly the face identity is imposed.</summary>
    public double IdWeight { get; init; } = 1.0;

    public double GuidanceScale { get; init; } = 4;

    /// <summary>Fixes the result; null for a random one.</summary>
    public long? Seed { get; init; }

    /// <summary>
    /// JPEG by default: people download and share portraits from phones, and a portrait as JPEG is a fifth of its PNG's bytes with no
    /// difference a person sees (flux-pulid is asked for quality 95).
    /// </summary>
    public OutputFormat OutputFormat { get; init; } = OutputFormat.Jpg;

    /// <summary>Every range violation, worded for the user; empty when the options are valid.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (Width is < MinSize or > MaxSize)
        {
            errors.Add($"width must be between {MinSize} and {MaxSize}, not {Width}.");
        }

        if (Height is < MinSize or > MaxSize)
        {
            errors.Add($"height must be between {MinSize} and {MaxSize}, not {Height}.");
        }

        if (Steps is < 1 or > MaxSteps)
        {
            errors.Add($"steps must be between 1 and {MaxSteps}, not {Steps}.");
        }

        if (!(IdWeight is >= 0 and <= MaxIdWeight))
        {
            errors.Add($"idWeight must be between 0 and {MaxIdWeight}, not {IdWeight}.");
        }

        if (!(GuidanceScale is >= MinGuidance and <= MaxGuidance))
        {
            errors.Add($"guidanceScale must be between {MinGuidance} and {MaxGuidance}, not {GuidanceScale}.");
        }

        if (Seed < 0)
        {
            errors.Add($"seed must not be negative, not {Seed}.");
        }

        if (!Enum.IsDefined(OutputFormat))
        {
            errors.Add($"outputFormat must be png, jpg or webp, not {OutputFormat}.");
        }

        return errors;
    }
}

/// <summary>One portrait to make.</summary>
/// <param name="FaceImages">The user's reference faces as HTTPS or data URLs; providers that take one use the first.</param>
/// <param name="PromptIndex">Which of the job's prompts this is; echoed in the result.</param>
public sealed record PortraitRequest(string Prompt, IReadOnlyList<string> FaceImages, PortraitOptions Options, int PromptIndex = 0,
    string? NegativePrompt = null)
{
    public const int MaxFaces = 4;

    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>(Options.Validate());
        if (string.IsNullOrWhiteSpace(Prompt))
        {
            errors.Add("prompt is required.");
        }

        if (FaceImages.Count is < 1 or > MaxFaces)
        {
            errors.Add($"between 1 and {MaxFaces} face images are needed, not {FaceImages.Count}.");
        }

        if (FaceImages.Any(f => !(f.StartsWith("https://", StringComparison.OrdinalIgnoreCase) || f.StartsWith("http://", StringComparison.OrdinalIgnoreCase)
                                  || f.StartsWith("data:image/", StringComparison.OrdinalIgnoreCase))))
        {
            errors.Add("face images must be HTTP(S) or data:image URLs.");
        }

        return errors;
    }
}
