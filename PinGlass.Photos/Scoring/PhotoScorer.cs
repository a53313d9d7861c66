using PinGlass.Photos.Faces;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;
using static PinGlass.Photos.Scoring.Metric;

namespace PinGlass.Photos.Scoring;

/// <summary>Per-photo measures. Face measures use the face box of the working copy; formulas are in PinGlass.Photos/README.md.</summary>
public static class PhotoScorer
{
    /// <summary>Shorter side at which resolution stops mattering: the provider crop is at most 1024 px.</summary>
    public const double FullResolutionSide = 1024;

    /// <summary>Face side over image side at which the face is large enough (about a head-and-shoulders framing).</summary>
    public const double FullFaceShare = 0.25;

    /// <summary>Variance of the Laplacian (face resampled to 128 px, luma in units of its own standard deviation) that scores 0.5.</summary>
    public const double SharpnessMidpoint = 0.1;

    /// <summary>
    /// Side the face is resampled to before the Laplacian, so the measure does not depend on the photo's size. Small, because
    /// upscaling a small face would blur it and punish the photo for its size rather than its focus.
    /// </summary>
    internal const int SharpnessSide = 128;

    public static PhotoScores Score(Image<Rgb24> working, Size upright, DetectedFace face)
    {
        var region = FaceRegion(working, face.Box);
        return new PhotoScores(Resolution(upright), FaceSize(working.Size(), face.Box), Lighting(working, region), Sharpness(working, region), Frontal(face), null);
    }

    public static Metric Resolution(Size upright)
    {
        var shorter = Math.Min(upright.Width, upright.Height);
        return new(Clamp01(shorter / FullResolutionSide), $"{upright.Width}×{upright.Height} px; shorter side {shorter} of the {FullResolutionSide} px that fill the provider crop");
    }

    public static Metric FaceSize(Size image, FaceBox box)
    {
        var share = Math.Sqrt(box.Area / ((double)image.Width * image.Height));
        return new(Clamp01(share / FullFaceShare), $"face side is {share:P0} of the image side (full marks from {FullFaceShare:P0})");
    }

    public static Metric Lighting(Image<Rgb24> working, Rectangle region)
    {
        double sum = 0, sumSquares = 0, clipped = 0;
        working.ProcessPixelRows(rows =>
        {
            for (var y = region.Top; y < region.Bottom; y++)
            {
                foreach (var p in rows.GetRowSpan(y)[region.Left..region.Right])
                {
                    var luma = Luma(p) / 255.0;
                    sum += luma;
                    sumSquares += luma * luma;
                    clipped += luma is < 0.02 or > 0.98 ? 1 : 0;
                }
            }
        });
        var n = (double)region.Width * region.Height;
        var mean = sum / n;
        var deviation = Math.Sqrt(Math.Max(0, sumSquares / n - mean * mean));
        // Exposure: best at mid-grey; contrast: flat light below 0.18 standard deviation loses modelling; clipped pixels lose detail.
        var exposure = Clamp01(1 - Math.Abs(mean - 0.5) / 0.35);
        var contrast = Clamp01(deviation / 0.18);
        var clippedShare = clipped / n;
        var value = Clamp01(exposure * (0.6 + 0.4 * contrast) * (1 - clippedShare));
        return new(value, $"face brightness {mean:F2} (ideal 0.50), contrast {deviation:F2} (full from 0.18), {clippedShare:P0} clipped");
    }

    public static Metric Sharpness(Image<Rgb24> working, Rectangle region)
    {
        using var face = working.Clone(x => x.Crop(region).Resize(SharpnessSide, SharpnessSide));
        var luma = new double[SharpnessSide * SharpnessSide];
        face.ProcessPixelRows(rows =>
        {
            for (var y = 0; y < SharpnessSide; y++)
            {
                var row = rows.GetRowSpan(y);
                for (var x = 0; x < SharpnessSide; x++)
                {
                    luma[y * SharpnessSide + x] = Luma(row[x]);
                }
            }
        });

        // In units of the face's own contrast: a dark photo has weaker edges without being out of focus.
        var lumaMean = luma.Average();
        var lumaDeviation = Math.Max(1, Math.Sqrt(luma.Sum(v => (v - lumaMean) * (v - lumaMean)) / luma.Length));
        double sum = 0, sumSquares = 0;
        var count = 0;
        for (var y = 1; y < SharpnessSide - 1; y++)
        {
            for (var x = 1; x < SharpnessSide - 1; x++)
            {
                var i = y * SharpnessSide + x;
                var laplacian = (luma[i - 1] + luma[i + 1] + luma[i - SharpnessSide] + luma[i + SharpnessSide] - 4 * luma[i]) / lumaDeviation;
                sum += laplacian;
                sumSquares += laplacian * laplacian;
                count++;
            }
        }

        var mean = sum / count;
        var variance = sumSquares / count - mean * mean;
        return new(Clamp01(variance / (variance + SharpnessMidpoint)), $"variance of the Laplacian on the face {variance:F2} (0.5 at {SharpnessMidpoint})");
    }

    /// <summary>Yaw from where the nose tip sits between the jaw ends, roll from the eye line (iBUG 68-point landmarks).</summary>
    public static Metric Frontal(DetectedFace face)
    {
        var p = face.Landmarks;
        var (leftEyeX, leftEyeY) = Mean(p, 36, 41);
        var (rightEyeX, rightEyeY) = Mean(p, 42, 47);
        var roll = Math.Atan2(rightEyeY - leftEyeY, rightEyeX - leftEyeX);
        // Measure yaw along the eye line so a tilted head is not mistaken for a turned one.
        var (cos, sin) = (Math.Cos(roll), Math.Sin(roll));
        double Along(int i) => p[i][0] * cos + p[i][1] * sin;
        var jawLeft = Along(0);
        var jawRight = Along(16);
        var position = (Along(30) - jawLeft) / (jawRight - jawLeft);
        var yaw = Clamp01(1 - Math.Abs(position - 0.5) / 0.25);
        var rollDegrees = roll * 180 / Math.PI;
        // A tilted head is mostly a matter of framing; a turned one hides half the face, so roll costs less than yaw.
        var level = Clamp01(1 - Math.Abs(rollDegrees) / 45);
        return new(yaw * level, $"nose at {position:P0} between the jaw ends (50 % is frontal), head tilted {rollDegrees:F1}°");
    }

    public static Metric Consistency(double distance, double threshold) =>
        new(Clamp01(1 - distance / threshold), $"descriptor distance {distance:F2} to the set's most typical face (another person above {threshold:F2})");

    /// <summary>The face box clipped to the image, at least 8 px a side.</summary>
    internal static Rectangle FaceRegion(Image image, FaceBox box)
    {
        var left = Math.Clamp((int)Math.Floor(box.X), 0, image.Width - 8);
        var top = Math.Clamp((int)Math.Floor(box.Y), 0, image.Height - 8);
        var right = Math.Clamp((int)Math.Ceiling(box.X + box.Width), left + 8, image.Width);
        var bottom = Math.Clamp((int)Math.Ceiling(box.Y + box.Height), top + 8, image.Height);
        return Rectangle.FromLTRB(left, top, right, bottom);
    }

    private static double Luma(Rgb24 p) => 0.299 * p.R + 0.587 * p.G + 0.114 * p.B;

    private static (double X, double Y) Mean(IReadOnlyList<float[]> points, int from, int to)
    {
        double x = 0, y = 0;
        for (var i = from; i <= to; i++)
        {
            x += points[i][0];
            y += points[i][1];
        }

        var n = to - from + 1;
        return (x / n, y / n);
    }
}
