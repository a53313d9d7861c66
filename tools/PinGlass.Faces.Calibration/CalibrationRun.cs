using System.Diagnostics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using PinGlass.Photos;
using PinGlass.Photos.Faces;
using PinGlass.Photos.Identity;
using PinGlass.Photos.Selection;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace PinGlass.Faces.Calibration;

/// <summary>What one model made of one photo: the face compared (the dominant one), or why there is none.</summary>
public sealed record PhotoResult(string Name, string Identity, float[]? Descriptor, string? Problem, int ExtraFaces, double Milliseconds);

/// <summary>One model's figures over the calibration set.</summary>
public sealed record ModelReport(
    string Model,
    IReadOnlyList<PhotoResult> Photos,
    IReadOnlyList<double> Genuine,
    IReadOnlyList<double> Impostor,
    double Threshold)
{
    /// <summary>
    /// As the screening compares: each fixture variant to the medoid of its identity's variants (genuine), every face of another
    /// identity to that medoid (impostor).
    /// </summary>
    public (List<double> Genuine, List<double> Impostor) Screening => ToReference(faces => faces[Descriptors.Medoid(faces)], leaveOneOut: false);

    /// <summary>
    /// As the gate compares: each fixture variant to the centroid of its identity's other variants (genuine), every face of another
    /// identity to the centroid of all of them (impostor).
    /// </summary>
    public (List<double> Genuine, List<double> Impostor) Gate => ToReference(Descriptors.Centroid, leaveOneOut: true);

    /// <summary>Distances a near-duplicate rule must tell apart: a re-encode (JPEG q95) and a mirror image, each to its original.</summary>
    public IEnumerable<(string Name, double Distance)> NearDuplicates =>
        from photo in Photos
        where photo.Descriptor is not null && (photo.Name.EndsWith("/jpeg q95", StringComparison.Ordinal) || photo.Name.EndsWith("/mirror", StringComparison.Ordinal))
        let original = Photos.First(p => p.Identity == photo.Identity)
        where original.Descriptor is not null && photo.Descriptor is not null
        select (photo.Name, Descriptors.Distance(photo.Descriptor, original.Descriptor));

    public DistanceSummary GenuineSummary => DistanceSummary.Of([.. Genuine]);

    public DistanceSummary ImpostorSummary => DistanceSummary.Of([.. Impostor]);

    public ThresholdRates EqualError => DistanceStatistics.EqualErrorRate([.. Genuine], [.. Impostor]);

    public ThresholdRates AtOnePercentFalseAccept => DistanceStatistics.AtFalseAcceptRate(0.01, [.. Genuine], [.. Impostor]);

    public ThresholdRates AtThreshold => DistanceStatistics.At(Threshold, [.. Genuine], [.. Impostor]);

    /// <summary>Photos where the model found no comparable face (each shows one).</summary>
    public IReadOnlyList<PhotoResult> Misses => [.. Photos.Where(p => p.Descriptor is null)];

    /// <summary>Faces found besides the one each photo shows.</summary>
    public int FalseDetections => Photos.Sum(p => p.ExtraFaces);

    public double MillisecondsPerPhoto => Photos.Average(p => p.Milliseconds);

    /// <summary>Genuine variants farther than the threshold from their identity's original: "another person" to the gate.</summary>
    public IEnumerable<(PhotoResult Photo, double Distance)> RejectedGenuine =>
        from photo in Photos
        where photo.Descriptor is not null && !photo.Identity.StartsWith("package:", StringComparison.Ordinal)
        let original = Photos.First(p => p.Identity == photo.Identity)
        where original.Descriptor is not null
        let distance = Descriptors.Distance(photo.Descriptor, original.Descriptor)
        where distance > Threshold
        select (photo, distance);

    /// <summary>Pairs of different people within the threshold: a stranger passed.</summary>
    public IEnumerable<(PhotoResult A, PhotoResult B, double Distance)> AcceptedImpostors =>
        from pair in ImpostorPairs(Photos)
        where pair.Distance <= Threshold
        select pair;

    private (List<double> Genuine, List<double> Impostor) ToReference(Func<IReadOnlyList<float[]>, float[]> reference, bool leaveOneOut)
    {
        var (genuine, impostor) = (new List<double>(), new List<double>());
        var described = Photos.Where(p => p.Descriptor is not null).ToList();
        foreach (var identity in described.Select(p => p.Identity).Where(i => !i.StartsWith("package:", StringComparison.Ordinal)).Distinct())
        {
            var own = described.Where(p => p.Identity == identity).ToList();
            var all = reference([.. own.Select(p => p.Descriptor!)]);
            foreach (var photo in own)
            {
                if (!leaveOneOut && photo.Descriptor == all)
                {
                    continue; // the medoid itself: its distance 0 says nothing
                }

                var target = leaveOneOut && own.Count > 1 ? reference([.. own.Where(p => p != photo).Select(p => p.Descriptor!)]) : all;
                genuine.Add(Descriptors.Distance(photo.Descriptor, target));
            }

            impostor.AddRange(described.Where(p => p.Identity != identity).Select(p => Descriptors.Distance(p.Descriptor, all)));
        }

        return (genuine, impostor);
    }

    internal static IEnumerable<(PhotoResult A, PhotoResult B, double Distance)> ImpostorPairs(IReadOnlyList<PhotoResult> photos) =>
        from i in Enumerable.Range(0, photos.Count)
        from j in Enumerable.Range(i + 1, photos.Count - i - 1)
        let a = photos[i]
        let b = photos[j]
        where a.Descriptor is not null && b.Descriptor is not null && a.Identity != b.Identity
        select (a, b, Descriptors.Distance(a.Descriptor, b.Descriptor));

    internal static IEnumerable<double> GenuinePairs(IReadOnlyList<PhotoResult> photos) =>
        from i in Enumerable.Range(0, photos.Count)
        from j in Enumerable.Range(i + 1, photos.Count - i - 1)
        let a = photos[i]
        let b = photos[j]
        where a.Descriptor is not null && b.Descriptor is not null && a.Identity == b.Identity
        select Descriptors.Distance(a.Descriptor, b.Descriptor);
}

