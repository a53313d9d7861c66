using System.Text.Json;
using PinGlass.Generations.Persistence;
using PinGlass.Generations.Privacy;
using PinGlass.Generations.Progress;

namespace PinGlass.Api.Apis;

/// <summary>A generation as GET returns it.</summary>
/// <param name="Retention">Once it has ended: when its faces (reference photos, centroid, the photos' report) and its portraits are
/// deleted, and whether its faces already were.</param>
public sealed record GenerationView(
    Guid Id,
    string Status,
    GenerationProgress Progress,
    decimal Budget,
    decimal EstimatedCost,
    decimal CostSoFar,
    bool FallbackUsed,
    string? Error,
    DateTimeOffset CreatedAt,
    DateTimeOffset Deadline,
    DateTimeOffset? CompletedAt,
    IReadOnlyList<PortraitView> Portraits,
    JsonElement References,
    JsonElement Photos,
    RetentionView? Retention,
    string? CallbackUrl,
    ExperimentArmView? Experiment)
{
    public static GenerationView From(GenerationRow generation, IReadOnlyList<PortraitRow> portraits, IReadOnlyList<PredictionRow> predictions,
        GenerationProgress progress, RetentionOptions retention) => new(
        generation.Id, generation.Status.Name(), progress, generation.Budget, generation.EstimatedCost, decimal.Round(generation.Spent, 4),
        generation.FallbackUsed, generation.Error, generation.CreatedAt, generation.Deadline, generation.CompletedAt,
        [.. portraits.Select(p => PortraitView.From(p, [.. predictions.Where(a => a.PortraitIndex == p.Index)]))],
        JsonSerializer.Deserialize<JsonElement>(generation.ReferencesJson), JsonSerializer.Deserialize<JsonElement>(generation.PhotosJson),
        RetentionDates.For(generation.CompletedAt, retention) is { } dates
            ? new RetentionView(dates.FacesDeletedBy, dates.PortraitsDeletedBy, generation.FacesDeletedAt is not null)
            : null,
        generation.CallbackUrl,
        generation.ExperimentKey is { } key ? new ExperimentArmView(key, generation.Arm!) : null);
}

/// <summary>The experiment and arm a generation ran in.</summary>
public sealed record ExperimentArmView(string Key, string Arm);

public sealed record RetentionView(DateTimeOffset FacesDeletedBy, DateTimeOffset PortraitsDeletedBy, bool FacesDeleted);

/// <summary>One portrait: how it ended or stands, and every prediction made for it.</summary>
/// <param name="Retries">Attempts of its current provider chain before the one that delivered (or the last).</param>
/// <param name="ImageUrl">Where the stored image is served, once it succeeded (and while it is made again on request).</param>
/// <param name="Identity">The identity gate's verdict on the delivered portrait (or on the output it had made again); reason
/// <c>faces_unavailable</c>, <c>unreadable</c> or <c>face_model_changed</c> when it could not be checked; null when the generation has nothing to check against.</param>
public sealed record PortraitView(
    int Index,
    string Style,
    string Status,
    string? Model,
    string? Provider,
    decimal Cost,
    long? LatencyMs,
    int Retries,
    PortraitError? Error,
    string? ImageUrl,
    IdentityView? Identity,
    IReadOnlyList<AttemptView> Attempts)
{
    public static PortraitView From(PortraitRow portrait, IReadOnlyList<PredictionRow> attempts) => new(
        portrait.Index, portrait.StyleId, portrait.Status.Name(), portrait.Model ?? attempts.LastOrDefault()?.Model, portrait.Provider ?? attempts.LastOrDefault()?.Provider,
        decimal.Round(portrait.Cost, 6), portrait.LatencyMs, Math.Max(0, portrait.Attempt - portrait.ChainStart),
        portrait.ErrorCategory is { } category ? new PortraitError(category, portrait.Error ?? "") : null,
        portrait.ShowsImage ? $"/v1/generations/{portrait.GenerationId}/portraits/{portrait.Index}" : null,
        portrait.IdentityReason is { } reason
            ? new IdentityView(portrait.IdentityDistance is { } d ? Math.Round(Math.Clamp(1 - d, 0, 1), 3) : null,
                portrait.IdentityDistance is { } distance ? Math.Round(distance, 3) : null, reason, portrait.IdentityFlagged, portrait.Regenerations)
            : null,
        [.. attempts.Select(a => new AttemptView(a.Attempt, a.Provider, a.Model, a.PredictionId, a.Status.Name(), decimal.Round(a.Cost, 6), a.ReferenceIndex,
            a.ErrorCategory is { } c ? new PortraitError(c, a.Error ?? "") : null, a.Identity?.Decision,
            a.Identity?.Distance is { } ad ? Math.Round(ad, 3) : null))]);
}

/// <summary>
/// Whether the portrait shows the user: <c>score</c> is 1 − the descriptor distance to the user's reference centroid; <c>flagged</c>
/// when it was delivered although the gate refused it (after its regeneration, or without budget for one), or unchecked (reason
/// <c>faces_unavailable</c>: the faces service stayed down past the retries; <c>unreadable</c>: the image could not be analysed;
/// <c>face_model_changed</c>: the face model changed while the generation ran). Descriptors are of unit length, so the distance runs
/// 0–2: the same person scores above 1 − 0.80 = 0.20 (the threshold), strangers measured 1.0 and more score 0.
/// </summary>
public sealed record IdentityView(double? Score, double? Distance, string Reason, bool Flagged, int Regenerations);

public sealed record PortraitError(string Category, string Message);

public sealed record AttemptView(int Attempt, string Provider, string Model, string? PredictionId, string Status, decimal Cost, int Reference,
    PortraitError? Error, string? IdentityDecision, double? IdentityDistance);
