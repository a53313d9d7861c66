using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace PinGlass.Photos.Tests;

/// <summary>The fixture photographs (provenance in Fixtures/README.md).</summary>
internal static class Samples
{
    public static string Path(string name) => System.IO.Path.Combine(AppContext.BaseDirectory, "Fixtures", name);

    public static Image<Rgb24> Astronaut() => Image.Load<Rgb24>(Path("astronaut.png"));

    public static Image<Rgb24> Camera() => Image.Load<Rgb24>(Path("camera.png"));
}
