namespace PinGlass.Photos.Identity;

/// <summary>
/// What a portrait is checked against: the centroid of the chosen references' descriptors, and how many references there are to
/// rotate through for a regeneration. Kept with a generation, so the check can run long after the photos were analysed.
/// </summary>
public sealed record IdentityTarget(float[] Centroid, int ReferenceCount)
{
    /// <summary>The reference after <paramref name="index"/>, for a regeneration.</summary>
    public int NextIndex(int index) => ReferenceCount == 0 ? 0 : (index + 1) % ReferenceCount;
}
