using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.PixelFormats;

namespace PinGlass.Photos.Tests;

/// <summary>The fixture photographs (provenance in Fixtures/README.md).</summary>
internal static class Samples
{
    public static string Path(string name) => System.IO.Path.Combine(AppContext.BaseDirectory, "Fixtures", name);

    public static Image<Rgb24> Astronaut() => Image.Load<Rgb24>(Path("astronaut.png"));

    public static Image<Rgb24> Camera() => Image.Load<Rgb24>(Path("camera.png"));

    public static byte[] Encode(Image image, string format)
    {
        using var stream = new MemoryStream();
        switch (format)
        {
            case "jpeg":
                image.SaveAsJpeg(stream, new JpegEncoder { Quality = 92 });
                break;
            case "png":
                image.SaveAsPng(stream);
                break;
            case "webp":
                image.SaveAsWebp(stream);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(format), format, "jpeg, png or webp");
        }

        return stream.ToArray();
    }
}
