using PinGlass.Fixtures;
using PinGlass.Photos.Faces;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;

namespace PinGlass.Faces.Calibration;

/// <summary>One photo of the calibration set: whose face it shows (one face each) and how it was made.</summary>
public sealed record CalibrationPhoto(string Identity, string Variant, Image<Rgb24> Image) : IDisposable
{
    public string Name => $"{Identity}/{Variant}";

    public void Dispose() => Image.Dispose();
}

/// <summary>
/// The photos the harness measures: the two fixture faces under the transforms real uploads have (genuine pairs), and every
/// distinct face found in photos that registry packages ship (impostors), read from the installed packages at run time.
/// </summary>
public static class CalibrationSet
{
    /// <summary>The fixture identities: copyright-free photos of two people (tests/PinGlass.Fixtures/Faces).</summary>
    public static IReadOnlyList<(string Identity, Func<Image<Rgb24>> Load)> Fixtures { get; } =
        [("astronaut", Samples.Astronaut), ("camera", Samples.Camera)];

    /// <summary>
    /// Photos with faces that ship inside the faces service's npm packages (MIT): face-api's six demo photos. Each confident face in
    /// them is one impostor. Human's assets/samples.jpg is left out: its faces have the face mesh drawn over them.
    /// </summary>
    public static IReadOnlyList<string> PackagePhotos(string facesServiceDirectory)
    {
        var modules = Path.Combine(facesServiceDirectory, "node_modules", "@vladmandic");
        string[] photos =
        [
            .. Enumerable.Range(1, 6).Select(i => Path.Combine(modules, "face-api", "demo", $"sample{i}.jpg")),
        ];
        return [.. photos.Where(File.Exists)];
    }

    /// <summary>
    /// The transforms a phone upload sees. <paramref name="face"/> is the face in the original (for the partial crop). Every variant
    /// is saved as a JPEG (quality 92 unless the variant is about quality), as an upload would be.
    /// </summary>
    public static IEnumerable<(string Name, Func<Image<Rgb24>, Image<Rgb24>> Make)> Variants(FaceBox face)
    {
        yield return ("original", i => i.Clone());
        yield return ("mirror", i => i.Clone(x => x.Flip(FlipMode.Horizontal)));
        // A front camera's mirrored selfie sent small: the case that was once called "another person".
        yield return ("mirror 420 px", i => i.Clone(x => x.Flip(FlipMode.Horizontal).Resize(Scaled(i, 420))));
        yield return ("300 px", i => i.Clone(x => x.Resize(Scaled(i, 300))));
        yield return ("420 px", i => i.Clone(x => x.Resize(Scaled(i, 420))));
        yield return ("600 px", i => i.Clone(x => x.Resize(Scaled(i, 600))));
        yield return ("upscaled 2x", i => i.Clone(x => x.Resize(i.Width * 2, i.Height * 2)));
        yield return ("low light", i => i.Clone(x => x.Brightness(0.35f)));
        yield return ("over-exposed", i => i.Clone(x => x.Brightness(1.6f)));
        yield return ("grayscale", i => i.Clone(x => x.Grayscale()));
        yield return ("jpeg q20", i => Recompressed(i, 20));
        yield return ("jpeg q50", i => Recompressed(i, 50));
        yield return ("jpeg q95", i => Recompressed(i, 95));
        yield return ("tilt -20", i => i.Clone(x => x.Rotate(-20)));
        yield return ("tilt -10", i => i.Clone(x => x.Rotate(-10)));
        yield return ("tilt +10", i => i.Clone(x => x.Rotate(10)));
        yield return ("tilt +20", i => i.Clone(x => x.Rotate(20)));
        yield return ("partial crop", i => i.Clone(x => x.Crop(PartialCrop(i, face))));
        yield return ("noise", i => Noisy(i));
        yield return ("warm cast", i => i.Clone(x => x.Filter(ColorCast(1.15f, 1f, 0.8f))));
        yield return ("cool cast", i => i.Clone(x => x.Filter(ColorCast(0.8f, 1f, 1.15f))));
        yield return ("green cast", i => i.Clone(x => x.Filter(ColorCast(0.9f, 1.12f, 0.9f))));
        yield return ("blur 1.2", i => i.Clone(x => x.GaussianBlur(1.2f)));
    }

    /// <summary>The variants the CI subset measures: the ones most likely to fail, and the selfie case.</summary>
    public static IReadOnlySet<string> SubsetVariants { get; } =
        new HashSet<string> { "original", "mirror 420 px", "300 px", "low light", "grayscale", "jpeg q20", "tilt -20", "partial crop", "noise", "warm cast" };

