using System.Globalization;
using PinGlass.Photos.Faces;

namespace PinGlass.Photos.Selection;

/// <summary>
/// The face a photo is about, as a person would pick it: the largest confident face, unless another face competes with it.
/// A detection on the same face (a detector's duplicate), a small face (a poster, a passer-by far behind) or a smaller face at the
/// edge of the frame (a reflection, someone cut off) does not compete. <see cref="Explanation"/> says what was seen.
/// </summary>
public sealed record FaceChoice(DetectedFace? Face, IReadOnlyList<DetectedFace> Confident, string Explanation)
{
    /// <summary>Share of the image's side, from each edge, that is its periphery.</summary>
    public const double PeripheryShare = 0.15;

    /// <summary>A peripheral face competes only from this share of the largest face's area up.</summary>
    public const double PeripheralCompetingShare = 0.5;

    /// <summary>A detection covering this much of the smaller box's area within the largest box is the same face.</summary>
    public const double SameFaceOverlap = 0.5;

    public bool NoFace => Confident.Count == 0;

    public bool SeveralFaces => Face is null && Confident.Count > 0;

    /// <summary><paramref name="confident"/>: the confident faces of <paramref name="analysis"/>, largest first.</summary>
    public static FaceChoice Of(FaceAnalysis analysis, IReadOnlyList<DetectedFace> confident, double dominanceRatio)
    {
        if (confident.Count == 0)
        {
            return new(null, confident, "no face was found");
        }

        var largest = confident[0];
        if (largest.Box.Area <= 0)
        {
            return new(null, confident, "no face was found (the largest detection has no area)");
        }

        var competitors = new List<DetectedFace>();
        var (duplicates, small, peripheral) = (0, 0, 0);
        foreach (var other in confident.Skip(1))
        {
            var share = other.Box.Area / largest.Box.Area;
            if (Overlap(largest.Box, other.Box) >= SameFaceOverlap)
            {
                duplicates++;
            }
            else if (share * dominanceRatio <= 1)
            {
                small++;
            }
            else if (share < PeripheralCompetingShare && IsPeripheral(other.Box, analysis.Width, analysis.Height))
            {
                peripheral++;
            }
            else
            {
                competitors.Add(other);
            }
        }

        if (competitors.Count > 0)
        {
            var next = competitors[0];
            return new(null, confident, string.Create(CultureInfo.InvariantCulture,
                $"{competitors.Count + 1} faces of similar size: the largest is only {largest.Box.Area / next.Box.Area:F1}× the area of the next (needs {dominanceRatio:0.#}×, or {1 / PeripheralCompetingShare:0.#}× when the next is at the edge of the frame)"));
        }

        var ignored = new List<string>();
        if (duplicates > 0)
        {
            ignored.Add($"{duplicates} second detection(s) of the same face");
        }

        if (small > 0)
        {
            ignored.Add($"{small} much smaller face(s)");
        }

        if (peripheral > 0)
        {
            ignored.Add($"{peripheral} smaller face(s) at the edge of the frame");
        }

        return new(largest, confident, ignored.Count == 0 ? "one face" : $"one dominant face; ignored {string.Join(", ", ignored)}");
    }

    /// <summary>Intersection over the smaller box's area.</summary>
    internal static double Overlap(FaceBox a, FaceBox b)
    {
        var width = Math.Min(a.X + a.Width, b.X + b.Width) - Math.Max(a.X, b.X);
        var height = Math.Min(a.Y + a.Height, b.Y + b.Height) - Math.Max(a.Y, b.Y);
        return width <= 0 || height <= 0 ? 0 : width * height / Math.Min(a.Area, b.Area);
    }

    /// <summary>The box's centre lies in the outer band of the image, or the box is cut by the image's edge.</summary>
    internal static bool IsPeripheral(FaceBox box, int width, int height)
    {
        var (centreX, centreY) = (box.X + box.Width / 2, box.Y + box.Height / 2);
        var cut = box.X <= 0 || box.Y <= 0 || box.X + box.Width >= width || box.Y + box.Height >= height;
        return cut
            || centreX < width * PeripheryShare || centreX > width * (1 - PeripheryShare)
            || centreY < height * PeripheryShare || centreY > height * (1 - PeripheryShare);
    }
}
