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
/// size, never upscaled, instead of a 12-megapixel photo in which the face is a corner.
/// </summary>
public sealed class ProviderCrop(IOptions<SelectionOptions> options)
{
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
        using var output = new MemoryStream();
        image.SaveAsJpeg(output, new JpegEncoder { Quality = 92 });
        return new ProviderImage(output.ToArray(), target, target);
    }
}
