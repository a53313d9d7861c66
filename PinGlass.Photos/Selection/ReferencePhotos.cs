using System.Diagnostics;
using PinGlass.Photos.Faces;
using PinGlass.Photos.Intake;

namespace PinGlass.Photos.Selection;

/// <summary>Everything intake and selection decided about one upload, per file, and the chosen references.</summary>
public sealed record ReferenceReport(IntakeError? UploadError, IReadOnlyList<IntakeError> Refused, SelectionResult Selection) : IDisposable
{
    public void Dispose()
    {
        foreach (var reference in Selection.References.References.Select(r => r.Photo).Distinct())
        {
            reference.Dispose();
        }
    }
}

/// <summary>The reference-photo pipeline: intake, face analysis, scoring and selection.</summary>
public sealed class ReferencePhotos(PhotoIntake intake, FacesClient faces, ReferenceSelector selector, PhotoMetrics metrics)
{
    /// <summary>
    /// Files in flight: the faces service analyses one image at a time on its core, so while it works on one, this side
    /// decodes the next on the other.
    /// </summary>
    private const int Concurrency = 3;

    /// <summary>Runs the whole pipeline; the report owns the chosen photos (dispose it), the others are released here.</summary>
    public async Task<ReferenceReport> ProcessAsync(IReadOnlyList<UploadedPhoto> files, CancellationToken cancellationToken = default)
    {
        if (intake.CheckCount(files.Count) is { } uploadError)
        {
            return new ReferenceReport(uploadError, [], selector.Select([]));
        }

        var outcomes = new IntakeOutcome[files.Count];
        var analyses = new FaceAnalysis?[files.Count];
        try
        {
            await Parallel.ForAsync(0, files.Count, new ParallelOptions { MaxDegreeOfParallelism = Concurrency, CancellationToken = cancellationToken }, async (i, ct) =>
            {
                outcomes[i] = intake.Read(files[i]);
                if (outcomes[i].Photo is { } photo)
                {
                    analyses[i] = await AnalyseAsync(photo, ct);
                }
            });
        }
        catch
        {
            DisposeAll(outcomes.Select(o => o?.Photo));
            throw;
        }

        var analysed = outcomes.Zip(analyses).Where(p => p.First.Photo is not null).Select(p => new AnalysedPhoto(p.First.Photo!, p.Second!)).ToList();
        var selection = selector.Select(analysed);
        var chosen = selection.References.References.Select(r => r.Photo).ToHashSet();
        DisposeAll(analysed.Select(a => a.Photo).Where(p => !chosen.Contains(p)));
        return new ReferenceReport(null, [.. outcomes.Where(o => o.Error is not null).Select(o => o.Error!)], selection);
    }

    /// <summary>Analyses one accepted photo, in its working-copy coordinates.</summary>
    public async Task<FaceAnalysis> AnalyseAsync(IntakePhoto photo, CancellationToken cancellationToken = default)
    {
        var started = Stopwatch.GetTimestamp();
        var analysis = await faces.AnalyseAsync(photo.Working, cancellationToken);
        metrics.Analysed(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        return analysis;
    }

    private static void DisposeAll(IEnumerable<IntakePhoto?> photos)
    {
        foreach (var photo in photos)
        {
            photo?.Dispose();
        }
    }
}
