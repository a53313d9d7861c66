using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;

namespace PinGlass.ReplicateEmulator.Images;

/// <summary>
/// The look an output takes from its prompt: a few keyword families, each mapped to an image filter, so a test can
/// tell a "black and white" request from a "golden hour" one by looking at the pixels.
/// </summary>
public static class Look
{
    private static readonly (string[] Keywords, Action<Image<Rgb24>> Apply)[] Looks =
    [
        (["black and white", "black-and-white", "monochrome", "b&w", "grayscale", "greyscale", "noir"], i => i.Mutate(x => x.Grayscale())),
        (["sepia", "vintage", "analog film", "old photo", "kodachrome"], i => i.Mutate(x => x.Sepia())),
        (["warm", "golden hour", "sunset", "sunlit", "autumn"], i => i.Mutate(x => x.Filter(Grade(1.12f, 1.0f, 0.82f)))),
        (["cool", "cold", "winter", "blue hour", "moonlight", "icy"], i => i.Mutate(x => x.Filter(Grade(0.85f, 0.97f, 1.15f)))),
        (["painterly", "oil painting", "painting", "impressionist", "watercolor", "watercolour"], i => i.Mutate(x => x.OilPaint(10, 4))),
        (["high contrast", "dramatic", "cinematic"], i => i.Mutate(x => x.Contrast(1.25f))),
        (["soft", "dreamy", "bokeh"], i => i.Mutate(x => x.GaussianBlur(1.2f))),
        (["vignette", "moody", "low key"], Vignette),
    ];

    /// <summary>Applies every look whose keywords appear in the prompt, in a fixed order.</summary>
    public static void Apply(Image<Rgb24> image, string prompt)
    {
        foreach (var (keywords, apply) in Looks.Where(look => look.Keywords.Any(k => prompt.Contains(k, StringComparison.OrdinalIgnoreCase))))
        {
            apply(image);
        }
    }

    private static ColorMatrix Grade(float red, float green, float blue) => new()
    {
        M11 = red,
        M22 = green,
        M33 = blue,
        M44 = 1,
    };

    /// <summary>Darkens towards the corners; a direct pixel pass, ten times cheaper than ImageSharp's brush-based vignette.</summary>
    private static void Vignette(Image<Rgb24> image)
    {
        var (cx, cy) = (image.Width / 2f, image.Height / 2f);
        var maxSquared = (cx * cx) + (cy * cy);
        image.ProcessPixelRows(rows =>
        {
            for (var y = 0; y < rows.Height; y++)
            {
                var row = rows.GetRowSpan(y);
                var dy = (y - cy) * (y - cy);
                for (var x = 0; x < row.Length; x++)
                {
                    var factor = 1f - (0.6f * (((x - cx) * (x - cx)) + dy) / maxSquared);
                    ref var pixel = ref row[x];
                    pixel = new Rgb24((byte)(pixel.R * factor), (byte)(pixel.G * factor), (byte)(pixel.B * factor));
                }
            }
        });
    }
}
