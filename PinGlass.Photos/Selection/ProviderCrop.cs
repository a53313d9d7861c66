using Microsoft.Extensions.Options;
using PinGlass.Photos.Intake;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.Processing;

namespace PinGlass.Photos.Selection;

/// <summary>A reference as the provider receives it: a square, metadata-free JPEG.</summary>
public sealed record ProviderImage(byte[] Jpeg, int Width, int Height);

/// <summary>
/// Cuts the face the provider is to use from the full-resolution original: head and shoulders in a square, at the provider's
/// size, never upscaled, instead of a 12-megapixel photo in which the face is a corner. It goes to Replicate as a data URL, which
/// Replicate takes for a file of 256 kB or less (the OpenAPI document's guidance for <c>input</c>): a crop whose data URL
/// (<c>data:image/jpeg;base64,</c> and a third more than the file) would be longer is made smaller until it fits.
/// </summary>
public sealed class ProviderCrop(IOptions<SelectionOptions> options)
{
    /// <summary>The longest data URL sent: Replicate's figure for data URLs, held to the URL itself, not only its file.</summary>
    public const int MaxDataUrlLength = 256_000;

    /// <summary>The largest reference file: its data URL is <c>data:image/jpeg;base64,</c> (23 characters) and a third more.</summary>
    public const int MaxBytes = (MaxDataUrlLength - 23) / 4 * 3;

    /// <summary>Below this side a face crop no longer shrinks; its quality is lowered instead. Face models look at 112–336 px.</summary>
    private const int MinSide = 512;

    /// <summary>Crop side over face side: the face takes about 40 % of the crop, as in a head-and-shoulders portrait.</summary>
    public const double Framing = 2.5;

    /// <summary>The crop's centre sits this many face heights above the face's, leaving room for hair rather than chest.</summary>
    public const double Headroom = 0.1;

    public ProviderImage Create(ChosenReference reference)
    {
        using var image = PhotoIntake.DecodeUpright(reference.Photo.Source, out _);
        var box = reference.Face.Box.Scaled(1 / reference.Photo.WorkingScale);
        var side = (int)Math.Round(Math.Min(Math.Max(box.Width, box.Height) * Framing, Math.Min(image.Width, image.Height)));
        var left = (int)Math.Round(Math.Clamp(box.CenterX - side / 2.0, 0, image.Width - side));
        var top = (int)Math.Round(Math.Clamp(box.CenterY - Headroom * box.Height - side / 2.0, 0, image.Height - side));
        var target = Math.Min(side, options.Value.ProviderCropSide);
        image.Mutate(x => x.Crop(new Rectangle(left, top, side, side)).Resize(target, target));
        return Fit(image);
    }

    /// <summary>
    /// The crop as a JPEG of at most <see cref="MaxBytes"/>: at quality 92, else 85, else a sixth smaller a step down to
    /// <see cref="MinSide"/>, then at lower quality (a phone photo's noise made 1024 px crops of 335–384 kB). Nothing larger is ever
    /// returned.
    /// </summary>
    internal static ProviderImage Fit(Image image)
    {
        for (int side = image.Width, quality = 92; ; )
        {
            var jpeg = Encode(image, side, quality);
            if (jpeg.Length <= MaxBytes)
            {
                return new ProviderImage(jpeg, side, side);
            }

            if (quality > 85)
            {
                quality = 85; // first a little quality, which face models do not see
            }
            else if (side > MinSide)
            {
                side = Math.Max(MinSide, side * 5 / 6);
            }
            else if (quality > 60)
            {
                quality -= 8;
            }
            else
            {
                throw new InvalidOperationException($"A {side} px face crop is {jpeg.Length} bytes at JPEG quality {quality}, over {MaxBytes}.");
            }
        }
    }

    private static byte[] Encode(Image image, int side, int quality)
    {
        using var output = new MemoryStream();
        if (side == image.Width)
        {
            image.SaveAsJpeg(output, new JpegEncoder { Quality = quality });
        }
        else
        {
            using var smaller = image.Clone(x => x.Resize(side, side));
            smaller.SaveAsJpeg(output, new JpegEncoder { Quality = quality });
        }

        return output.ToArray();
    }
}
