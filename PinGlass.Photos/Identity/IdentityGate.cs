using System.Text.Json.Serialization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PinGlass.Photos.Faces;
using PinGlass.Photos.Intake;
using PinGlass.Photos.Selection;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace PinGlass.Photos.Identity;

[JsonConverter(typeof(JsonStringEnumConverter<IdentityDecision>))]
public enum IdentityDecision
{
    /// <summary>The portrait shows the user: deliver it.</summary>
    Pass,

    /// <summary>Generate it again with <see cref="IdentityVerdict.NextReferenceIndex"/> and <see cref="IdentityVerdict.NextIdWeight"/>.</summary>
    Regenerate,

    /// <summary>Out of regenerations or budget: deliver it, marked as possibly not the user.</summary>
    DeliverFlagged,
}

[JsonConverter(typeof(JsonStringEnumConverter<IdentityReason>))]
public enum IdentityReason
{
    SamePerson,
    NoFace,
    SeveralFaces,
    DifferentPerson,
}

/// <summary>
/// How a portrait was made: which reference, which id weight, and how many regenerations so far. Whether the budget allows a
/// regeneration is the caller's to decide (the pipeline does, when it acts on a <see cref="IdentityDecision.Regenerate"/>).
/// </summary>
public sealed record PortraitAttempt(int ReferenceIndex, double IdWeight, int Regenerations = 0);

/// <summary>
/// The gate's decision about one portrait. <see cref="Distance"/> is the descriptor distance to the reference centroid;
/// <see cref="IdentityScore"/> is 1 − distance (1 identical, below 1 − threshold another person).
/// </summary>
public sealed record IdentityVerdict(
    IdentityDecision Decision,
    IdentityReason Reason,
    double? Distance,
    double? IdentityScore,
    double Threshold,
    int? NextReferenceIndex,
    double? NextIdWeight,
    string Explanation)
{
    public bool Flagged => Decision == IdentityDecision.DeliverFlagged;
}

/// <summary>Checks that a generated portrait shows the person of the references, and says what to do when it does not.</summary>
public sealed partial class IdentityGate(
    FacesClient faces,
    IOptions<IdentityOptions> identityOptions,
    IOptions<SelectionOptions> selectionOptions,
    PhotoMetrics metrics,
    ILogger<IdentityGate> logger)
{
    /// <summary>Decodes a portrait as the provider returned it (JPEG, PNG or WebP) and checks it.</summary>
    public async Task<IdentityVerdict> CheckAsync(ReadOnlyMemory<byte> portrait, IdentityTarget target, PortraitAttempt attempt, CancellationToken cancellationToken = default)
    {
        using var image = PhotoIntake.DecodeUpright(portrait, out _);
        return await CheckAsync(image, target, attempt, cancellationToken);
    }

    public async Task<IdentityVerdict> CheckAsync(Image<Rgb24> portrait, IdentityTarget target, PortraitAttempt attempt, CancellationToken cancellationToken = default)
    {
        var analysis = await faces.AnalyseAsync(portrait, cancellationToken);
        var verdict = Decide(analysis, target, attempt);
        metrics.IdentityChecked(verdict);
        LogVerdict(logger, verdict.Decision, verdict.Reason, verdict.Distance, attempt.ReferenceIndex, attempt.Regenerations);
        return verdict;
    }

    /// <summary>The decision alone, from an analysis already made.</summary>
    public IdentityVerdict Decide(FaceAnalysis analysis, IdentityTarget target, PortraitAttempt attempt)
    {
        if (target.Centroid.Length == 0)
        {
            throw new ArgumentException("The reference set has no centroid: no reference was chosen.", nameof(target));
        }

        var options = identityOptions.Value;
        var selection = selectionOptions.Value;
        var threshold = options.Threshold;
        var choice = selection.Choose(analysis);

        IdentityVerdict Failed(IdentityReason reason, double? distance, string explanation)
        {
            var score = distance is { } d ? Math.Clamp(1 - d, 0, 1) : (double?)null;
            if (attempt.Regenerations >= options.MaxRegenerations)
            {
                return new(IdentityDecision.DeliverFlagged, reason, distance, score, threshold, null, null,
                    $"{explanation}; {attempt.Regenerations} regeneration(s) already made, delivered flagged.");
            }

            var nextWeight = Math.Min(options.MaxIdWeight, attempt.IdWeight + options.IdWeightStep);
            var next = target.NextIndex(attempt.ReferenceIndex);
            return new(IdentityDecision.Regenerate, reason, distance, score, threshold, next, nextWeight,
                $"{explanation}; regenerate with reference {next} and id weight {nextWeight:F2}.");
        }

        if (choice.Face is not { } face)
        {
            return Failed(choice.NoFace ? IdentityReason.NoFace : IdentityReason.SeveralFaces, null, $"In the portrait: {choice.Explanation}");
        }

        if (face.Descriptor.Length != target.Centroid.Length)
        {
            throw new FaceModelChangedException(target.Centroid.Length, face.Descriptor.Length);
        }

        var distance = Descriptors.Distance(face.Descriptor, target.Centroid);
        if (distance > threshold)
        {
            return Failed(IdentityReason.DifferentPerson, distance, $"Descriptor distance {distance:F2} to the references is above {threshold:F2}: another person");
        }

        return new(IdentityDecision.Pass, IdentityReason.SamePerson, distance, Math.Clamp(1 - distance, 0, 1), threshold, null, null,
            $"Descriptor distance {distance:F2} to the references is within {threshold:F2}.");
    }

    [LoggerMessage(EventId = 7101, Level = LogLevel.Information, Message = "Identity gate: {Decision} ({Reason}), distance {Distance}, reference {ReferenceIndex}, after {Regenerations} regeneration(s)")]
    private static partial void LogVerdict(ILogger logger, IdentityDecision decision, IdentityReason reason, double? distance, int referenceIndex, int regenerations);
}
