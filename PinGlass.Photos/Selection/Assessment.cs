using System.Text.Json.Serialization;
using PinGlass.Photos.Faces;
using PinGlass.Photos.Identity;
using PinGlass.Photos.Intake;
using PinGlass.Photos.Scoring;

namespace PinGlass.Photos.Selection;

[JsonConverter(typeof(JsonStringEnumConverter<RejectionReason>))]
public enum RejectionReason
{
    NoFace,
    SeveralFaces,
    FaceTooSmall,
    TooBlurry,
    AnotherPerson,
    NearDuplicate,
}

public sealed record Rejection(RejectionReason Reason, string Message);

/// <summary>
/// What became of one reference photo: its measures and score, and either its rank among the accepted (the first
/// <see cref="SelectionOptions.Keep"/> are chosen) or why it was rejected.
/// This is the per-photo result the API returns and the generation keeps.
/// </summary>
public sealed record PhotoAssessment(
    string FileName,
    int FaceCount,
    double? DetectionScore,
    PhotoScores? Scores,
    double Score,
    double? DistanceToMedoid,
    Rejection? Rejection,
    int? Rank,
    bool Chosen);

/// <summary>A photo and its faces (in working-copy coordinates, largest first).</summary>
public sealed record AnalysedPhoto(IntakePhoto Photo, FaceAnalysis Analysis);

/// <summary>A chosen reference: its photo and the face to send.</summary>
public sealed record ChosenReference(IntakePhoto Photo, DetectedFace Face, double Score);

/// <summary>The chosen references, best first, and the centroid of their descriptors that portraits are checked against.</summary>
public sealed record ReferenceSet(IReadOnlyList<ChosenReference> References, float[] Centroid)
{
    /// <summary>
    /// The reference for a portrait: portraits walk through the references, and each batch starts one further on, so no
    /// reference is always first.
    /// </summary>
    public int IndexFor(int batch, int portrait)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(batch);
        ArgumentOutOfRangeException.ThrowIfNegative(portrait);
        if (References.Count == 0)
        {
            throw new InvalidOperationException("No reference photo was chosen.");
        }

        return (int)(((long)batch + portrait) % References.Count);
    }

    public ChosenReference For(int batch, int portrait) => References[IndexFor(batch, portrait)];

    /// <summary>What the identity gate checks portraits against.</summary>
    public IdentityTarget Identity => new(Centroid, References.Count);
}

public sealed record SelectionResult(IReadOnlyList<PhotoAssessment> Assessments, ReferenceSet References);
