using System.Globalization;

namespace PinGlass.Faces.Calibration;

/// <summary>A distribution of descriptor distances, summarised.</summary>
public sealed record DistanceSummary(int Count, double Min, double P05, double Median, double P95, double Max)
{
    public static DistanceSummary Of(IReadOnlyCollection<double> distances)
    {
        if (distances.Count == 0)
        {
            return new(0, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN);
        }

        var sorted = distances.Order().ToArray();
        return new(sorted.Length, sorted[0], Quantile(sorted, 0.05), Quantile(sorted, 0.5), Quantile(sorted, 0.95), sorted[^1]);
    }

    public override string ToString() => Count == 0
        ? "n=0"
        : string.Create(CultureInfo.InvariantCulture, $"n={Count} min {Min:F3} p5 {P05:F3} median {Median:F3} p95 {P95:F3} max {Max:F3}");

    /// <summary>Linear interpolation between the closest ranks.</summary>
    internal static double Quantile(double[] sorted, double q)
    {
        var position = q * (sorted.Length - 1);
        var low = (int)Math.Floor(position);
        var high = Math.Min(low + 1, sorted.Length - 1);
        return sorted[low] + (sorted[high] - sorted[low]) * (position - low);
    }
}

/// <summary>What a threshold does: a pair at or below it is called the same person.</summary>
public sealed record ThresholdRates(double Threshold, double FalseRejectRate, double FalseAcceptRate)
{
    public double TrueAcceptRate => 1 - FalseRejectRate;
}

/// <summary>
/// Error rates of a distance threshold over genuine pairs (same person) and impostor pairs (different people). Pure: the harness
/// and its tests share it.
/// </summary>
public static class DistanceStatistics
{
    public static ThresholdRates At(double threshold, IReadOnlyCollection<double> genuine, IReadOnlyCollection<double> impostor) =>
        new(threshold, Share(genuine, d => d > threshold), Share(impostor, d => d <= threshold));

    /// <summary>
    /// The equal error rate: over every threshold that changes a decision, the one where the false-reject and false-accept rates are
    /// closest; the rate given is their mean there. Zero when some threshold separates the two sets.
    /// </summary>
    public static ThresholdRates EqualErrorRate(IReadOnlyCollection<double> genuine, IReadOnlyCollection<double> impostor)
    {
        RequirePairs(genuine, impostor);
        var best = At(genuine.Max(), genuine, impostor);
        foreach (var candidate in Candidates(genuine, impostor))
        {
            var rates = At(candidate, genuine, impostor);
            if (Math.Abs(rates.FalseRejectRate - rates.FalseAcceptRate) < Math.Abs(best.FalseRejectRate - best.FalseAcceptRate)
                || (Math.Abs(rates.FalseRejectRate - rates.FalseAcceptRate) == Math.Abs(best.FalseRejectRate - best.FalseAcceptRate)
                    && rates.FalseRejectRate + rates.FalseAcceptRate < best.FalseRejectRate + best.FalseAcceptRate))
            {
                best = rates;
            }
        }

        var mean = (best.FalseRejectRate + best.FalseAcceptRate) / 2;
        return best with { FalseRejectRate = mean, FalseAcceptRate = mean };
    }

    /// <summary>The largest threshold whose false-accept rate is at most <paramref name="maxFalseAccept"/>, and its true-accept rate.</summary>
    public static ThresholdRates AtFalseAcceptRate(double maxFalseAccept, IReadOnlyCollection<double> genuine, IReadOnlyCollection<double> impostor)
    {
        RequirePairs(genuine, impostor);
        var best = At(0, genuine, impostor);
        foreach (var candidate in Candidates(genuine, impostor))
        {
            var rates = At(candidate, genuine, impostor);
            if (rates.FalseAcceptRate <= maxFalseAccept && candidate > best.Threshold)
            {
                best = rates;
            }
        }

        return best;
    }

    /// <summary>
    /// Midway between the farthest genuine pair and the nearest impostor pair when they do not overlap (the widest margin on both
    /// sides); otherwise the equal-error threshold.
    /// </summary>
    public static double SuggestedThreshold(IReadOnlyCollection<double> genuine, IReadOnlyCollection<double> impostor)
    {
        RequirePairs(genuine, impostor);
        var (farthestGenuine, nearestImpostor) = (genuine.Max(), impostor.Min());
        return farthestGenuine < nearestImpostor ? (farthestGenuine + nearestImpostor) / 2 : EqualErrorRate(genuine, impostor).Threshold;
    }

    // Decisions change only at observed distances.
    private static IEnumerable<double> Candidates(IReadOnlyCollection<double> genuine, IReadOnlyCollection<double> impostor) =>
        genuine.Concat(impostor).Distinct().Order();

    private static double Share(IReadOnlyCollection<double> values, Func<double, bool> predicate) =>
        values.Count == 0 ? 0 : values.Count(predicate) / (double)values.Count;

    private static void RequirePairs(IReadOnlyCollection<double> genuine, IReadOnlyCollection<double> impostor)
    {
        if (genuine.Count == 0 || impostor.Count == 0)
        {
            throw new ArgumentException("Error rates need at least one genuine and one impostor pair.");
        }
    }
}