/// <summary>
/// Runs one model of the faces service (<c>FACES_MODEL</c>) over the calibration set, through the same client and the same face
/// rules (<see cref="SelectionOptions.Choose"/>) as production.
/// </summary>
public sealed class CalibrationRun(string facesServiceDirectory)
{
    /// <summary>Impostor faces must be this confident and this large in their package photo to be cut out.</summary>
    private const double ImpostorMinScore = 0.8;
    private const double ImpostorMinSide = 48;

    /// <summary>
    /// Builds the calibration set with <paramref name="cropModel"/>'s detections (fixture faces for the partial crop, package faces
    /// for the impostors), so every model is measured on the same photos.
    /// </summary>
    public async Task<List<CalibrationPhoto>> BuildSetAsync(string cropModel, bool subset, CancellationToken cancellationToken)
    {
        // Group photos are analysed at the service's largest size, so that their smaller faces are found too.
        await using var service = await StartAsync(cropModel, cancellationToken, analysisMaxSide: 1024);
        var (faces, selection) = (service.Get<FacesClient>(), service.Get<IOptions<SelectionOptions>>().Value);
        var set = new List<CalibrationPhoto>();
        foreach (var (identity, load) in CalibrationSet.Fixtures)
        {
            using var original = load();
            var face = selection.Choose(await faces.AnalyseAsync(original, cancellationToken)).Face
                ?? throw new InvalidOperationException($"{cropModel} finds no face in the {identity} fixture.");
            set.AddRange(CalibrationSet.Genuine(identity, original, face.Box, subset));
        }

        var photos = CalibrationSet.PackagePhotos(facesServiceDirectory);
        foreach (var path in subset ? photos.Take(4) : photos)
        {
            using var photo = await Image.LoadAsync<Rgb24>(path, cancellationToken);
            var analysis = await faces.AnalyseAsync(photo, cancellationToken);
            var index = 0;
            foreach (var face in analysis.Faces.Where(f => f.Score >= ImpostorMinScore && Math.Sqrt(f.Box.Area) >= ImpostorMinSide).OrderBy(f => f.Box.X).ThenBy(f => f.Box.Y))
            {
                // Neighbours in a group photo are painted out; a crop in which the model still sees several faces is left out.
                var crop = CalibrationSet.CropAround(photo, face.Box, analysis.Faces.Where(f => f != face).Select(f => f.Box));
                if ((await faces.AnalyseAsync(crop, cancellationToken)).Faces.Count(f => f.Score >= ImpostorMinScore / 2) != 1)
                {
                    crop.Dispose();
                    continue;
                }

                set.Add(new CalibrationPhoto($"package:{Path.GetFileNameWithoutExtension(path)}#{++index}", "face", crop));
            }
        }

        return set;
    }

