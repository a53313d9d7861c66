using System.ComponentModel.DataAnnotations;

namespace PinGlass.Photos.Identity;

/// <summary>The identity threshold and the gate's regeneration policy. Section <c>Photos:Identity</c>.</summary>
public sealed class IdentityOptions
{
    public const string Section = "Photos:Identity";

    /// <summary>
    /// Descriptor distance above which two faces are different people. Calibrated on the fixtures (PinGlass.Photos/README.md):
    /// same person up to 0.37, different people from 0.78; 0.55 sits between with a margin each side.
    /// </summary>
    [Range(0.1, 1.5)]
    public double Threshold { get; set; } = 0.55;

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
