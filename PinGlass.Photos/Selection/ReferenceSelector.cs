using Microsoft.Extensions.Options;
using PinGlass.Photos.Faces;
using PinGlass.Photos.Identity;
using PinGlass.Photos.Scoring;

namespace PinGlass.Photos.Selection;

/// <summary>Rejects unusable photos with a reason, scores the rest and keeps the best few as references.</summary>
public sealed class ReferenceSelector(IOptions<SelectionOptions> selectionOptions, IOptions<IdentityOptions> identityOptions, PhotoMetrics metrics)
{
    public SelectionResult Select(IReadOnlyList<AnalysedPhoto> photos)
    {
        var options = selectionOptions.Value;
        var threshold = identityOptions.Value.Threshold;
        var assessments = new PhotoAssessment[photos.Count];
        var candidates = new List<(int Index, DetectedFace Face, PhotoScores Scores)>();

        for (var i = 0; i < photos.Count; i++)
        {
            var (photo, analysis) = photos[i];
            var choice = options.Choose(analysis);
            var assessment = new PhotoAssessment(photo.FileName, choice.Confident.Count, choice.Confident.FirstOrDefault()?.Score, null, 0, null, null, null, false);
            if (choice.NoFace)
            {
                assessments[i] = assessment with { Rejection = new(RejectionReason.NoFace, "No face was found.") };
                continue;
            }

            if (choice.Face is not { } face)
            {
                assessments[i] = assessment with
                {
                    Rejection = new(RejectionReason.SeveralFaces, $"{choice.Explanation}: the provider would not know whose face to use."),
                };
                continue;
            }

            var scores = PhotoScorer.Score(photo.Working, photo.UprightSize, face);
            assessment = assessment with { Scores = scores };
            // The longer side of the box: a face turned to the side is narrower, not smaller.
            var faceSide = Math.Max(face.Box.Width, face.Box.Height) / photo.WorkingScale;
            if (faceSide < options.MinFaceSide)
            {
                assessments[i] = assessment with { Rejection = new(RejectionReason.FaceTooSmall, $"The face is {faceSide:F0} px across; at least {options.MinFaceSide} px are needed.") };
                continue;
            }

            if (scores.Sharpness.Value < options.MinSharpness)
            {
                assessments[i] = assessment with { Rejection = new(RejectionReason.TooBlurry, $"Too blurry: {scores.Sharpness.Explanation}.") };
                continue;
            }

            assessments[i] = assessment;
            candidates.Add((i, face, scores));
        }

        // Consistency against the medoid: the one face most like all the others is the set's owner.
        var chosen = new List<ChosenReference>();
        if (candidates.Count > 0)
        {
            var medoid = candidates[Descriptors.Medoid([.. candidates.Select(c => c.Face.Descriptor)])].Face.Descriptor;
            var ranked = new List<(int Index, DetectedFace Face, double Score)>();
            foreach (var (index, face, scores) in candidates)
            {
                var distance = Descriptors.Distance(face.Descriptor, medoid);
                var scored = scores with { Consistency = PhotoScorer.Consistency(distance, threshold) };
                assessments[index] = assessments[index] with { Scores = scored, Score = scored.Total, DistanceToMedoid = distance };
                if (distance > threshold)
                {
                    assessments[index] = assessments[index] with
                    {
                        Rejection = new(RejectionReason.AnotherPerson, $"This looks like another person: descriptor distance {distance:F2} to the set's most typical face is above {threshold:F2}."),
                    };
                    continue;
                }

                ranked.Add((index, face, scored.Total));
            }

            // Best first; a second upload of the same shot adds nothing and would be sent twice.
            var kept = new List<(int Index, DetectedFace Face, double Score)>();
            var thumbnails = new Dictionary<int, Thumbnail>();
            Thumbnail ThumbnailOf(int index) => thumbnails.TryGetValue(index, out var t) ? t : thumbnails[index] = Thumbnail.Of(photos[index].Photo.Working);
            foreach (var candidate in ranked.OrderByDescending(c => c.Score))
            {
                var twin = kept.FirstOrDefault(k =>
                    Descriptors.Distance(k.Face.Descriptor, candidate.Face.Descriptor) < options.NearDuplicateDistance
                    && ThumbnailOf(k.Index).DifferenceTo(ThumbnailOf(candidate.Index)) < options.NearDuplicateGreyLevels);
                if (twin.Face is not null)
                {
                    assessments[candidate.Index] = assessments[candidate.Index] with
                    {
                        Rejection = new(RejectionReason.NearDuplicate, $"A near-duplicate of {photos[twin.Index].Photo.FileName}, which scored higher."),
                    };
                    continue;
                }

                kept.Add(candidate);
            }

            for (var rank = 0; rank < kept.Count; rank++)
            {
                var (index, face, score) = kept[rank];
                assessments[index] = assessments[index] with { Rank = rank + 1, Chosen = rank < options.Keep };
                if (rank < options.Keep)
                {
                    chosen.Add(new ChosenReference(photos[index].Photo, face, score));
                }
            }
        }

        foreach (var assessment in assessments)
        {
            if (assessment.Rejection is { } rejection)
            {
                metrics.Rejected(rejection.Reason);
            }
        }

        var centroid = chosen.Count > 0 ? Descriptors.Centroid([.. chosen.Select(c => c.Face.Descriptor)]) : [];
        return new SelectionResult(assessments, new ReferenceSet(chosen, centroid));
    }
}