    public async Task<ModelReport> MeasureAsync(string model, IReadOnlyList<CalibrationPhoto> set, double? threshold, CancellationToken cancellationToken)
    {
        await using var service = await StartAsync(model, cancellationToken);
        var (faces, selection) = (service.Get<FacesClient>(), service.Get<IOptions<SelectionOptions>>().Value);
        using (var warm = set[0].Image.Clone())
        {
            await faces.AnalyseAsync(warm, cancellationToken);
        }

        var results = new List<PhotoResult>();
        foreach (var photo in set)
        {
            var started = Stopwatch.GetTimestamp();
            var analysis = await faces.AnalyseAsync(photo.Image, cancellationToken);
            var elapsed = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            var choice = selection.Choose(analysis);
            var problem = choice.Face is not null ? null
                : choice.NoFace && analysis.Faces.Count > 0 ? $"{choice.Explanation} (best detection {analysis.Faces.Max(f => f.Score):F2}, below {selection.MinDetectionScore:F2})"
                : choice.Explanation;
            results.Add(new PhotoResult(photo.Name, photo.Identity, choice.Face?.Descriptor, problem, Math.Max(0, choice.Confident.Count - 1), elapsed));
        }

        var genuine = ModelReport.GenuinePairs(results).ToList();
        var impostor = ModelReport.ImpostorPairs(results).Select(p => p.Distance).ToList();
        return new ModelReport(model, results, genuine, impostor, threshold ?? DistanceStatistics.SuggestedThreshold(genuine, impostor));
    }

    private async Task<ServiceUnderTest> StartAsync(string model, CancellationToken cancellationToken, int? analysisMaxSide = null)
    {
        // One worker (the photos go one at a time) and no answer cache (every analysis is timed).
        var faces = await LocalFacesService.StartAsync(facesServiceDirectory, TimeSpan.FromSeconds(120), cancellationToken,
            new Dictionary<string, string> { ["FACES_MODEL"] = model, ["FACES_WORKERS"] = "1", ["FACES_CACHE_ENTRIES"] = "0" });
        var builder = Host.CreateApplicationBuilder([]);
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Photos:Faces:BaseAddress"] = faces.BaseAddress.AbsoluteUri,
            ["Logging:LogLevel:Default"] = "Warning",
        });
        if (analysisMaxSide is { } side)
        {
            builder.Configuration["Photos:Faces:AnalysisMaxSide"] = side.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        builder.AddPhotos();
        var host = builder.Build();
        await host.StartAsync(cancellationToken);
        return new ServiceUnderTest(faces, host);
    }

    private sealed class ServiceUnderTest(LocalFacesService faces, IHost host) : IAsyncDisposable
    {
        public T Get<T>() where T : notnull => host.Services.GetRequiredService<T>();

        public async ValueTask DisposeAsync()
        {
            await host.StopAsync();
            host.Dispose();
            await faces.DisposeAsync();
        }
    }
}
