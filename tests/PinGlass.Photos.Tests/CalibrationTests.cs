using PinGlass.Fixtures;
using System.Globalization;
using Microsoft.Extensions.Options;
using PinGlass.Photos.Faces;
using PinGlass.Photos.Identity;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;

namespace PinGlass.Photos.Tests;

/// <summary>
/// The identity threshold's calibration: descriptor distances between transforms of one photograph (same person) and between
/// transforms of the two photographs (different people). Writes the figures to calibration.txt beside the test assembly.
/// </summary>
public sealed class CalibrationTests(FacesFixture fixture)
{
    [Fact]
    public async Task The_threshold_separates_same_person_from_different_person_distances()
    {
        var astronaut = await DescriptorsOf(Samples.Astronaut);
        var camera = await DescriptorsOf(Samples.Camera);
        var same = Pairs(astronaut).Concat(Pairs(camera)).ToList();
        var different = astronaut.SelectMany(a => camera.Select(c => Descriptors.Distance(a, c))).ToList();
        var centroid = Descriptors.Centroid(astronaut);
        var toCentroidSame = astronaut.Select(a => Descriptors.Distance(a, centroid)).ToList();
        var toCentroidOther = camera.Select(c => Descriptors.Distance(c, centroid)).ToList();
        var threshold = fixture.Get<IOptions<IdentityOptions>>().Value.Threshold;

        var report = string.Join('\n',
            $"faces: astronaut {astronaut.Count} transforms, camera {camera.Count} transforms",
            Line("same person, pairwise", same),
            Line("different people, pairwise", different),
            Line("astronaut transforms to astronaut centroid", toCentroidSame),
            Line("camera transforms to astronaut centroid", toCentroidOther),
            $"threshold {threshold.ToString("F2", CultureInfo.InvariantCulture)}");
        await File.WriteAllTextAsync(Path.Combine(AppContext.BaseDirectory, "calibration.txt"), report + "\n", TestContext.Current.CancellationToken);

        Assert.True(same.Max() < threshold && threshold < different.Min(), report);
        // A margin each side, so a re-run on another CPU's wasm arithmetic does not flip a pair.
        Assert.True(threshold - same.Max() > 0.1 && different.Min() - threshold > 0.1, report);
    }

    /// <summary>The transforms a phone upload sees: crops, mirror, exposure, blur, tilt, scale, recompression.</summary>
    internal static IEnumerable<(string Name, Func<Image<Rgb24>, Image<Rgb24>> Make)> Transforms()
    {
        yield return ("original", i => i.Clone());
        yield return ("mirror", i => i.Clone(x => x.Flip(FlipMode.Horizontal)));
        yield return ("crop", i => i.Clone(x => x.Crop(new Rectangle(i.Width / 8, 0, i.Width * 3 / 4, i.Height * 3 / 4)).Resize(600, 600)));
        yield return ("darker 45 %", i => i.Clone(x => x.Brightness(0.55f)));
        yield return ("brighter 20 %", i => i.Clone(x => x.Brightness(1.2f)));
        yield return ("contrast", i => i.Clone(x => x.Contrast(1.3f)));
        yield return ("blur 1.2", i => i.Clone(x => x.GaussianBlur(1.2f)));
        yield return ("tilt -8°", i => i.Clone(x => x.Rotate(-8)));
        yield return ("tilt +8°", i => i.Clone(x => x.Rotate(8)));
        yield return ("upscaled 2×", i => i.Clone(x => x.Resize(i.Width * 2, i.Height * 2)));
    }

    private async Task<List<float[]>> DescriptorsOf(Func<Image<Rgb24>> load)
    {
        using var source = load();
        var client = fixture.Get<FacesClient>();
        var descriptors = new List<float[]>();
        foreach (var (_, make) in Transforms())
        {
            using var image = make(source);
            using var recompressed = Image.Load<Rgb24>(Samples.Encode(image, "jpeg"));
            var faces = (await client.AnalyseAsync(recompressed, TestContext.Current.CancellationToken)).Faces;
            descriptors.Add(Assert.Single(faces).Descriptor);
        }

        return descriptors;
    }

    private static IEnumerable<double> Pairs(List<float[]> descriptors) =>
        from i in Enumerable.Range(0, descriptors.Count)
        from j in Enumerable.Range(i + 1, descriptors.Count - i - 1)
        select Descriptors.Distance(descriptors[i], descriptors[j]);

    private static string Line(string what, IReadOnlyCollection<double> distances) =>
        string.Create(CultureInfo.InvariantCulture,
            $"{what}: n={distances.Count} min {distances.Min():F3} median {distances.Order().ElementAt(distances.Count / 2):F3} max {distances.Max():F3}");
}
