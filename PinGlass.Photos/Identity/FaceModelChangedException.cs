namespace PinGlass.Photos.Identity;

/// <summary>
/// A portrait's descriptor and the references' centroid come from different face models (the faces service's model was changed
/// while a generation was running): they cannot be compared, and asking again will not change that.
/// </summary>
public sealed class FaceModelChangedException(int centroidLength, int descriptorLength)
    : InvalidOperationException($"The references were described by another face model ({centroidLength} numbers) than the portrait ({descriptorLength}); they cannot be compared.");
