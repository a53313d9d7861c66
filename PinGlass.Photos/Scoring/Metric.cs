namespace PinGlass.Photos.Scoring;

/// <summary>One quality measure, 0 (useless) to 1 (ideal), with the numbers behind it in words.</summary>
public sealed record Metric(double Value, string Explanation)
{
    internal static double Clamp01(double value) => double.IsNaN(value) ? 0 : Math.Clamp(value, 0, 1);
}

/// <summary>The six measures of a reference photo; <see cref="Consistency"/> is known only once the whole set is analysed.</summary>
public sealed record PhotoScores(Metric Resolution, Metric FaceSize, Metric Lighting, Metric Sharpness, Metric Frontal, Metric? Consistency)
{
    // Sharpness, light and pose decide whether the provider sees the face; size and resolution are mostly fixed by the crop.
    public const double ResolutionWeight = 0.10, FaceSizeWeight = 0.10, LightingWeight = 0.20, SharpnessWeight = 0.25, FrontalWeight = 0.20, ConsistencyWeight = 0.15;

    /// <summary>Weighted mean of the measures, 0–1.</summary>
    public double Total =>
        ResolutionWeight * Resolution.Value + FaceSizeWeight * FaceSize.Value + LightingWeight * Lighting.Value
        + SharpnessWeight * Sharpness.Value + FrontalWeight * Frontal.Value + ConsistencyWeight * (Consistency?.Value ?? 0);
}
