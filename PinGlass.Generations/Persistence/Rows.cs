using PinGlass.Generations.Clients;
using PinGlass.Generations.Experiments;

namespace PinGlass.Generations.Persistence;

public sealed record GenerationRow(
    Guid Id,
    GenerationStatus Status,
    int Total,
    int Completed,
    int Successful,
    int Failed,
    decimal Budget,
    decimal EstimatedCost,
    decimal Spent,
    bool FallbackUsed,
    int BatchSize,
    int BatchDelayMs,
    int CurrentBatch,
    string OptionsJson,
    string PhotosJson,
    string ReferencesJson,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    DateTimeOffset Deadline,
    DateTimeOffset? CompletedAt,
    DateTimeOffset? CancelRequestedAt,
    long Version,
    string? Error,
    float[] Centroid,
    decimal Reserved,
    string? StopCategory = null,
    string? StopError = null,
    DateTimeOffset? FacesDeletedAt = null,
    DateTimeOffset? ErasedAt = null,
    Guid? ClientId = null,
    string? UserId = null,
    string? CallbackUrl = null,
    string? ExperimentKey = null,
    string? Arm = null,
    string? PrimaryModel = null,
    bool? MultiReference = null,
    int Runs = 1)
{
    public bool IsTerminal => Status.IsTerminal();

    /// <summary>Not ended, not asked to stop, not stopped by Replicate refusing the account: its portraits may take steps.</summary>
    public bool IsRunning => !IsTerminal && CancelRequestedAt is null && StopCategory is null;

    public int Batches => (Total + BatchSize - 1) / BatchSize;
}

public sealed record PortraitRow(
    Guid GenerationId,
    int Index,
    string StyleId,
    int Batch,
    PortraitStatus Status,
    int Attempt,
    int ChainStart,
    string? Provider,
    string? Model,
    decimal Cost,
    long? LatencyMs,
    int Retries,
    string? ErrorCategory,
    string? Error,
    string? BlobName,
    string? ContentType,
    DateTimeOffset? StartedAt,
    DateTimeOffset? CompletedAt,
    int Regenerations,
    int? ReferenceIndex,
    double? IdWeight,
    double? IdentityDistance,
    string? IdentityReason,
    bool IdentityFlagged,
    bool Replacing = false)
{
    public bool IsTerminal => Status.IsTerminal();

    /// <summary>
    /// An image kept to be delivered if the portrait's current chain delivers nothing: the output the identity gate refused (delivered
    /// flagged), or the portrait delivered before it was made again on request (<see cref="Replacing"/>: delivered as it was).
    /// </summary>
    public bool HasKeptOutput => BlobName is not null && (Regenerations > 0 || Replacing);

    /// <summary>Its image is served: it succeeded, or it did and is being made again on request.</summary>
    public bool ShowsImage => BlobName is not null && (Status == PortraitStatus.Succeeded || Replacing);
}

public sealed record PredictionRow(
    Guid GenerationId,
    int PortraitIndex,
    int Attempt,
    string Marker,
    string Provider,
    string Model,
    int ReferenceIndex,
    string? PredictionId,
    PredictionState Status,
    decimal Cost,
    string? ErrorCategory,
    string? Error,
    DateTimeOffset CreatedAt,
    DateTimeOffset? SubmittedAt,
    DateTimeOffset? LastCheckedAt,
    string? BlobName,
    string? ContentType,
    IdentityCheck? Identity,
    decimal Reserved,
    DateTimeOffset? CompletedAt = null,
    int TakeInTries = 0,
    DateTimeOffset? StartedAt = null,
    DateTimeOffset? OverranAt = null,
    DateTimeOffset? TakeInUntil = null,
    string? InputFingerprint = null)
{
    public bool IsOpen => Status.IsOpen();

    /// <summary>Replicate said it ended, and its end is being taken in (or was put off for passing trouble): it computes no more.</summary>
    public bool IsTakingIn => TakeInUntil is not null || TakeInTries > 0;
}

/// <summary>A generation to store: its settings, what intake decided about the photos, and one portrait per style.</summary>
public sealed record NewGeneration(
    Guid Id,
    IReadOnlyList<string> Styles,
    decimal Budget,
    decimal EstimatedCost,
    int BatchSize,
    int BatchDelayMs,
    string OptionsJson,
    string PhotosJson,
    string ReferencesJson,
    float[] Centroid,
    DateTimeOffset Deadline,
    Owner? Owner = null,
    string? CallbackUrl = null,
    ArmAssignment? Arm = null);

/// <summary>
/// What the identity gate said of one delivered output (snake_case decision and reason, as stored), and for a regeneration the
/// reference and id weight it chose.
/// </summary>
public sealed record IdentityCheck(string Decision, string Reason, double? Distance, int? NextReferenceIndex = null, double? NextIdWeight = null)
{
    public const string Pass = "pass";
    public const string Regenerate = "regenerate";
    public const string DeliverFlagged = "deliver_flagged";
    public const string UncheckedDecision = "unchecked";

    /// <summary>
    /// Reasons of an unchecked delivery: the faces service stayed unreachable, the image could not be read, or the face model was
    /// changed while the generation ran (its references' centroid cannot be compared with the new model's descriptors).
    /// </summary>
    public const string FacesUnavailable = "faces_unavailable";
    public const string Unreadable = "unreadable";
    public const string FaceModelChanged = "face_model_changed";

    /// <summary>Delivered without a verdict: marked (flagged) so nobody takes it for a checked portrait.</summary>
    public static IdentityCheck Unchecked(string reason) => new(UncheckedDecision, reason, null);

    public bool Flagged => Decision != Pass;
}

/// <summary>Where a prediction's output was copied in blob storage.</summary>
public sealed record StoredOutput(string BlobName, string ContentType);
