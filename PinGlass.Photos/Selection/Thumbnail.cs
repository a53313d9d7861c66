using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;

namespace PinGlass.Photos.Selection;

/// <summary>
/// A 32×32 grey thumbnail of the whole photo. Two uploads of one shot (re-encoded, resized) differ by a level or two; a crop,
/// a mirror or an exposure change differs by far more. Face descriptors alone cannot tell: a JPEG re-encode moves them 0.09.
/// </summary>
internal sealed class Thumbnail
{
    private const int Side = 32;
    private readonly byte[] pixels;

    private Thumbnail(byte[] pixels) => this.pixels = pixels;

    public static Thumbnail Of(Image<Rgb24> image)
    {
        using var small = image.CloneAs<L8>();
        small.Mutate(x => x.Resize(Side, Side));
        var pixels = new byte[Side * Side];
        small.CopyPixelDataTo(pixels);
        return new Thumbnail(pixels);
    }

    /// <summary>Mean absolute difference in grey levels (0–255).</summary>
    public double DifferenceTo(Thumbnail other)
    {
        long sum = 0;
        for (var i = 0; i < pixels.Length; i++)
        {
            sum += Math.Abs(pixels[i] - other.pixels[i]);
        }

        return (double)sum / pixels.Length;
    }
}
