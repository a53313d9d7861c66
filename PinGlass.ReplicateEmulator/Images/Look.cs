using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Processing;

namespace PinGlass.ReplicateEmulator.Images;

/// <summary>
/// The look an output takes from its prompt: a few keyword families, each mapped to an image filter, so a test can
/// tell a "black and white" request from a "golden hour" one by looking at the pixels.
/// </summary>
public static class Look
{
    private static readonly (string[] Keywords, Action<IImageProcessingContext> Apply)[] Looks =
    [
        (["black and white", "black-and-white", "monochrome", "b&w", "grayscale", "greyscale", "noir"], x => x.Grayscale()),
        (["sepia", "vintage", "analog film", "old photo", "kodachrome"], x => x.Sepia()),
        (["warm", "golden hour", "sunset", "sunlit", "autumn"], x => x.Filter(Grade(1.12f, 1.0f, 0.82f))),
        (["cool", "cold", "winter", "blue hour", "moonlight", "icy"], x => x.Filter(Grade(0.85f, 0.97f, 1.15f))),
        (["painterly", "oil painting", "painting", "impressionist", "watercolor", "watercolour"], x => x.OilPaint(8, 6)),
        (["high contrast", "dramatic", "cinematic"], x => x.Contrast(1.25f)),
        (["soft", "dreamy", "bokeh"], x => x.GaussianBlur(1.2f)),
        (["vignette", "moody", "low key"], x => x.Vignette()),
    ];

    /// <summary>Applies every look whose keywords appear in the prompt, in a fixed order.</summary>
    public static IReadOnlyList<string> Apply(IImageProcessingContext context, string prompt)
    {
        var applied = new List<string>();
        foreach (var (keywords, apply) in Looks)
        {
            var hit = keywords.FirstOrDefault(k => prompt.Contains(k, StringComparison.OrdinalIgnoreCase));
            if (hit is not null)
            {
                apply(context);
                applied.Add(hit);
            }
        }

        return applied;
    }

    private static ColorMatrix Grade(float red, float green, float blue) => new()
    {
        M11 = red,
        M22 = green,
        M33 = blue,
        M44 = 1,
    };
}
