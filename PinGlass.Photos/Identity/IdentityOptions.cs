using System.ComponentModel.DataAnnotations;

namespace PinGlass.Photos.Identity;

/// <summary>The identity threshold and the gate's regeneration policy. Section <c>Photos:Identity</c>.</summary>
public sealed class IdentityOptions
{
    public const string Section = "Photos:Identity";

    /// <summary>
    /// Distance between unit-length face descriptors above which two faces are different people, for the screening (a photo to
    /// the upload's medoid) and the gate (a portrait to the references' centroid). From the calibration harness's distributions
    /// (tools/PinGlass.Faces.Calibration, PinGlass.Photos/README.md): the same person to the medoid at most 0.61 and to the centroid
    /// at most 0.57, another person from 1.02 and 1.00; 0.80 leaves at least 0.19 on each side, with no error on the set.
    /// </summary>
    [Range(0.1, 2.0)]
    public double Threshold { get; set; } = 0.80;

    /// <summary>Regenerations a failed portrait gets before it is delivered flagged.</summary>
    [Range(0, 3)]
    public int MaxRegenerations { get; set; } = 1;

    /// <summary>Added to the provider's id weight for a regeneration.</summary>
    [Range(0.0, 2.0)]
    public double IdWeightStep { get; set; } = 0.3;

    /// <summary>The id weight is never raised beyond this (flux-pulid accepts up to 3; high weights flatten the style).</summary>
    [Range(0.0, 3.0)]
    public double MaxIdWeight { get; set; } = 2;
}
