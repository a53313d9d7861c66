namespace PinGlass.Generations.Experiments;

/// <summary>A figure with its 95 % confidence interval and the number of observations behind it.</summary>
public sealed record Estimate(double? Value, double? Low, double? High, long N);

/// <summary>An arm's figure less the control's, with the difference's 95 % interval; significant when the interval excludes 0.</summary>
public sealed record Difference(double? Value, double? Low, double? High, bool Significant);

/// <summary>
/// The intervals experiment outcomes are given with, at 95 % (z = 1.96): Wilson's score interval for a rate; Newcombe's hybrid score
/// interval (his method 10, from the two Wilson intervals) for the difference of two rates; the normal interval of a mean, and Welch's
/// for the difference of two means. Pure functions, so the outcomes' decisions have fast tests of their own.
/// </summary>
public static class ExperimentStatistics
{
    public const double Z = 1.96;
    public const double Confidence = 0.95;

    public static Estimate Rate(long successes, long n)
    {
        if (n == 0)
        {
            return new(null, null, null, 0);
        }

        var p = (double)successes / n;
        var centre = (p + Z * Z / (2 * n)) / (1 + Z * Z / n);
        var half = Z * Math.Sqrt(p * (1 - p) / n + Z * Z / (4.0 * n * n)) / (1 + Z * Z / n);
        return new(p, Math.Max(0, centre - half), Math.Min(1, centre + half), n);
    }

    public static Estimate Mean(double? mean, double? standardDeviation, long n) =>
        n == 0 || mean is not { } m ? new(null, null, null, n)
        : n == 1 || standardDeviation is not { } sd ? new(m, null, null, n)
        : new(m, m - Z * sd / Math.Sqrt(n), m + Z * sd / Math.Sqrt(n), n);

    public static Difference RateDifference(Estimate arm, Estimate control)
    {
        if (arm is not { Value: { } p1, Low: { } l1, High: { } u1 } || control is not { Value: { } p2, Low: { } l2, High: { } u2 })
        {
            return new(null, null, null, false);
        }

        var d = p1 - p2;
        var low = d - Math.Sqrt((p1 - l1) * (p1 - l1) + (u2 - p2) * (u2 - p2));
        var high = d + Math.Sqrt((u1 - p1) * (u1 - p1) + (p2 - l2) * (p2 - l2));
        return new(d, low, high, low > 0 || high < 0);
    }

    public static Difference MeanDifference(Estimate arm, Estimate control)
    {
        if (arm is not { Value: { } m1, Low: { } l1 } || control is not { Value: { } m2, Low: { } l2 })
        {
            return new(null, null, null, false);
        }

        // Each interval's half-width is z·se: Welch's standard error of the difference from the two.
        var se = Math.Sqrt(Math.Pow((m1 - l1) / Z, 2) + Math.Pow((m2 - l2) / Z, 2));
        var d = m1 - m2;
        return new(d, d - Z * se, d + Z * se, se > 0 && Math.Abs(d) > Z * se);
    }
}