    /// <summary>
    /// Variants the default model (human) does not find a confident face in, stated in PinGlass.Photos/README.md: camera.png is a
    /// three-quarter profile half hidden by a camera, and with a fifth of its face cut off (best detection 0.47) or sensor noise
    /// (none) BlazeFace does not find it. Such a photo is refused as having no face, never taken for another person.
    /// </summary>
    public static IReadOnlySet<string> ResidualMisses { get; } = new HashSet<string> { "camera/partial crop", "camera/noise" };

    /// <summary>Every variant of one fixture identity.</summary>
    public static IEnumerable<CalibrationPhoto> Genuine(string identity, Image<Rgb24> original, FaceBox face, bool subset)
    {
        foreach (var (name, make) in Variants(face))
        {
            if (subset && !SubsetVariants.Contains(name))
            {
                continue;
            }

            using var made = make(original);
            yield return new CalibrationPhoto(identity, name, name.StartsWith("jpeg", StringComparison.Ordinal) ? made.Clone() : Recompressed(made, 92));
        }
    }

    /// <summary>
    /// A face cut from a package photo: a square of 2.5 × the face's side around it (kept inside the photo), at most 480 px, with
    /// the <paramref name="others"/> faces of the photo painted grey, so that the crop shows one person.
    /// </summary>
    public static Image<Rgb24> CropAround(Image<Rgb24> photo, FaceBox face, IEnumerable<FaceBox> others)
    {
        var side = (int)Math.Min(Math.Min(photo.Width, photo.Height), Math.Sqrt(face.Area) * 2.5);
        var centreX = face.X + face.Width / 2;
        var centreY = face.Y + face.Height / 2;
        var left = (int)Math.Clamp(centreX - side / 2.0, 0, photo.Width - side);
        var top = (int)Math.Clamp(centreY - side / 2.0, 0, photo.Height - side);
        var target = Math.Min(480, side);
        using var masked = photo.Clone();
        foreach (var other in others)
        {
            // A margin of half the face on each side: the box holds brows to chin, not the head.
            var margin = Math.Sqrt(other.Area) / 2;
            PaintGrey(masked, Rectangle.FromLTRB((int)(other.X - margin), (int)(other.Y - margin), (int)(other.X + other.Width + margin), (int)(other.Y + other.Height + margin)));
        }

        return masked.Clone(x => x.Crop(new Rectangle(left, top, side, side)).Resize(target, target));
    }

    private static void PaintGrey(Image<Rgb24> image, Rectangle area)
    {
        area.Intersect(new Rectangle(0, 0, image.Width, image.Height));
        image.ProcessPixelRows(rows =>
        {
            for (var y = area.Top; y < area.Bottom; y++)
            {
                rows.GetRowSpan(y)[area.Left..area.Right].Fill(new Rgb24(128, 128, 128));
            }
        });
    }

    /// <summary>Every photo of the set at 128 px in rows of 12, for a person to check that the impostors are distinct people.</summary>
    public static Image<Rgb24> ContactSheet(IReadOnlyList<CalibrationPhoto> set)
    {
        const int cell = 128, columns = 12;
        var sheet = new Image<Rgb24>(cell * columns, cell * ((set.Count + columns - 1) / columns));
        for (var i = 0; i < set.Count; i++)
        {
            using var thumb = set[i].Image.Clone(x => x.Resize(new ResizeOptions { Size = new Size(cell, cell), Mode = ResizeMode.Pad, PadColor = Color.Black }));
            sheet.Mutate(x => x.DrawImage(thumb, new Point(i % columns * cell, i / columns * cell), 1f));
        }

        return sheet;
    }

    private static Size Scaled(Image image, int longSide)
    {
        var scale = (double)longSide / Math.Max(image.Width, image.Height);
        return new Size((int)Math.Round(image.Width * scale), (int)Math.Round(image.Height * scale));
    }

    /// <summary>The photo from a fifth of the way into the face to its right edge: part of the face is out of the frame.</summary>
    private static Rectangle PartialCrop(Image image, FaceBox face)
    {
        var left = (int)Math.Clamp(face.X + face.Width * 0.2, 0, image.Width - 64);
        return new Rectangle(left, 0, image.Width - left, image.Height);
    }

    private static Image<Rgb24> Recompressed(Image<Rgb24> image, int quality)
    {
        using var stream = new MemoryStream();
        image.SaveAsJpeg(stream, new JpegEncoder { Quality = quality });
        stream.Position = 0;
        return Image.Load<Rgb24>(stream);
    }

    private static Image<Rgb24> Noisy(Image<Rgb24> image)
    {
        var noisy = image.Clone();
        Samples.AddSensorNoise(noisy);
        return noisy;
    }

    private static ColorMatrix ColorCast(float red, float green, float blue) => new(red, 0, 0, 0, 0, green, 0, 0, 0, 0, blue, 0, 0, 0, 0, 1, 0, 0, 0, 0);
}
