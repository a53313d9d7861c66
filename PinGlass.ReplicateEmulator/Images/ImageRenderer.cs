using System.Reflection;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.Formats.Webp;
using SixLabors.ImageSharp.Metadata.Profiles.Exif;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;

namespace PinGlass.ReplicateEmulator.Images;

/// <summary>Whose face an output shows: the input's, another person's, or none (the face faults).</summary>
public enum FaceSource
{
    Input,
    OtherPerson,
    None,
}

/// <param name="Index">The output's index: each output of a prediction is framed slightly differently.</param>
public sealed record RenderRequest(
    string PredictionId,
    int Index,
    Size Size,
    string Format,
    int Quality,
    string Prompt,
    long Seed,
    FaceSource Face);

/// <summary>
/// Makes an output image from the input face: crops and resizes it to the requested size, gives it the prompt's look,
/// encodes it in the requested format and writes the prediction id into its EXIF description.
/// </summary>
public sealed class ImageRenderer
{
    public const string MetadataPrefix = "replicate-emulator prediction ";

    /// <summary>
    /// Single-threaded image operations: predictions already render in parallel, and ImageSharp's own parallel loops
    /// inside thread-pool work starve the pool under load.
    /// </summary>
    public static readonly Configuration Sequential = CreateSequential();

    private readonly Image<Rgb24> otherPerson = LoadResource("camera.png");

    public static string ContentType(string format) => format switch
    {
        "jpg" or "jpeg" => "image/jpeg",
        "webp" => "image/webp",
        _ => "image/png",
    };

    public byte[] Render(Image<Rgb24> face, RenderRequest request)
    {
        using var image = request.Face switch
        {
            FaceSource.OtherPerson => otherPerson.Clone(),
            // A smooth colour field from the input: its palette, but nothing a face detector could find.
            FaceSource.None => face.Clone(x => x.Resize(4, 4).Resize(face.Width, face.Height, KnownResamplers.Triangle)),
            _ => face.Clone(),
        };

        // A slightly tighter frame per output index and seed, so the outputs of one prediction differ.
        var zoom = 1f - (request.Index * 0.04f) - (Math.Abs(request.Seed % 5) * 0.01f);
        var crop = Rectangle.Intersect(image.Bounds(), new Rectangle(
            (int)(image.Width * (1 - zoom) / 2), (int)(image.Height * (1 - zoom) / 2), (int)(image.Width * zoom), (int)(image.Height * zoom)));
        image.Mutate(x => x.Crop(crop).Resize(new ResizeOptions { Size = request.Size, Mode = ResizeMode.Crop, Position = AnchorPositionMode.Center }));
        Look.Apply(image, request.Prompt);

        image.Metadata.ExifProfile = new ExifProfile();
        image.Metadata.ExifProfile.SetValue(ExifTag.ImageDescription, MetadataPrefix + request.PredictionId);
        image.Metadata.ExifProfile.SetValue(ExifTag.Software, "PinGlass Replicate emulator");

        using var stream = new MemoryStream();
        image.Save(stream, Encoder(request.Format, request.Quality));
        return stream.ToArray();
    }

    private static IImageEncoder Encoder(string format, int quality) => format switch
    {
        "jpg" or "jpeg" => new JpegEncoder { Quality = quality },
        "webp" => new WebpEncoder { Quality = quality, Method = WebpEncodingMethod.Fastest },
        _ => new PngEncoder { CompressionLevel = PngCompressionLevel.BestSpeed },
    };

    private static Image<Rgb24> LoadResource(string name)
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream(name)
            ?? throw new InvalidOperationException($"Resource {name} is missing.");
        return Image.Load<Rgb24>(Sequential, stream);
    }

    /// <summary>A blank canvas for models run without an input image.</summary>
    public static Image<Rgb24> Blank() => new(Sequential, 512, 512, Color.SlateGray);

    private static Configuration CreateSequential()
    {
        var configuration = Configuration.Default.Clone();
        configuration.MaxDegreeOfParallelism = 1;
        return configuration;
    }
}
